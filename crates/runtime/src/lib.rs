//! The runtime: columnar batches, vectorised expressions, and the operator library that both
//! executors instantiate. Operators are pull-based: each `next()` returns a batch, a watermark
//! or an epoch barrier; a bounded source ends with a watermark at +infinity, so every window
//! closes and the run terminates.

pub mod affinity;
pub mod buf;
pub mod build;
pub mod checkpoint;
pub mod column;
pub mod error;
pub mod eval;
pub mod kernels;
pub mod keys;
pub mod memory;
pub mod operator;
pub mod ops;
pub mod scalar;
pub mod state;

pub use buf::Buf;
pub use build::{run, run_with, ConnectorFactory, RunSummary};
pub use column::{Batch, Column, ColumnBuilder, ColumnData, StrVec};
pub use error::{Result, RuntimeError};
pub use operator::{Counters, Msg, Operator, SinkContext, SinkWriter, SourceReader};

/// Helpers shared by the unit tests.
#[cfg(test)]
pub(crate) mod testing {
    /// A small deterministic xorshift generator: property tests without a dependency.
    pub fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    /// An input that plays fixed messages, then ends.
    pub struct Script(pub std::collections::VecDeque<crate::Msg>);

    impl crate::Operator for Script {
        fn next(&mut self) -> crate::Result<Option<crate::Msg>> {
            Ok(self.0.pop_front())
        }
    }
}
