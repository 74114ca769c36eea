//! Checkpoints and exactly-once recovery.
//!
//! A run with a checkpoint directory is cut into epochs. The coordinator (the driver thread of
//! `build::run`) asks the sources for a new epoch; each source emits a barrier between two
//! batches; barriers flow through every operator and worker and are aligned where inputs meet
//! (two-input operators, exchanges). When an operator passes a barrier it captures its state
//! (`Operator::snapshot`) and sends it to the coordinator, and goes on processing. Capture is
//! incremental where state is large: a group table encodes only the chunks of its keys and
//! accumulators that changed or grew since its last snapshot and refers to the others in the
//! last complete checkpoint (`codec::Enc::chunked`), and its hash index is copied, not encoded
//! (`codec::Enc::later`); window and interval joins encode only the batches they buffered (or
//! trimmed) since (`codec::Enc::batches_cached`). Writing, copying the unchanged chunks from
//! the previous checkpoint's file and finishing deferred encodings happen on the coordinator's
//! thread. Every checkpoint is still complete on its own: a restore never reads two
//! checkpoints. When every
//! pipeline of every worker has passed the barrier (or ended), the checkpoint is complete: the
//! coordinator writes it atomically (`store`) and then commits the sinks' output of the epoch
//! (`commit`, the second phase of the two-phase commit).
//!
//! Operators are identified by their position in the build order of each worker, which the plan
//! fixes; the plan's fingerprint and the parallelism are checked before a restore.

pub mod codec;
pub mod commit;
pub mod coordinator;
pub mod store;

use crate::error::Result;
use crate::operator::{Msg, Operator};
use codec::{Dec, Enc, Encoded};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

/// How a run takes checkpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointConfig {
    pub dir: PathBuf,
    pub interval: Duration,
    /// Complete checkpoints kept (older ones are deleted).
    pub retained: usize,
    /// Start over even if the directory holds a checkpoint.
    pub fresh: bool,
    /// Describes the plan in the manifest, so a changed query can be named on restore.
    pub plan_text: String,
}

/// Output a transactional sink staged for one epoch: appending `staged` to `target` makes it
/// visible. `bytes` is the staged file's length (checked before committing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedFile {
    pub target: PathBuf,
    pub staged: PathBuf,
    pub bytes: u64,
}

/// What workers tell the coordinator.
#[derive(Debug)]
pub enum Event {
    /// An operator's state at a barrier (`epoch`) or at its end (`None`: valid for every later
    /// checkpoint), and how long the worker paused to capture it.
    State { worker: usize, op: usize, epoch: Option<u64>, bytes: Encoded, capture: Duration },
    /// A pipeline passed a barrier; its sink staged `staged` for the epoch.
    Barrier { worker: usize, pipeline: usize, epoch: u64, staged: Vec<StagedFile> },
    /// A pipeline ended; its sink staged `staged` after its last barrier (`epoch` is the first
    /// epoch whose checkpoint includes it).
    Done { worker: usize, pipeline: usize, epoch: u64, staged: Vec<StagedFile> },
    /// A transactional sink opened its output file.
    Output { target: PathBuf },
}

/// Wraps a stateful operator: sends its state when it passes a barrier and when it ends.
pub struct Checkpointed<O> {
    inner: O,
    worker: usize,
    op: usize,
    events: Sender<Event>,
    /// The coordinator's last complete checkpoint (0: none), which a snapshot may refer to.
    durable: Arc<AtomicU64>,
    ended: bool,
    /// Bytes the last snapshot encoded (not those it referred to).
    last_bytes: usize,
}

impl<O: Operator> Checkpointed<O> {
    pub fn new(inner: O, worker: usize, op: usize, events: Sender<Event>, durable: Arc<AtomicU64>) -> Self {
        Checkpointed { inner, worker, op, events, durable, ended: false, last_bytes: 0 }
    }

    fn send(&mut self, epoch: Option<u64>) {
        let t = std::time::Instant::now();
        // A final state is kept by the coordinator for every later checkpoint, so it must not
        // refer to one (which retention deletes).
        let durable = match (epoch, self.durable.load(Ordering::Acquire)) {
            (None, _) | (_, 0) => None,
            (_, d) => Some(d),
        };
        // Sized by the last snapshot's new bytes: a large state grows little between
        // checkpoints, and growing the buffer by doubling would copy it (and fault its pages
        // in) again.
        let mut e = Enc::for_checkpoint(epoch, durable, self.last_bytes + self.last_bytes / 4);
        self.inner.snapshot(&mut e);
        self.last_bytes = e.buf.len();
        let bytes = e.finish();
        let capture = t.elapsed();
        // The coordinator only goes away when the run is over.
        let _ = self.events.send(Event::State { worker: self.worker, op: self.op, epoch, bytes, capture });
    }
}

impl<O: Operator> Operator for Checkpointed<O> {
    fn next(&mut self) -> Result<Option<Msg>> {
        let m = self.inner.next()?;
        match &m {
            Some(Msg::Barrier(e)) => self.send(Some(*e)),
            None if !self.ended => {
                self.ended = true;
                self.send(None);
            }
            _ => {}
        }
        Ok(m)
    }

    fn snapshot(&mut self, enc: &mut Enc) {
        self.inner.snapshot(enc)
    }

    fn restore(&mut self, dec: &mut Dec) -> Result<()> {
        self.inner.restore(dec)
    }
}

/// Test hook for crash tests: `DARWIN_CRASH_AT=point:n` makes the process SIGKILL itself the
/// n-th time it reaches `point` (`after-state-files`, `before-rename`, `before-commit`,
/// `during-commit`). A real kill at a chosen place of the checkpoint protocol, which a random
/// kill would rarely hit.
pub(crate) fn crash_point(point: &str) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static TARGET: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static HITS: AtomicU64 = AtomicU64::new(0);
    let target = TARGET.get_or_init(|| {
        let v = std::env::var("DARWIN_CRASH_AT").ok()?;
        let (p, n) = v.split_once(':').unwrap_or((v.as_str(), "1"));
        Some((p.to_string(), n.parse().unwrap_or(1)))
    });
    if let Some((p, n)) = target {
        if p == point && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *n {
            // SAFETY: kill(2) on our own pid with a constant signal has no memory effects.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
        }
    }
}
