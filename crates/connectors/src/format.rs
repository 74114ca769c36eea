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

/// A JSON value for a column value.
pub fn json_value(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(x) => (*x).into(),
        Value::BigInt(x) => (*x).into(),
        Value::Double(d) => serde_json::Number::from_f64(*d).map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Decimal(m, s) => serde_json::from_str(&format_decimal(*m, *s)).unwrap_or(serde_json::Value::Null),
        Value::Timestamp(t) => serde_json::Value::String(format_timestamp(*t)),
        other => serde_json::Value::String(darwin_columnar::scalar::to_text(other)),
    }
}

/// Reads a JSON field as a type.
pub fn from_json(v: &serde_json::Value, ty: DataType) -> Result<Value, String> {
    use serde_json::Value as J;
    let bad = || format!("cannot read {v} as {ty}");
    Ok(match (v, ty) {
        (J::Null, _) => Value::Null,
        (J::Bool(b), DataType::Boolean) => Value::Bool(*b),
        (J::Number(n), DataType::Int) => Value::Int(n.as_i64().and_then(|x| i32::try_from(x).ok()).ok_or_else(bad)?),
        (J::Number(n), DataType::BigInt) => Value::BigInt(n.as_i64().ok_or_else(bad)?),
        (J::Number(n), DataType::Double) => Value::Double(n.as_f64().ok_or_else(bad)?),
        (J::Number(n), DataType::Decimal { .. }) => parse_field(&n.to_string(), false, ty)?,
        (J::Number(n), DataType::Timestamp) => Value::Timestamp(n.as_i64().ok_or_else(bad)?),
        (J::String(s), DataType::Varchar) => Value::Str(s.clone()),
        (J::String(s), DataType::Timestamp | DataType::Decimal { .. }) => parse_field(s, true, ty)?,
        (other, DataType::Varchar) => Value::Str(other.to_string()),
        _ => return Err(bad()),
    })
}
