//! The driver: runs a physical plan on `parallelism` worker threads, one per core. Each worker
//! builds the whole operator tree over its share of the source partitions (`build`) and pulls
//! its pipelines in turn until their sources end (`worker`); exchanges connect the workers (see
//! `ops::exchange`). The driver thread starts the workers, runs the checkpoint coordinator
//! beside them, reports progress and gathers the summary (`run`).
//!
//! The library prints nothing: progress and notices (resuming from a checkpoint, a checkpoint
//! that failed) go to the caller's [`Observer`].

mod build;
mod run;
mod worker;

use crate::error::Result;
use crate::operator::{SinkContext, SinkWriter, SourceReader};
use darwin_checkpoint::coordinator::CheckpointStats;
use darwin_plan::{SinkTarget, TableDef};
use std::time::Duration;

pub use run::{run, run_kernels, run_with};

/// Opens sources and sinks; implemented by the connectors crate. Shared by the workers.
pub trait ConnectorFactory: Sync {
    /// A reader of `table` in `partitions` partitions (a file source may choose its own count). Every worker
    /// opens one and reads the partitions `p` with `p % workers == worker` (all of them for a lookup table).
    fn open_source(&self, table: &TableDef, partitions: usize) -> Result<Box<dyn SourceReader>>;
    /// The writer of a sink on one worker; `ctx` says which worker, and where to stage output for the two-phase commit.
    fn open_sink(&self, target: &SinkTarget, ctx: &SinkContext) -> Result<Box<dyn SinkWriter>>;
}

/// What a finished run reports: records read and written, late records, state size, checkpoints and idle time.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RunSummary {
    /// (table, records read, malformed records skipped)
    pub sources: Vec<(String, u64, u64)>,
    /// (sink, rows written)
    pub sinks: Vec<(String, u64)>,
    /// Records dropped as late (behind the watermark, or without an event time), over all workers.
    pub late_records: u64,
    /// The most operator state held at once over all workers, in bytes (approximate).
    pub peak_state_bytes: u64,
    /// The number of worker threads.
    pub workers: usize,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
    /// Checkpointing figures; `None` when the run had no checkpoint directory.
    pub checkpoints: Option<CheckpointStats>,
    /// Per worker: time it had nothing to do (waiting for rows from other workers, for a
    /// source's alignment, or for the other input of a join). Busy cores are the point of
    /// parallelism; this says where they were not.
    pub worker_idle: Vec<Duration>,
    /// Set when the run was stopped by a signal instead of ending (see [`Stopped`]).
    #[serde(default)]
    pub stopped: Option<Stopped>,
}

/// A request to stop a run, from a signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopRequest {
    /// The signal's number (its exit code is 128 plus it).
    pub signo: i32,
    /// The signal's name, as the user knows it (`SIGTERM`, `SIGINT`).
    pub name: String,
}

/// How a stopped run ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stopped {
    /// The signal that stopped it, by number and name.
    pub signo: i32,
    /// The signal's name.
    pub signal: String,
    /// Without checkpoints: the sources ended where they were, every open window closed as at
    /// the end of the input, and the output (complete for what was read) was published.
    pub drained: bool,
    /// With checkpoints: the stop's final checkpoint, or None when writing it failed.
    pub final_checkpoint: Option<u64>,
    /// With checkpoints: the newest complete checkpoint, which a restart resumes from.
    pub resumes_from: Option<u64>,
}

impl RunSummary {
    /// Records read over all sources.
    pub fn records_read(&self) -> u64 {
        self.sources.iter().map(|s| s.1).sum()
    }
}

/// Progress of a running query, reported about twice a second.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Records read from all sources so far.
    pub records_read: u64,
    /// Rows handed to the sinks so far.
    pub rows_written: u64,
    /// Wall-clock time since the run started.
    pub elapsed: Duration,
}

/// What a run tells its caller while it runs. Both have defaults that ignore the report.
pub trait Observer {
    /// Progress, about twice a second.
    fn progress(&mut self, _progress: &Progress) {}
    /// Something the user should know: a restore, a checkpoint that failed and what stays valid.
    fn notice(&mut self, _message: &str) {}
    /// Whether the user asked the run to stop (a signal); polled every few milliseconds while
    /// the run goes on. The first request stops the run gracefully (see [`Stopped`]).
    fn stop_requested(&mut self) -> Option<StopRequest> {
        None
    }
}

/// Reports nothing (tests, benchmarks).
impl Observer for () {}

/// An observer made of callbacks.
pub struct Callbacks<'a> {
    /// Called with each progress report.
    pub progress: &'a mut dyn FnMut(&Progress),
    /// Called with each notice for the user.
    pub notice: &'a mut dyn FnMut(&str),
    /// Polled for a request to stop.
    pub stop: &'a mut dyn FnMut() -> Option<StopRequest>,
}

impl Observer for Callbacks<'_> {
    fn progress(&mut self, p: &Progress) {
        (self.progress)(p)
    }
    fn notice(&mut self, message: &str) {
        (self.notice)(message)
    }
    fn stop_requested(&mut self) -> Option<StopRequest> {
        (self.stop)()
    }
}
