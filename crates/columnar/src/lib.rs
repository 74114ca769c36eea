//! Columns and batches, and the vectorised work on them that operators and state share: typed
//! columns with shared buffers (`buf`, `column`), expressions evaluated a batch at a time
//! (`eval`, with the per-value semantics in `scalar`), keys encoded, compared and hashed
//! (`keys`, `row_hash`), large allocations on huge pages (`memory`), and the binary encoding of
//! columns and state that checkpoints hold (`codec`).
//!
//! Everything above this crate (state, checkpoints, operators, generated code) works on these
//! types, so this is where a value's representation and an expression's semantics are defined
//! once for both executors.

pub mod buf;
pub mod codec;
pub mod column;
pub mod error;
pub mod eval;
pub mod in_set;
pub mod keys;
pub mod memory;
pub mod row_hash;
pub mod scalar;

pub use buf::Buf;
pub use column::{Batch, Column, ColumnBuilder, ColumnData, StrVec};
pub use error::{CorruptState, EvalError, Result};
