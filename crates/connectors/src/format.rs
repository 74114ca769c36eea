//! Record formats: CSV and JSON lines, decoded into column builders and encoded from batches.

use darwin_common::time::{format_timestamp, parse_timestamp};
use darwin_common::value::{format_decimal, format_double};
use darwin_common::{DataType, Value};

/// The text form of a value in CSV and print output; None for NULL.
pub fn text_value(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => b.to_string(),
        Value::Double(d) => format_double(*d),
        Value::Decimal(m, s) => format_decimal(*m, *s),
        Value::Timestamp(t) => format_timestamp(*t),
        other => darwin_columnar::scalar::to_text(other),
    })
}

/// Parses one CSV field as a type. An unquoted empty field is NULL (for every type); a quoted
/// empty field (`""`) is the empty string.
pub fn parse_field(s: &str, quoted: bool, ty: DataType) -> Result<Value, String> {
    if s.is_empty() && !(quoted && ty == DataType::Varchar) {
        return Ok(Value::Null);
    }
    let bad = || format!("cannot parse '{s}' as {ty}");
    Ok(match ty {
        DataType::Varchar => Value::Str(s.to_string()),
        DataType::Boolean => match s.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad()),
        },
        DataType::Int => Value::Int(s.trim().parse().map_err(|_| bad())?),
        DataType::BigInt => Value::BigInt(s.trim().parse().map_err(|_| bad())?),
        DataType::Double => Value::Double(s.trim().parse().map_err(|_| bad())?),
        DataType::Decimal { .. } => {
            darwin_columnar::scalar::cast_value(&Value::Str(s.to_string()), ty).map_err(|_| bad())?
        }
        DataType::Timestamp => Value::Timestamp(
            parse_timestamp(s)
                .ok_or_else(|| format!("cannot parse '{s}' as TIMESTAMP(3) (expected YYYY-MM-DD HH:MM:SS[.fff])"))?,
        ),
        DataType::Interval => return Err("INTERVAL columns cannot be read".into()),
    })
}

/// Splits a CSV line (RFC 4180 quoting) into fields and whether each was quoted. Returns None
/// for an unterminated quote.
pub fn split_csv(line: &str, out: &mut Vec<(String, bool)>) -> Option<()> {
    out.clear();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == '"' && at_start {
            quoted = true;
            was_quoted = true;
            at_start = false;
        } else if c == ',' {
            out.push((std::mem::take(&mut field), was_quoted));
            was_quoted = false;
            at_start = true;
        } else {
            field.push(c);
            at_start = false;
        }
    }
    if quoted {
        return None;
    }
    out.push((field, was_quoted));
    Some(())
}

/// A CSV field, quoted when it holds a separator, quote or line break.
pub fn csv_field(s: &str, out: &mut String) {
    // An empty string is written quoted, so it stays distinct from NULL (an empty field).
    if s.is_empty() || s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// Appends a value as JSON: numbers as numbers (a DECIMAL with all its digits, never through a
/// double), a DOUBLE that is not finite as the strings `"NaN"`, `"Infinity"`, `"-Infinity"` (as
/// Jackson writes them for Flink; `from_json` reads them back), TIMESTAMP(3) and other values as
/// their text, NULL as `null`.
pub fn json_value(v: &Value, out: &mut String) {
    use std::fmt::Write;
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(x) => {
            let _ = write!(out, "{x}");
        }
        Value::BigInt(x) => {
            let _ = write!(out, "{x}");
        }
        Value::Double(d) if d.is_finite() => out.push_str(&format_double(*d)),
        Value::Decimal(m, s) => out.push_str(&format_decimal(*m, *s)),
        Value::Timestamp(t) => json_string(&format_timestamp(*t), out),
        Value::Double(d) => json_string(&format_double(*d), out),
        other => json_string(&darwin_columnar::scalar::to_text(other), out),
    }
}

/// Appends `s` as a JSON string, escaped.
pub fn json_string(s: &str, out: &mut String) {
    out.push_str(&serde_json::Value::from(s).to_string());
}

