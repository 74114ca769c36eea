//! SQL errors: each carries the line and column it points at, and renders with a caret.

use darwin_common::Location;

/// An error in a SQL script, with the position it points at when known.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum SqlError {
    /// The script does not parse (from the tokenizer, sqlparser or Darwin's own clauses).
    #[error("syntax error at {location}: {message}")]
    Syntax {
        /// What is wrong, as a sentence for the user (without sqlparser's location suffix).
        message: String,
        /// Where in the script the parser stopped.
        location: Location,
    },
    /// The statement parses but cannot be bound: an unknown name, a type mismatch, an unsupported feature.
    #[error("error at {location}: {message}")]
    Bind {
        /// What is wrong, as a sentence for the user.
        message: String,
        /// The position of the offending SQL text.
        location: Location,
    },
    /// An error with no position in the script to point at.
    #[error("{message}")]
    Unlocated {
        /// What is wrong, as a sentence for the user.
        message: String,
    },
}

/// The result type of the SQL front end.
pub type Result<T> = std::result::Result<T, SqlError>;

impl SqlError {
    /// A binding error at `location`; an unknown location (line 0) makes it `Unlocated`.
    pub fn at(location: Location, message: impl Into<String>) -> SqlError {
        if location.line == 0 {
            return SqlError::Unlocated { message: message.into() };
        }
        SqlError::Bind { message: message.into(), location }
    }

    /// Where in the script the error points; None for `Unlocated`.
    pub fn location(&self) -> Option<Location> {
        match self {
            SqlError::Syntax { location, .. } | SqlError::Bind { location, .. } => Some(*location),
            SqlError::Unlocated { .. } => None,
        }
    }

    /// The error with the offending line of `sql` and a caret under the column.
    pub fn render(&self, sql: &str) -> String {
        let mut out = self.to_string();
        if let Some(loc) = self.location() {
            if let Some(line) = sql.lines().nth(loc.line.saturating_sub(1) as usize) {
                let prefix = format!("{:>4} | ", loc.line);
                let caret_pad: String = line
                    .chars()
                    .take(loc.column.saturating_sub(1) as usize)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                out.push_str(&format!("\n{prefix}{line}\n{}{caret_pad}^", " ".repeat(prefix.len())));
            }
        }
        out
    }
}

pub(crate) fn loc(span: sqlparser::tokenizer::Span) -> Location {
    Location { line: span.start.line, column: span.start.column }
}
