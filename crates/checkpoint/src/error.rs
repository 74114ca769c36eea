//! Errors of taking, verifying and restoring checkpoints. Each names the checkpoint or file it
//! concerns and, where the user can act, what to do.

use darwin_columnar::CorruptState;

/// Errors of taking, verifying and restoring checkpoints and of committing sink output.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A file or directory operation failed (in the checkpoint directory or on a sink's output).
    #[error("I/O error on {path}: {err}")]
    Io {
        /// The file or directory.
        path: String,
        /// The operating system's error.
        err: std::io::Error,
    },
    /// A checkpoint that fails verification (checksum, length, format version, missing file).
    #[error("{path} is damaged: {detail}")]
    Damaged {
        /// The checkpoint directory.
        path: String,
        /// What failed verification.
        detail: String,
    },
    /// A state that does not decode although its checksum held.
    #[error(transparent)]
    Corrupt(#[from] CorruptState),
    /// The directory holds checkpoints, but none verifies.
    #[error("no valid checkpoint in {dir}:\n  {}\n(use --fresh to start over, discarding them)", .reasons.join("\n  "))]
    NoneValid {
        /// The checkpoint directory.
        dir: String,
        /// Why each checkpoint was rejected, newest first.
        reasons: Vec<String>,
    },
    /// The checkpoint was taken with another number of workers than this run has.
    #[error(
        "checkpoint {path} was taken with --parallelism {taken}, this run has {now}; state is partitioned by worker, \
         so run with --parallelism {taken} (or --fresh)"
    )]
    Parallelism {
        /// The checkpoint directory.
        path: String,
        /// The checkpoint's number of workers.
        taken: usize,
        /// This run's number of workers.
        now: usize,
    },
    /// The checkpoint was taken for another plan (its fingerprint differs).
    #[error(
        "the query changed since checkpoint {path} was taken (plan fingerprint {then} then, {now} now); {change}\n\
         restoring it into a different plan would give wrong results: run with --fresh to start over, or use another \
         --checkpoint-dir"
    )]
    PlanChanged {
        /// The checkpoint directory.
        path: String,
        /// The checkpoint's plan fingerprint (hex).
        then: String,
        /// This run's plan fingerprint (hex).
        now: String,
        /// Where the readable plans first differ (or that they read the same).
        change: String,
    },
    /// A state to be written refers to bytes of a previous checkpoint that are not at hand (a broken invariant of
    /// incremental checkpoints, not damage on disk).
    #[error(
        "operator {op} of worker {worker} refers to bytes {offset}..{end} of its state in checkpoint {epoch}, which is \
         not the last complete checkpoint or does not hold them"
    )]
    MissingReference {
        /// The operator's id (its position in the worker's build order).
        op: usize,
        /// The worker's index.
        worker: usize,
        /// The checkpoint referred to.
        epoch: u64,
        /// The first byte referred to, in the operator's state in that checkpoint.
        offset: u64,
        /// The byte after the last one referred to.
        end: u64,
    },
    /// A staged output file does not have the length its sink reported when staging it.
    #[error("staged output {path} has {have} bytes, expected {want}")]
    StagedLength {
        /// The staged file.
        path: String,
        /// Its length on disk, in bytes.
        have: u64,
        /// The length the sink staged, in bytes.
        want: u64,
    },
    /// A sink's output file is shorter than the output the checkpoint committed to it.
    #[error(
        "output file {path} has {have} bytes but {committed} were committed; was it changed or deleted? \
         (use --fresh to start over)"
    )]
    OutputShrunk {
        /// The output file.
        path: String,
        /// Its length on disk, in bytes.
        have: u64,
        /// The committed length, in bytes.
        committed: u64,
    },
    /// The checkpoint at the end of the run failed, so the last epoch's output stays uncommitted.
    #[error(
        "the final checkpoint could not be written ({cause}); output after the last complete checkpoint is not \
         committed; run again to resume from it"
    )]
    FinalNotWritten {
        /// Why writing it failed.
        cause: Box<CheckpointError>,
    },
    /// The states a checkpoint holds for a worker do not match that worker's stateful operators one to one.
    #[error("the checkpoint holds state for {held} operators on worker {worker}, this plan has {planned}")]
    OperatorCount {
        /// The worker's index.
        worker: usize,
        /// States the checkpoint holds for it.
        held: usize,
        /// Stateful operators this plan builds on it.
        planned: usize,
    },
    /// Another run holds the checkpoint directory.
    #[error(transparent)]
    Locked(#[from] crate::lock::LockError),
    /// A state to restore is not one contiguous range of bytes (restores read states from files, which are).
    #[error("{what} is not in one piece (a restore reads states from files)")]
    NotInOnePiece {
        /// Which state (operator and worker).
        what: String,
    },
}

/// Results of checkpointing.
pub type Result<T> = std::result::Result<T, CheckpointError>;

/// An I/O error on `path`.
pub fn io_err(path: &std::path::Path, err: std::io::Error) -> CheckpointError {
    CheckpointError::Io { path: path.display().to_string(), err }
}
