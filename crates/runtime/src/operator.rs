//! The operator interface, the source and sink interfaces connectors implement, and run counters.

use crate::error::Result;
use darwin_columnar::codec::{Dec, Enc};
use darwin_columnar::column::Batch;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What flows between operators.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// Rows, in the operator's output schema.
    Batch(Batch),
    /// No later record has an event time at or below this (milliseconds).
    Watermark(i64),
    /// Separates epochs; checkpoints and clean shutdowns happen at barriers.
    Barrier(u64),
    /// Nothing is available now, but the input has not ended: rows are on their way from other
    /// workers. Operators pass it up (a two-input operator tries its other input first) so a
    /// worker never blocks inside an operator tree, which could deadlock workers waiting on
    /// each other's exchanges.
    Idle,
}

thread_local! {
    static WORKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// What an operator returns after taking in a batch that produced no output yet (a window
/// aggregate before its window closes, a filter that dropped every row). Returning instead of
/// looping keeps one operator from reading a whole input in a single call, which would starve
/// the worker's other pipelines and hold up their epoch barriers. The driver learns that work
/// was done (`take_worked`), so it does not back off as it would when truly idle.
pub fn absorbed() -> Option<Msg> {
    note_work();
    Some(Msg::Idle)
}

/// Tells the driver that this round did work although nothing came out of the tree (an
/// exchange that sent a batch to another worker).
pub fn note_work() {
    WORKED.with(|w| w.set(true));
}

/// Whether an operator on this thread absorbed input since the last call.
pub fn take_worked() -> bool {
    WORKED.with(|w| w.replace(false))
}

/// A pull-based operator. `Ok(None)` means the input is exhausted.
pub trait Operator {
    /// The next message, or `Ok(None)` once the operator has ended. Answers [`Msg::Idle`] rather than
    /// blocking when nothing is available yet.
    fn next(&mut self) -> Result<Option<Msg>>;
    /// Encodes the operator's own state (not its inputs'). Called when the operator has just
    /// returned a barrier or has ended, so the state is exactly that of the epoch boundary.
    /// Stateless operators write nothing.
    fn snapshot(&mut self, _enc: &mut Enc) {}
    /// Restores what `snapshot` wrote, before the first `next`.
    fn restore(&mut self, _dec: &mut Dec) -> Result<()> {
        Ok(())
    }
}

/// A partitioned, replayable source. Each partition is read independently and carries its own
/// watermark.
pub trait SourceReader {
    /// The number of partitions, numbered `0..partitions()`.
    fn partitions(&self) -> usize;
    /// The next batch of a partition, at most `max_rows` rows; None once it is exhausted.
    fn next_batch(&mut self, partition: usize, max_rows: usize) -> Result<Option<Batch>>;
    /// The replay position of a partition: the position of the next record it will return
    /// (a byte offset for files, a sequence number for generators).
    fn offset(&self, partition: usize) -> u64;
    /// Moves a partition to a position returned by `offset`, so reading replays from there.
    fn seek(&mut self, partition: usize, offset: u64) -> Result<()>;
    /// A checksum of what the partition consumed up to `offset` (a file's bytes); a restore
    /// compares it after `seek`, so input that changed since the checkpoint is refused. 0 for
    /// sources that replay the same records by construction (generators).
    fn check(&self, _partition: usize) -> u64 {
        0
    }
    /// The partition as an error message names it (a file's path).
    fn describe(&self, partition: usize) -> String {
        format!("partition {partition}")
    }
    /// Where a partition is, as an error tells it (see `span_teller`): the offset by default.
    fn position(&self, partition: usize) -> u64 {
        self.offset(partition)
    }
    /// How an error tells the records between two positions of a partition, as a user finds
    /// them (a file's lines); None: as the partition's `describe` and the two offsets.
    fn span_teller(&self) -> Option<SpanTeller> {
        None
    }
    /// Records skipped as malformed (only with the ignore-parse-errors option).
    fn skipped(&self) -> u64 {
        0
    }
}

/// Where a sink runs. With `staging`, a transactional sink writes each epoch's output to staged
/// files in that directory (named by epoch, from `first_epoch` on) for the two-phase commit,
/// and leaves its output file to the checkpoint coordinator.
#[derive(Debug, Clone, Default)]
pub struct SinkContext {
    /// The worker the sink runs on.
    pub worker: usize,
    /// The directory to stage each epoch's output in; `None` without checkpoints (output goes straight to the target).
    pub staging: Option<std::path::PathBuf>,
    /// The epoch of the first output staged (the coordinator's `first_epoch`; 0 without checkpoints).
    pub first_epoch: u64,
}

/// A sink's writer on one worker, implemented by the connectors: takes a pipeline's output batches.
pub trait SinkWriter {
    /// Writes a batch's rows (a transactional sink: into the current epoch's staged output).
    fn write(&mut self, batch: &Batch) -> Result<()>;
    /// Flushes the output once the pipeline has ended; a last `precommit` follows.
    fn finish(&mut self) -> Result<()>;
    /// Ends the output of the current epoch (first phase of the two-phase commit): a
    /// transactional sink makes what it staged durable and returns it, to be made visible when
    /// the epoch's checkpoint is complete. Other sinks (print: at-least-once) stage nothing.
    fn precommit(&mut self) -> Result<Vec<darwin_checkpoint::StagedFile>> {
        Ok(Vec::new())
    }
    /// The output file a transactional sink commits to.
    fn output_file(&self) -> Option<std::path::PathBuf> {
        None
    }
    /// After `finish`, without checkpoints: the files this sink wrote the whole output to, each
    /// to be renamed over its target once every sink of the run has finished (all or nothing).
    /// The sink no longer deletes them when dropped.
    fn completed(&mut self) -> Vec<Completed> {
        Vec::new()
    }
}

/// A sink's finished output, written beside its target and not yet visible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    /// The file holding the output.
    pub written: std::path::PathBuf,
    /// Where it becomes visible.
    pub target: std::path::PathBuf,
}

