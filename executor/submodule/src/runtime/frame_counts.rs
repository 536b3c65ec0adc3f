//! What the compiled tier did on this thread, counted so tests (and the fuzz target) can check
//! it did what it claims: frames run compiled or not, host crossings, instances and Stores made.

use std::cell::Cell;

thread_local! {
    static FRAMES: Cell<FrameCounts> = const {
        Cell::new(FrameCounts {
            compiled: 0,
            handed_over: 0,
            interpreted: 0,
            host_ops: 0,
            instantiated: 0,
            stores: 0,
        })
    };
}

/// How the frames of the compiled tier ran on this thread: compiled, or interpreted because
/// their code could not be compiled or instantiated. Tests check the tier did what it claims.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameCounts {
    /// Frames (entries and resumes) run by compiled code.
    pub compiled: u64,
    /// Of the compiled runs, those compiled code handed to the interpreter at a failing check
    /// ([`Exit::Interpret`](crate::abi::Exit::Interpret)).
    pub handed_over: u64,
    /// Frames of the compiled tier that ran interpreted: the code could not be compiled,
    /// instantiated, or resumed at its pc.
    pub interpreted: u64,
    /// Opcodes compiled code ran through the host (revm's own instructions): what the tests
    /// check compiled code does itself, such as SLOADs the storage cache answers, never reaches.
    pub host_ops: u64,
    /// Instances created: a dispatch of code the thread's Store already instantiated reuses
    /// that instance, memory and all.
    pub instantiated: u64,
    /// Stores created: one more each time the thread replaces its Store (and with it every
    /// instance and the memory they hold), which bounds what a thread keeps.
    pub stores: u64,
}

/// This thread's [`FrameCounts`] so far.
pub fn frame_counts() -> FrameCounts {
    FRAMES.get()
}

/// Updates this thread's [`FrameCounts`].
pub(super) fn count(update: impl FnOnce(&mut FrameCounts)) {
    let mut counts = FRAMES.get();
    update(&mut counts);
    FRAMES.set(counts);
}
