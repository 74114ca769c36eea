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

    /// The error with the offending line of `sql` and a caret under the column. A long line
    /// (generated SQL often is one) shows only the stretch around the column, marked with `...`.
    pub fn render(&self, sql: &str) -> String {
        let mut out = self.to_string();
        if let Some(loc) = self.location() {
            if let Some(line) = sql.lines().nth(loc.line.saturating_sub(1) as usize) {
                let (shown, caret_at) = excerpt(line, loc.column.saturating_sub(1) as usize);
                let prefix = format!("{:>4} | ", loc.line);
                let caret_pad: String =
                    shown.chars().take(caret_at).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
                out.push_str(&format!("\n{prefix}{shown}\n{}{caret_pad}^", " ".repeat(prefix.len())));
            }
        }
        out
    }
}

/// How many characters of a line an error shows at most, around its column.
const EXCERPT_CHARS: usize = 120;

/// The part of `line` to show for a caret at character `column` (0-based), and the caret's
/// character position within it.
fn excerpt(line: &str, column: usize) -> (String, usize) {
    let len = line.chars().count();
    if len <= EXCERPT_CHARS {
        return (line.to_string(), column);
    }
    let start = column.saturating_sub(EXCERPT_CHARS / 2).min(len.saturating_sub(EXCERPT_CHARS));
    let end = (start + EXCERPT_CHARS).min(len);
    let mut shown: String = line.chars().skip(start).take(end - start).collect();
    let mut caret_at = column - start.min(column);
    if start > 0 {
        shown.insert_str(0, "...");
        caret_at += 3;
    }
    if end < len {
        shown.push_str("...");
    }
    (shown, caret_at)
}

pub(crate) fn loc(span: sqlparser::tokenizer::Span) -> Location {
    Location { line: span.start.line, column: span.start.column }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_show_whole() {
        assert_eq!(excerpt("SELECT x FROM t", 7), ("SELECT x FROM t".to_string(), 7));
    }

    /// A caret far into a megabyte-long line shows 120 characters around it, not the line.
    #[test]
    fn long_lines_show_the_stretch_around_the_column() {
        let line = format!("{}^{}", "a".repeat(5000), "b".repeat(5000));
        let (shown, caret) = excerpt(&line, 5000);
        assert!(shown.starts_with("...") && shown.ends_with("..."), "{shown}");
        assert_eq!(shown.chars().nth(caret), Some('^'));
        assert!(shown.len() <= EXCERPT_CHARS + 6);
        let (shown, caret) = excerpt(&line, 3);
        assert!(!shown.starts_with("...") && shown.ends_with("..."));
        assert_eq!(caret, 3);
        let (shown, caret) = excerpt(&line, 10_000);
        assert!(shown.starts_with("...") && !shown.ends_with("..."));
        assert_eq!(shown.chars().nth(caret), Some('b'));
    }

    #[test]
    fn render_points_into_long_lines() {
        let sql = format!("SELECT {} FROM t", "x + ".repeat(1000));
        let err = SqlError::Bind { location: Location { line: 1, column: 2000 }, message: "here".into() };
        let text = err.render(&sql);
        assert!(text.len() < 400, "{text}");
    }
}
