//! Errors of evaluating expressions over values: each names what failed and on which value.

use darwin_common::DataType;

/// An expression failed on a value. The message says which operation and which value; the
/// runtime adds where (the operator, the source).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("division by zero in '{op}'")]
    DivisionByZero { op: String },
    /// A value that has no representation in the target type (`CAST('x' AS INT)`).
    #[error("cannot cast '{value}' to {to}")]
    InvalidCast { value: String, to: DataType },
    /// A value too large for the target type.
    #[error("value {value} does not fit {to}")]
    OutOfRange { value: String, to: DataType },
    #[error("invalid regular expression '{pattern}': {message}")]
    InvalidRegex { pattern: String, message: String },
    /// A function argument outside the function's domain.
    #[error("{function} {message}")]
    InvalidArgument { function: &'static str, message: String },
}

/// Results of evaluation.
pub type Result<T> = std::result::Result<T, EvalError>;
