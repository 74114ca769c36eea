//! Rows of a batch as CSV or JSON lines, read straight from the typed columns: no value is
//! built per field, integers and timestamps are formatted in place, strings are copied (and
//! quoted or escaped only where they need it). The text is exactly what `format::text_value`,
//! `csv_field` and `json_value` give (a property test checks it): what the sinks write, the
//! sources read back equal.

use darwin_columnar::column::{Batch, Column, ColumnData};
use darwin_common::time::push_timestamp;
use darwin_common::value::format_decimal;
use darwin_common::value::format_double;
use darwin_common::{DataType, Schema};

/// Appends row `i` of `batch` (columns of `schema`) to `line` as one CSV or JSON line.
pub fn encode_row(json: bool, schema: &Schema, batch: &Batch, i: usize, line: &mut String) {
    if json {
        line.push('{');
    }
    for (k, (c, f)) in batch.columns.iter().zip(&schema.fields).enumerate() {
        if k > 0 {
            line.push(',');
        }
        if json {
            json_str(&f.name, line);
            line.push(':');
        }
        field(json, c, f.data_type, i, line);
    }
    if json {
        line.push('}');
    }
    line.push('\n');
}

fn field(json: bool, c: &Column, ty: DataType, i: usize, out: &mut String) {
    if !c.is_valid(i) {
        if json {
            out.push_str("null");
        }
        return;
    }
    let mut int = itoa::Buffer::new();
    match (&c.data, ty) {
        (ColumnData::Bool(v), _) => out.push_str(if v[i] { "true" } else { "false" }),
        (ColumnData::I32(v), _) => out.push_str(int.format(v[i])),
        (ColumnData::I64(v), DataType::Timestamp) => {
            if json {
                out.push('"');
            }
            push_timestamp(v[i], out);
            if json {
                out.push('"');
            }
        }
        (ColumnData::I64(v), DataType::Interval) => {
            let text = darwin_columnar::scalar::to_text(&darwin_common::Value::Interval(v[i]));
            if json {
                json_str(&text, out);
            } else {
                csv_str(&text, out);
            }
        }
        (ColumnData::I64(v), _) => out.push_str(int.format(v[i])),
        (ColumnData::F64(v), _) => {
            let text = format_double(v[i]);
            match (json, v[i].is_finite()) {
                (true, false) => json_str(&text, out),
                _ => out.push_str(&text),
            }
        }
        (ColumnData::I128(v), DataType::Decimal { scale, .. }) => out.push_str(&format_decimal(v[i], scale)),
        (ColumnData::I128(v), _) => out.push_str(&format_decimal(v[i], 0)),
        (ColumnData::Str(s), _) => {
            if json {
                json_str(s.get(i), out);
            } else {
                csv_str(s.get(i), out);
            }
        }
    }
}

/// A CSV field: quoted when empty (so it differs from NULL), when it holds a separator, quote
/// or line break, or starts or ends with a space.
fn csv_str(s: &str, out: &mut String) {
    let b = s.as_bytes();
    let quote = b.is_empty()
        || b[0] == b' '
        || b[b.len() - 1] == b' '
        || b.iter().any(|&c| matches!(c, b',' | b'"' | b'\n' | b'\r'));
    if !quote {
        out.push_str(s);
        return;
    }
    out.push('"');
    for (k, part) in s.split('"').enumerate() {
        if k > 0 {
            out.push_str("\"\"");
        }
        out.push_str(part);
    }
    out.push('"');
}

/// A JSON string, escaped as serde_json escapes (`\"`, `\\`, `\b \f \n \r \t`, other control
/// characters as `\u00xx`; everything else as it is).
fn json_str(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{csv_field, json_string, json_value, text_value};
    use darwin_common::{Field, Value};

    /// The row as the sinks wrote it before: through a value per field.
    fn by_values(json: bool, schema: &Schema, batch: &Batch, i: usize) -> String {
        let mut line = String::new();
        let types = schema.types();
        if json {
            line.push('{');
        }
        for (k, ((c, t), f)) in batch.columns.iter().zip(&types).zip(&schema.fields).enumerate() {
            if k > 0 {
                line.push(',');
            }
            if json {
                json_string(&f.name, &mut line);
                line.push(':');
                json_value(&c.get(i, *t), &mut line);
            } else if let Some(s) = text_value(&c.get(i, *t)) {
                csv_field(&s, &mut line);
            }
        }
        if json {
            line.push('}');
        }
        line.push('\n');
        line
    }

    #[test]
    fn rows_are_written_as_values_would_write_them() {
        let mut rnd = darwin_common::xorshift(99);
        let types = [
            DataType::Boolean,
            DataType::Int,
            DataType::BigInt,
            DataType::Double,
            DataType::Decimal { precision: 30, scale: 4 },
            DataType::Varchar,
            DataType::Timestamp,
            DataType::Interval,
        ];
        let schema = Schema::new(types.iter().enumerate().map(|(i, t)| Field::new(format!("c\"{i}\n"), *t)).collect());
        let strings = ["", " a", "b ", "x,y", "q\"q", "l\nm", "\r", "é日本", "\u{1}\u{1f}\u{7f}", "\\/", "plain"];
        let doubles = [0.0, -0.0, 1.5, 1e300, -2.5e-7, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 123456789.0];
        let rows: Vec<Vec<Value>> = (0..500)
            .map(|_| {
                let mut r = vec![
                    Value::Bool(rnd().is_multiple_of(2)),
                    Value::Int(rnd() as i32),
                    Value::BigInt(rnd() as i64),
                    Value::Double(doubles[(rnd() % doubles.len() as u64) as usize]),
                    Value::Decimal((rnd() as i64) as i128 * 1000 + (rnd() % 1000) as i128, 4),
                    Value::Str(strings[(rnd() % strings.len() as u64) as usize].into()),
                    Value::Timestamp((rnd() % (1 << 45)) as i64 - (1 << 44)),
                    Value::Interval((rnd() % 100_000_000) as i64),
                ];
                for v in r.iter_mut() {
                    if rnd().is_multiple_of(9) {
                        *v = Value::Null;
                    }
                }
                r
            })
            .collect();
        let batch = Batch::from_rows(&rows, &types);
        for json in [false, true] {
            for i in 0..rows.len() {
                let mut line = String::new();
                encode_row(json, &schema, &batch, i, &mut line);
                assert_eq!(line, by_values(json, &schema, &batch, i), "row {i} json={json}");
            }
        }
    }
}
