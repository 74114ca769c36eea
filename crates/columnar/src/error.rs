//! Errors of evaluating expressions over values (each names what failed and on which value), and
//! of decoding a snapshot.

use darwin_common::DataType;

/// An expression failed on a value. The message says which operation and which value; the
/// runtime adds where (the operator, the source).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// An integer division or `MOD` by zero.
    #[error("division by zero in '{op}'")]
    DivisionByZero {
        /// The operator: `/` or `MOD`.
        op: String,
    },
    /// A value that has no representation in the target type (`CAST('x' AS INT)`).
    #[error("cannot cast '{value}' to {to}")]
    InvalidCast {
        /// The value, in its text form.
        value: String,
        /// The type it was cast to.
        to: DataType,
    },
    /// Integer or decimal arithmetic, or an aggregate, whose exact result does not fit its type
    /// (`what`: the operation and its operands, `9223372036854775807 + 1`, or `SUM`).
    #[error("overflow: {what} does not fit {to}")]
    Overflow {
        /// The operation that overflowed, with its operands where known.
        what: String,
        /// The type its result has.
        to: DataType,
    },
    /// A value too large for the target type.
    #[error("value {value} does not fit {to}")]
    OutOfRange {
        /// The value, in its text form.
        value: String,
        /// The type it did not fit.
        to: DataType,
    },
    /// A pattern that does not compile as a regular expression.
    #[error("invalid regular expression '{pattern}': {message}")]
    InvalidRegex {
        /// The pattern as given.
        pattern: String,
        /// The regex compiler's explanation.
        message: String,
    },
    /// An error inside an expression the script wrote (the innermost one that holds it): the
    /// expression's SQL text and where it stands in the script.
    #[error("{error} in {at}")]
    In {
        /// Where the failing expression was written.
        at: darwin_plan::Origin,
        /// What failed.
        error: Box<EvalError>,
    },
    /// A function argument outside the function's domain.
    #[error("{function} {message}")]
    InvalidArgument {
        /// The function's SQL name.
        function: &'static str,
        /// What is wrong with the argument, phrased to follow the function's name.
        message: String,
    },
}

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

impl EvalError {
    /// The error without where it happened (`In`'s inner error).
    pub fn root(&self) -> &EvalError {
        match self {
            EvalError::In { error, .. } => error.root(),
            other => other,
        }
    }
}

/// Results of evaluation.
pub type Result<T> = std::result::Result<T, EvalError>;
