//! Darwin's columns and Arrow arrays, both ways: what the Parquet and Arrow IPC files and the
//! Arrow TCP source read becomes Darwin columns with one copy per buffer (no per-row work for
//! numbers and plain strings), and what the sinks write becomes Arrow arrays the same way.

mod from_columns;
mod to_columns;

pub use from_columns::{arrow_schema, record_batch};
pub use to_columns::{column_of, fits, ConvertError};
