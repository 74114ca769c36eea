//! Operator state: the structures stateful operators keep their state in, and its snapshot
//! encoding for checkpoints.
//!
//! - `group_table`: groups of an aggregation scope (a window, or the whole input), found by an
//!   integer index (`int_index`), a hash index over the key columns (`hashed_keys`) or as the
//!   single group of a keyless aggregate, with one columnar accumulator per aggregate (`agg`);
//! - `join_store`: the buffered rows of one side of a join, found by key;
//! - the snapshot encoding is `darwin_columnar::codec` (re-exported as `codec`): executor
//!   independent (DESIGN.md) and incremental where state is large (chunks unchanged since the
//!   last checkpoint are referred to, not encoded); it lives below this crate so the checkpoint
//!   store, which only moves encoded bytes, does not depend on the state structures.
//!
//! Design: state is columnar and updated a batch at a time (group indices over columns, no
//! per-row objects), and its encoding describes logical state, never memory layouts, so a
//! checkpoint restores into either executor. Every structure offers what the [`State`] trait
//! names: its size for the memory budget, a snapshot and a restore. This is the seam where a
//! spilling backend will keep cold state on disk behind the same interface.

pub mod agg;
pub mod error;
pub mod group_table;
pub mod hashed_keys;
pub mod int_index;
pub mod join_store;

pub use darwin_columnar::codec;
pub use error::{CorruptState, RestoreResult, Result, StateError};

/// What every piece of operator state offers checkpoints and the memory budget.
pub trait State {
    /// Approximate bytes held in memory.
    fn memory_bytes(&self) -> usize;
    /// Encodes the state as it is now (at an epoch boundary), for a checkpoint.
    fn snapshot(&mut self, enc: &mut codec::Enc);
    /// Restores what `snapshot` wrote into empty state built for the same plan node.
    fn restore(&mut self, dec: &mut codec::Dec) -> RestoreResult<()>;
}
