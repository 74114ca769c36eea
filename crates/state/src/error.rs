//! Errors of operator state: an expression that failed while state was updated, and a snapshot
//! that does not decode.

pub use darwin_columnar::CorruptState;
use darwin_columnar::EvalError;

/// Errors of updating or restoring operator state.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StateError {
    /// An aggregate's argument or a key failed to evaluate.
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// A restore read a snapshot that does not decode (a damaged or foreign checkpoint).
    #[error(transparent)]
    Corrupt(#[from] CorruptState),
}

/// Results of updating state.
pub type Result<T> = std::result::Result<T, StateError>;

/// Results of restoring state from a snapshot.
pub type RestoreResult<T> = std::result::Result<T, CorruptState>;
