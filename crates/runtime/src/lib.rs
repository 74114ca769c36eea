//! The runtime: the operator library both executors instantiate, and the driver that runs a
//! physical plan on worker threads. Operators are pull-based: each `next()` returns a batch, a
//! watermark or an epoch barrier; a bounded source ends with a watermark at +infinity, so every
//! window closes and the run terminates.
//!
//! Below it: `darwin-columnar` (columns, batches, expressions), `darwin-state` (the structures
//! operators keep state in, and its snapshot format) and `darwin-checkpoint` (the coordinator,
//! the checkpoint store and the two-phase commit of sink output).

pub mod affinity;
pub mod checkpointed;
pub mod driver;
pub mod error;
pub mod kernels;
pub mod operator;
pub mod ops;

pub use darwin_columnar::{Batch, Buf, Column, ColumnBuilder, ColumnData, StrVec};
pub use driver::{run, run_with, Callbacks, ConnectorFactory, Observer, Progress, RunSummary, StopRequest, Stopped};
pub use error::{Result, RuntimeError};
pub use operator::{Completed, Counters, Msg, Operator, SinkContext, SinkWriter, SourceReader, SpanTeller};

/// Helpers shared by the unit tests.
#[cfg(test)]
pub(crate) mod testing {
    /// An input that plays fixed messages, then ends.
    pub struct Script(pub std::collections::VecDeque<crate::Msg>);

    impl crate::Operator for Script {
        fn next(&mut self) -> crate::Result<Option<crate::Msg>> {
            Ok(self.0.pop_front())
        }
    }
}
