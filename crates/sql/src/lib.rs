//! The SQL front end: parses a script of Flink-style streaming SQL (with sqlparser, plus the
//! Flink-only clauses) and binds it to logical plans: names, types, windows and watermarks.

pub mod bind;
pub mod error;
pub mod parse;

pub use bind::{Binder, BoundScript};
pub use error::{Result, SqlError};
