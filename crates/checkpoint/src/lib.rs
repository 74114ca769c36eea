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
//! checkpoints. When every pipeline of every worker has passed the barrier (or ended), the
//! checkpoint is complete: the coordinator writes it atomically (`store`) and then commits the
//! sinks' output of the epoch (`commit`, the second phase of the two-phase commit).
//!
//! Operators are identified by their position in the build order of each worker, which the plan
//! fixes; the plan's fingerprint and the parallelism are checked before a restore.

pub mod commit;
pub mod coordinator;
pub mod error;
pub mod lock;
pub mod store;

use darwin_columnar::codec::Encoded;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::{CheckpointError, Result};

/// How a run takes checkpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointConfig {
    /// The checkpoint directory (layout in [`store`]); created if missing.
    pub dir: PathBuf,
    /// Wall-clock time from the end of one checkpoint (or the start of the run) until the next epoch starts.
    pub interval: Duration,
    /// Complete checkpoints kept (older ones are deleted).
    pub retained: usize,
    /// Start over even if the directory holds a checkpoint.
    pub fresh: bool,
    /// Describes the plan in the manifest, so a changed query can be named on restore.
    pub plan_text: String,
    /// The directory the query's relative paths resolved against, recorded in the checkpoint
    /// directory on a first run (or with `fresh`) so later runs resolve them there too.
    #[serde(default)]
    pub workdir: Option<PathBuf>,
}

/// Output a transactional sink staged for one epoch: appending `staged` to `target` makes it
/// visible; or, for a directory sink (`dir`), renaming `staged` (a hidden file in that
/// directory) to `target`, a part file of its own. `bytes` is the staged file's length
/// (checked before committing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedFile {
    /// The sink's output file, or the part file a directory sink's staged file becomes.
    pub target: PathBuf,
    /// The staged file holding the epoch's output.
    pub staged: PathBuf,
    /// The staged file's length in bytes, checked before it is committed.
    pub bytes: u64,
    /// The directory of a directory sink (`target` lies in it or a sub-directory of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
}

impl StagedFile {
    /// The sink output this file belongs to: the output file, or a directory sink's directory.
    pub fn output(&self) -> &Path {
        self.dir.as_deref().unwrap_or(&self.target)
    }
}

/// What workers tell the coordinator.
#[derive(Debug)]
pub enum Event {
    /// An operator's state at a barrier (`epoch`) or at its end (`None`: valid for every later
    /// checkpoint), and how long the worker paused to capture it.
    State {
        /// The worker's index.
        worker: usize,
        /// The operator's id: its position in the worker's build order.
        op: usize,
        /// The epoch whose barrier the state was captured at; `None` at the operator's end.
        epoch: Option<u64>,
        /// The encoded state, possibly referring to the last complete checkpoint.
        bytes: Encoded,
        /// How long the worker paused to capture it.
        capture: Duration,
    },
    /// A pipeline passed a barrier; its sink staged `staged` for the epoch.
    Barrier {
        /// The worker's index.
        worker: usize,
        /// The pipeline's index in the plan.
        pipeline: usize,
        /// The epoch whose barrier it passed.
        epoch: u64,
        /// The sink's output of the epoch (empty on a worker that does not write the sink).
        staged: Vec<StagedFile>,
    },
    /// A pipeline ended; its sink staged `staged` after its last barrier (`epoch` is the first
    /// epoch whose checkpoint includes it).
    Done {
        /// The worker's index.
        worker: usize,
        /// The pipeline's index in the plan.
        pipeline: usize,
        /// The first epoch whose checkpoint includes the staged output.
        epoch: u64,
        /// The sink's output since its last barrier.
        staged: Vec<StagedFile>,
    },
    /// A transactional sink opened its output file.
    Output {
        /// The output file.
        target: PathBuf,
    },
}

/// Test hook for crash tests: `DARWIN_CRASH_AT=point:n` makes the process SIGKILL itself the
/// n-th time it reaches `point` (`after-state-files`, `before-rename`, `before-commit`,
/// `during-commit`). A real kill at a chosen place of the checkpoint protocol, which a random
/// kill would rarely hit.
#[expect(unsafe_code, reason = "a real SIGKILL of this process: kill(2) has no safe wrapper in std")]
pub fn crash_point(point: &str) {
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
