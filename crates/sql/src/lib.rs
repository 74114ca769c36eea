//! The SQL front end: parses a script of Flink-style streaming SQL (with sqlparser, plus the
//! Flink-only clauses) and binds it to logical plans: names, types, windows and watermarks.

// A panic here is a crash on user input: every `expect` states the invariant that rules it out.
#![warn(clippy::expect_used, clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::expect_used, clippy::unwrap_used))]

pub mod bind;
pub mod error;
pub mod parse;

pub use bind::{Binder, BoundScript};
pub use error::{Result, SqlError};
