//! Receipts whose logs bloom was computed by the thread that ran the transaction.
//!
//! alloy-evm builds each receipt when a transaction commits, hashing every log address and
//! topic into the bloom there. Commits are serial in BAL-parallel execution, so a block with
//! thousands of logs (an airdrop, a batch of swaps) would hash them all on the one committing
//! thread; the runners hash them in parallel instead and hand the bloom over with the run.

use std::cell::Cell;

use alloy_consensus::{
    Eip658Value, Receipt, ReceiptEnvelope, ReceiptWithBloom, TxEnvelope, TxType,
};
use alloy_evm::{
    Evm,
    eth::receipt_builder::{AlloyReceiptBuilder, ReceiptBuilder, ReceiptBuilderCtx},
};
use alloy_primitives::Bloom;

/// alloy's receipt builder, using a bloom supplied ahead for the next receipt if there is one.
#[derive(Debug, Default)]
pub(crate) struct BloomedReceipts {
    ahead: Cell<Option<Bloom>>,
}

impl BloomedReceipts {
    /// The bloom of the next receipt built, already computed from its logs.
    pub(crate) fn supply(&self, bloom: Bloom) {
        self.ahead.set(Some(bloom));
    }
}

impl ReceiptBuilder for BloomedReceipts {
    type Transaction = TxEnvelope;
    type Receipt = ReceiptEnvelope;

    fn build_receipt<E: Evm>(&self, ctx: ReceiptBuilderCtx<'_, TxType, E>) -> ReceiptEnvelope {
        let Some(logs_bloom) = self.ahead.take() else {
            return AlloyReceiptBuilder::default().build_receipt(ctx);
        };
        let receipt = Receipt {
            status: Eip658Value::Eip658(ctx.result.is_success()),
            cumulative_gas_used: ctx.cumulative_gas_used,
            logs: ctx.result.into_logs(),
        };
        ReceiptEnvelope::from_typed(ctx.tx_type, ReceiptWithBloom::new(receipt, logs_bloom))
    }
}
