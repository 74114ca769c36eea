//! Errors of operator state: an expression that failed while state was updated, and a snapshot
//! that does not decode.

use darwin_columnar::EvalError;

/// A snapshot that cannot be decoded: what was read, at which byte, and what was wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{what} at byte {at}: {detail}")]
pub struct CorruptState {
    /// What was being decoded (e.g. the state of an operator of a worker).
    pub what: String,
    /// The byte offset in the decoded buffer where the problem was found.
    pub at: usize,
    /// What was wrong there.
    pub detail: String,
}

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
