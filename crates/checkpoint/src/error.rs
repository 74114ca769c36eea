//! Errors of taking, verifying and restoring checkpoints. Each names the checkpoint or file it
//! concerns and, where the user can act, what to do.

use darwin_state::CorruptState;

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("I/O error on {path}: {err}")]
    Io { path: String, err: std::io::Error },
    /// A checkpoint that fails verification (checksum, length, format version, missing file).
    #[error("{path} is damaged: {detail}")]
    Damaged { path: String, detail: String },
    /// A state that does not decode although its checksum held.
    #[error(transparent)]
    Corrupt(#[from] CorruptState),
    #[error("no valid checkpoint in {dir}:\n  {}\n(use --fresh to start over, discarding them)", .reasons.join("\n  "))]
    NoneValid { dir: String, reasons: Vec<String> },
    #[error(
        "checkpoint {path} was taken with --parallelism {taken}, this run has {now}; state is partitioned by worker, \
         so run with --parallelism {taken} (or --fresh)"
    )]
    Parallelism { path: String, taken: usize, now: usize },
    #[error(
        "the query changed since checkpoint {path} was taken (plan fingerprint {then} then, {now} now); {change}\n\
         restoring it into a different plan would give wrong results: run with --fresh to start over, or use another \
         --checkpoint-dir"
    )]
    PlanChanged { path: String, then: String, now: String, change: String },
    #[error(
        "operator {op} of worker {worker} refers to bytes {offset}..{end} of its state in checkpoint {epoch}, which is \
         not the last complete checkpoint or does not hold them"
    )]
    MissingReference { op: usize, worker: usize, epoch: u64, offset: u64, end: u64 },
    #[error("staged output {path} has {have} bytes, expected {want}")]
    StagedLength { path: String, have: u64, want: u64 },
    #[error(
        "output file {path} has {have} bytes but {committed} were committed; was it changed or deleted? \
         (use --fresh to start over)"
    )]
    OutputShrunk { path: String, have: u64, committed: u64 },
    #[error(
        "the final checkpoint could not be written ({cause}); output after the last complete checkpoint is not \
         committed; run again to resume from it"
    )]
    FinalNotWritten { cause: Box<CheckpointError> },
    #[error("the checkpoint holds state for {held} operators on worker {worker}, this plan has {planned}")]
    OperatorCount { worker: usize, held: usize, planned: usize },
    #[error("{what} is not in one piece (a restore reads states from files)")]
    NotInOnePiece { what: String },
}

/// Results of checkpointing.
pub type Result<T> = std::result::Result<T, CheckpointError>;

/// An I/O error on `path`.
pub fn io_err(path: &std::path::Path, err: std::io::Error) -> CheckpointError {
    CheckpointError::Io { path: path.display().to_string(), err }
}
