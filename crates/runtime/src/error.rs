//! Errors raised while a query runs. Lower layers have their own typed errors (evaluation,
//! state, checkpoints); this one wraps them and adds what only a run knows: connectors, workers
//! and the plan as the runtime received it.

use darwin_checkpoint::CheckpointError;
use darwin_columnar::CorruptState;
use darwin_columnar::EvalError;
use darwin_state::StateError;

/// Errors of running a query, on any worker or the driver.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// An expression failed on a value (division by zero, a failed CAST).
    #[error("evaluation error: {0}")]
    Eval(#[from] EvalError),
    /// An expression failed on a row the operator could name: the row's values by column.
    #[error("evaluation error: {error}, on the row {row}")]
    EvalOnRow {
        /// What failed, and where in the script (`EvalError::In`).
        error: EvalError,
        /// The row it failed on, as `(name = value, ...)`.
        row: String,
    },
    /// A query's error, with the query it happened in: its sink and the tables it reads, and
    /// where the row was read when that is known.
    #[error("{error}\n  in the query writing to {sink}, which reads {sources}{}",
        .read.as_ref().map_or(String::new(), |r| format!("\n  the row is in the batch read from {r}")))]
    InQuery {
        /// The sink (table name, or `stdout` for a SELECT).
        sink: String,
        /// The tables the query reads, comma-separated.
        sources: String,
        /// The source batch the failing row came from (`LastRead::told`): known for a query
        /// that computes on one source's rows as they are read (no join, aggregate or exchange).
        read: Option<String>,
        /// What failed.
        error: Box<RuntimeError>,
    },
    /// A record could not be decoded; names the source, position and column.
    #[error("malformed record in {source_name} at {position}, column '{column}': {message}")]
    Malformed {
        /// The table and the file or partition read.
        source_name: String,
        /// Where in the source (e.g. `line 12`).
        position: String,
        /// The column whose value could not be decoded.
        column: String,
        /// What is wrong with the value.
        message: String,
    },
    /// Reading or writing a file (or stdout) failed.
    #[error("I/O error on {path}: {err}")]
    Io {
        /// The file or directory (`stdout` for the print sink).
        path: String,
        /// The operating system's error.
        err: std::io::Error,
    },
    /// A checkpoint could not be written, read or restored.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// A connector cannot serve a table as configured (an unknown connector, a bad option).
    #[error("{connector}: {message}")]
    Connector {
        /// The connector's name (`filesystem`, `nexmark`, ...).
        connector: String,
        /// What is wrong, as a sentence for the user.
        message: String,
    },
    /// A physical plan this runtime cannot run as given (a planner's mistake, not the query's).
    #[error("plan: {operator}: {detail}")]
    Plan {
        /// The operator that cannot run the plan node.
        operator: &'static str,
        /// What about the node it cannot run.
        detail: String,
    },
    /// A compiled query's binary lacks a kernel the plan asks for (built for another plan).
    #[error(
        "the compiled query has no kernel for one of the plan's {what} nodes (the binary was built for another plan); \
         run with --mode interpreted or clear the compile cache"
    )]
    MissingKernel {
        /// The kind of plan node (`filter/projection`, `window aggregate`).
        what: &'static str,
    },
    /// This worker stopped because another one failed (that one's error is the run's).
    #[error("stopped because another worker failed")]
    Aborted,
    /// A worker thread panicked: a bug in Darwin, not in the query.
    #[error("worker {worker} panicked: {message} (a bug in Darwin; please report it with the query)")]
    WorkerPanicked {
        /// The worker's index.
        worker: usize,
        /// The panic's message.
        message: String,
    },
}

impl From<StateError> for RuntimeError {
    fn from(e: StateError) -> Self {
        match e {
            StateError::Eval(e) => RuntimeError::Eval(e),
            StateError::Corrupt(c) => c.into(),
        }
    }
}

impl From<CorruptState> for RuntimeError {
    fn from(c: CorruptState) -> Self {
        RuntimeError::Checkpoint(CheckpointError::Corrupt(c))
    }
}

/// Results of running a query.
pub type Result<T> = std::result::Result<T, RuntimeError>;
