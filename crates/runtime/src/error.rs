//! Errors raised while a query runs.

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// An expression failed on a value (division by zero, a failed CAST).
    #[error("evaluation error: {message}")]
    Eval { message: String },
    /// A record could not be decoded; names the source, position and column.
    #[error("malformed record in {source_name} at {position}, column '{column}': {message}")]
    Malformed { source_name: String, position: String, column: String, message: String },
    #[error("I/O error on {path}: {err}")]
    Io { path: String, err: std::io::Error },
    /// A checkpoint could not be written, read or restored.
    #[error("checkpoint: {message}")]
    Checkpoint { message: String },
    #[error("{connector}: {message}")]
    Connector { connector: String, message: String },
    /// A physical plan this runtime cannot run as given (a planner's mistake, not the query's).
    #[error("plan: {message}")]
    Plan { message: String },
}

pub type Result<T> = std::result::Result<T, RuntimeError>;

pub fn eval_err(message: impl Into<String>) -> RuntimeError {
    RuntimeError::Eval { message: message.into() }
}
