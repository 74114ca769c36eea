//! A single SQL value: used for literals, the reference evaluator and at operator edges, never
//! on the hot path (batches hold typed columns).

use crate::time::format_timestamp;
use crate::DataType;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// One SQL value of any type, or NULL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// SQL NULL, of no particular type.
    Null,
    /// A BOOLEAN.
    Bool(bool),
    /// An INT.
    Int(i32),
    /// A BIGINT.
    BigInt(i64),
    /// A DOUBLE.
    Double(f64),
    /// Mantissa and scale: `Decimal(9080, 3)` is 9.080.
    Decimal(i128, u8),
    /// A VARCHAR.
    Str(String),
    /// Milliseconds since the epoch.
    Timestamp(i64),
    /// Milliseconds.
    Interval(i64),
}

impl Value {
    /// True for SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as i64 for the types stored as i64 (BIGINT, TIMESTAMP, INTERVAL) and INT.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v as i64),
            Value::BigInt(v) | Value::Timestamp(v) | Value::Interval(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as a double for numeric values (INT, BIGINT, DOUBLE, DECIMAL); None otherwise.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(v) => Some(*v as f64),
            Value::BigInt(v) => Some(*v as f64),
            Value::Double(v) => Some(*v),
            Value::Decimal(m, s) => Some(*m as f64 / 10f64.powi(*s as i32)),
            _ => None,
        }
    }

    /// The SQL type of the value; None for NULL. A DECIMAL reports precision 38 and its own scale.
    pub fn data_type(&self) -> Option<DataType> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => DataType::Boolean,
            Value::Int(_) => DataType::Int,
            Value::BigInt(_) => DataType::BigInt,
            Value::Double(_) => DataType::Double,
            Value::Decimal(_, s) => DataType::Decimal { precision: 38, scale: *s },
            Value::Str(_) => DataType::Varchar,
            Value::Timestamp(_) => DataType::Timestamp,
            Value::Interval(_) => DataType::Interval,
        })
    }

    /// A total order (NULL first, doubles by `total_cmp`), for sorting and reference grouping.
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        use Value::*;
        match (self, other) {
            (Null, Null) => Ordering::Equal,
            (Null, _) => Ordering::Less,
            (_, Null) => Ordering::Greater,
            (Bool(a), Bool(b)) => a.cmp(b),
            (Double(a), Double(b)) => a.total_cmp(b),
            (Decimal(a, sa), Decimal(b, sb)) => {
                let (a, b) = align_decimals(*a, *sa, *b, *sb);
                a.cmp(&b)
            }
            (Str(a), Str(b)) => a.cmp(b),
            (a, b) => match (a.as_i64(), b.as_i64()) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => match (a.as_f64(), b.as_f64()) {
                    (Some(x), Some(y)) => x.total_cmp(&y),
                    _ => format!("{a:?}").cmp(&format!("{b:?}")),
                },
            },
        }
    }
}

/// Brings two decimal mantissas to the same scale.
pub fn align_decimals(a: i128, sa: u8, b: i128, sb: u8) -> (i128, i128) {
    match sa.cmp(&sb) {
        Ordering::Equal => (a, b),
        Ordering::Less => (a * 10i128.pow((sb - sa) as u32), b),
        Ordering::Greater => (a, b * 10i128.pow((sa - sb) as u32)),
    }
}

/// Formats a decimal mantissa with its scale: `(9080, 3)` → `9.080`.
pub fn format_decimal(m: i128, scale: u8) -> String {
    if scale == 0 {
        return m.to_string();
    }
    let neg = m < 0;
    let digits = m.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded =
        if digits.len() <= scale { format!("{}{}", "0".repeat(scale + 1 - digits.len()), digits) } else { digits };
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{}.{}", if neg { "-" } else { "" }, int, frac)
}

/// Formats a double the way Flink prints it: integral values keep a `.0`.
pub fn format_double(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.1}")
    } else if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        format!("{v}")
    }
}

/// Formats an interval as Flink's `+0 00:00:10.000`-like day-time literal.
pub fn format_interval(ms: i64) -> String {
    let sign = if ms < 0 { '-' } else { '+' };
    let ms = ms.unsigned_abs();
    let (d, rem) = (ms / 86_400_000, ms % 86_400_000);
    format!("{sign}{d} {:02}:{:02}:{:02}.{:03}", rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000)
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "NULL"),
            Value::Bool(b) => write!(f, "{}", if *b { "TRUE" } else { "FALSE" }),
            Value::Int(v) => write!(f, "{v}"),
            Value::BigInt(v) => write!(f, "{v}"),
            Value::Double(v) => write!(f, "{}", format_double(*v)),
            Value::Decimal(m, s) => write!(f, "{}", format_decimal(*m, *s)),
            Value::Str(s) => write!(f, "{s}"),
            Value::Timestamp(ms) => write!(f, "{}", format_timestamp(*ms)),
            Value::Interval(ms) => write!(f, "{}", format_interval(*ms)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn decimals_format_with_their_scale() {
        assert_eq!(format_decimal(9080, 3), "9.080");
        assert_eq!(format_decimal(-5, 2), "-0.05");
        assert_eq!(format_decimal(42, 0), "42");
        assert_eq!(format_double(3.0), "3.0");
        assert_eq!(format_double(0.25), "0.25");
    }
}
