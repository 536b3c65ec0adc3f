//! EIP-7928 Block Access Lists, on top of `alloy-eip7928`.
//!
//! In the data flow a block's BAL arrives with the block and feeds two consumers: the executor
//! (which transactions may run in parallel) and the commitment calculator (the post-state
//! before execution ends). Decoding, validation, the indexed view and the diff live here.
