//! Where execution reads state from. Any revm [`DatabaseRef`] will do, so a node executes over
//! its own store: the in-memory [`crate::world::StateView`], a database snapshot, or an overlay
//! of unpersisted blocks on either.

use std::fmt::Debug;

use revm::database_interface::DatabaseRef;

/// A revm [`DatabaseRef`] a block can execute against: shared by the threads of a parallel
/// block (`Sync`), with errors that can travel to the stage loop.
pub trait StateProvider:
    DatabaseRef<Error: std::error::Error + Send + Sync + 'static> + Debug + Sync
{
}

impl<T> StateProvider for T where
    T: DatabaseRef<Error: std::error::Error + Send + Sync + 'static> + Debug + Sync
{
}