/// Reads a JSON field, given as its raw JSON text, as a type, the same way for every record:
/// - `null` is NULL;
/// - a JSON string is read as the type's text form, as in CSV (`"42"` is an INT, `"NaN"` and
///   `"Infinity"` are DOUBLEs, `"2023-01-01 00:00:00"` a TIMESTAMP(3));
/// - a number must fit the type: a whole number for INT (in range) and BIGINT, any number for
///   DOUBLE, an exact one for DECIMAL (read from its digits, never through a double),
///   milliseconds since the epoch for TIMESTAMP(3); `true`/`false` are BOOLEANs;
/// - into VARCHAR, any JSON value that is not a string is its JSON text (`[1,2]`, `true`, `7`).
///
/// Anything else is an error naming the value and the type.
pub fn from_json(raw: &str, ty: DataType) -> Result<Value, String> {
    let raw = raw.trim();
    let bad = || format!("cannot read {raw} as {ty}");
    let first = raw.as_bytes().first().copied().unwrap_or(b'n');
    if raw == "null" {
        return Ok(Value::Null);
    }
    if first == b'"' {
        let s: String = serde_json::from_str(raw).map_err(|e| format!("invalid JSON string {raw}: {e}"))?;
        return match ty {
            DataType::Varchar => Ok(Value::Str(s)),
            DataType::Timestamp => parse_field(&s, true, ty),
            _ => parse_field(&s, true, ty).map_err(|_| bad()),
        };
    }
    let number = first == b'-' || first.is_ascii_digit();
    let whole = number && raw.bytes().skip(1).all(|b| b.is_ascii_digit());
    Ok(match ty {
        DataType::Varchar => Value::Str(raw.to_string()),
        DataType::Boolean => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad()),
        },
        DataType::Int if whole => Value::Int(raw.parse().map_err(|_| format!("{raw} does not fit INT"))?),
        DataType::BigInt if whole => Value::BigInt(raw.parse().map_err(|_| format!("{raw} does not fit BIGINT"))?),
        DataType::Int | DataType::BigInt if number => {
            return Err(format!("{raw} is not a whole number, as {ty} needs"))
        }
        DataType::Double if number => Value::Double(raw.parse().map_err(|_| bad())?),
        DataType::Decimal { .. } if number => parse_field(raw, false, ty)?,
        DataType::Timestamp if whole => Value::Timestamp(raw.parse().map_err(|_| bad())?),
        _ => return Err(bad()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON coercions, one per rule of `from_json`'s table.
    #[test]
    fn json_fields_coerce_by_one_table() {
        let dec = DataType::Decimal { precision: 30, scale: 9 };
        let ok = [
            ("null", DataType::BigInt, Value::Null),
            ("\"42\"", DataType::Int, Value::Int(42)),
            ("42", DataType::Int, Value::Int(42)),
            ("-9000000000", DataType::BigInt, Value::BigInt(-9_000_000_000)),
            ("\"NaN\"", DataType::Double, Value::Double(f64::NAN)),
            ("\"-Infinity\"", DataType::Double, Value::Double(f64::NEG_INFINITY)),
            ("2.5e-3", DataType::Double, Value::Double(0.0025)),
            ("542542414529400.285644230", dec, Value::Decimal(542_542_414_529_400_285_644_230, 9)),
            ("1000", DataType::Timestamp, Value::Timestamp(1000)),
            ("true", DataType::Boolean, Value::Bool(true)),
            ("[1, 2]", DataType::Varchar, Value::Str("[1, 2]".into())),
            ("7", DataType::Varchar, Value::Str("7".into())),
            ("\"a\\\"b\"", DataType::Varchar, Value::Str("a\"b".into())),
        ];
        for (raw, ty, want) in ok {
            let got = from_json(raw, ty).unwrap();
            assert!(format!("{got:?}") == format!("{want:?}"), "{raw} as {ty}: {got:?}");
        }
        for (raw, ty) in [
            ("2.5", DataType::BigInt),
            ("3000000000", DataType::Int),
            ("99999999999999999999", DataType::BigInt),
            ("\"three\"", DataType::BigInt),
            ("1", DataType::Boolean),
            ("{}", DataType::Double),
        ] {
            assert!(from_json(raw, ty).is_err(), "{raw} as {ty} must be refused");
        }
    }

    /// What the sink writes for any string, `split_csv` reads back equal.
    #[test]
    fn csv_fields_read_back_as_written() {
        for s in ["", "plain", "a,b", "say \"hi\"", "two\nlines", "cr\r\nlf", " padded ", "é日本", "\"", ","] {
            let mut line = String::new();
            csv_field(s, &mut line);
            line.push_str(",x");
            let mut fields = Vec::new();
            split_csv(&line, &mut fields).unwrap();
            assert_eq!(fields[0].0, s, "{line:?}");
            assert_eq!(fields[1].0, "x");
        }
    }
}