/// Counters of one run, shared by its operators.
#[derive(Debug, Default)]
pub struct Counters {
    /// Records dropped because their window had already fired (behind the watermark).
    pub late: AtomicU64,
    /// Approximate bytes of operator state right now and at the peak.
    pub state_bytes: AtomicU64,
    /// The largest `state_bytes` seen so far.
    pub peak_state_bytes: AtomicU64,
}

impl Counters {
    /// Counts `n` late records.
    pub fn add_late(&self, n: u64) {
        if n > 0 {
            self.late.fetch_add(n, Ordering::Relaxed);
        }
    }
    /// The late records counted so far.
    pub fn late(&self) -> u64 {
        self.late.load(Ordering::Relaxed)
    }
    /// Records a change in state size (the memory accounting hook of DESIGN.md).
    pub fn state_delta(&self, delta: i64) {
        let now = if delta >= 0 {
            self.state_bytes.fetch_add(delta as u64, Ordering::Relaxed) + delta as u64
        } else {
            self.state_bytes.fetch_sub((-delta) as u64, Ordering::Relaxed).saturating_sub((-delta) as u64)
        };
        self.peak_state_bytes.fetch_max(now, Ordering::Relaxed);
    }
}

/// Per-source counters.
#[derive(Debug, Default)]
pub struct SourceCounters {
    /// The source table's name.
    pub name: String,
    /// Records this source instance has emitted so far.
    pub read: AtomicU64,
    /// Malformed records skipped so far (only with the ignore-parse-errors option).
    pub skipped: AtomicU64,
    /// Where the batch emitted last came from, for an error on one of its rows.
    pub last: LastRead,
}

/// Where a source instance's last batch came from: its partition and the reader's positions
/// before and after it. Three relaxed stores per batch; read only to tell an error.
#[derive(Default)]
pub struct LastRead {
    /// The partition plus one (0: nothing read yet).
    partition: AtomicU64,
    from: AtomicU64,
    to: AtomicU64,
    /// Each partition as errors name it, and the reader's way to tell a span of it.
    places: std::sync::OnceLock<(Vec<String>, Option<SpanTeller>)>,
}

/// Tells the records of `partition` between two positions: `table 'd' (/data/d.csv), lines 4097
/// to 8192`. Runs on the error path only (it may read the file to count lines).
pub type SpanTeller = Arc<dyn Fn(usize, u64, u64) -> String + Send + Sync>;

impl std::fmt::Debug for LastRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LastRead")
            .field("partition", &self.partition)
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

impl LastRead {
    /// Names the partitions of `reader`, once.
    pub fn describe(&self, reader: &dyn SourceReader) {
        let names = (0..reader.partitions()).map(|p| reader.describe(p)).collect();
        let _ = self.places.set((names, reader.span_teller()));
    }

    /// Notes the batch just read from `partition`, between positions `from` and `to`.
    pub fn record(&self, partition: usize, from: u64, to: u64) {
        self.from.store(from, Ordering::Relaxed);
        self.to.store(to, Ordering::Relaxed);
        self.partition.store(partition as u64 + 1, Ordering::Relaxed);
    }

    /// The last batch as a user finds it: `table 'bid' (bids.csv), lines 4097 to 8192`.
    pub fn told(&self, table: &str) -> Option<String> {
        let p = self.partition.load(Ordering::Relaxed).checked_sub(1)? as usize;
        let (names, teller) = self.places.get()?;
        let (from, to) = (self.from.load(Ordering::Relaxed), self.to.load(Ordering::Relaxed));
        if let Some(tell) = teller {
            return Some(tell(p, from, to));
        }
        let name = names.get(p)?;
        let place = if name.starts_with("table ") { name.clone() } else { format!("table '{table}', {name}") };
        Some(format!("{place}, offsets {from} to {to}"))
    }
}
