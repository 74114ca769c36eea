//! SQL errors: each carries the line and column it points at, and renders with a caret.

use darwin_common::Location;

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum SqlError {
    #[error("syntax error at {location}: {message}")]
    Syntax { message: String, location: Location },
    #[error("error at {location}: {message}")]
    Bind { message: String, location: Location },
    #[error("{message}")]
    Unlocated { message: String },
}

pub type Result<T> = std::result::Result<T, SqlError>;

impl SqlError {
    pub fn at(location: Location, message: impl Into<String>) -> SqlError {
        if location.line == 0 {
            return SqlError::Unlocated { message: message.into() };
        }
        SqlError::Bind { message: message.into(), location }
    }

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
