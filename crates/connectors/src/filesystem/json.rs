//! JSON-lines records decoded straight into column builders: the object's keys are matched to
//! the schema's columns as the parser meets them (exact name first, else ignoring case), each
//! wanted value is read from its raw JSON text by `format::from_json` (numbers keep every
//! digit), and the values of other keys are skipped unparsed. No map is built per record.

use crate::format::from_json;
use darwin_columnar::column::ColumnBuilder;
use darwin_common::{DataType, Schema};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// Why a record was not decoded: the column (`*` for the whole record) and the message.
type RecordError = (String, String);

/// Appends the JSON object `line` to `columns`, one per schema field (NULL for a missing key);
/// on an error nothing of the record is left in them.
pub fn decode(line: &str, schema: &Schema, columns: &mut [ColumnBuilder]) -> Result<(), RecordError> {
    let mut de = serde_json::Deserializer::from_str(line);
    let slots = de
        .deserialize_map(Fields { schema })
        .and_then(|slots| de.end().map(|()| slots))
        .map_err(|e| ("*".to_string(), format!("invalid JSON object: {e}")))?;
    let rows = columns.first().map_or(0, ColumnBuilder::len);
    for ((f, slot), column) in schema.fields.iter().zip(&slots).zip(columns.iter_mut()) {
        if let Err(m) = push(column, f.data_type, slot.map(|(raw, _)| raw.get())) {
            columns.iter_mut().for_each(|c| c.truncate(rows));
            return Err((f.name.clone(), m));
        }
    }
    Ok(())
}

/// Appends a field's raw JSON text (None: the key is missing) to its column.
fn push(column: &mut ColumnBuilder, ty: DataType, raw: Option<&str>) -> Result<(), String> {
    match raw {
        None => column.push_null(),
        // A string without escapes into VARCHAR: its bytes as they are, no copy first.
        Some(raw) if ty == DataType::Varchar && plain_string(raw).is_some() => {
            column.push_str(plain_string(raw).unwrap_or_default());
        }
        Some(raw) => column.push(&from_json(raw, ty)?),
    }
    Ok(())
}

/// The content of a JSON string that holds no escape and no control character (so it reads as
/// it is written), else None.
fn plain_string(raw: &str) -> Option<&str> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.bytes().any(|b| b == b'\\' || b == b'"' || b < 0x20)).then_some(inner)
}

/// Per column, the raw value of its key and whether the key matched exactly.
type Slots<'de> = Vec<Option<(&'de RawValue, bool)>>;

struct Fields<'s> {
    schema: &'s Schema,
}

impl<'de> Visitor<'de> for Fields<'_> {
    type Value = Slots<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut slots: Slots<'de> = vec![None; self.schema.len()];
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let exact = self.schema.fields.iter().position(|f| f.name == key);
            let column = exact.or_else(|| self.schema.fields.iter().position(|f| f.name.eq_ignore_ascii_case(&key)));
            match column {
                // A key matching exactly wins over one matching only without case.
                Some(c) if exact.is_some() || !slots[c].is_some_and(|(_, e)| e) => {
                    slots[c] = Some((map.next_value::<&'de RawValue>()?, exact.is_some()));
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(slots)
    }
}

/// An object key, borrowed from the record unless it holds escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use darwin_common::{Field, Value};

    fn read(line: &str) -> Result<Vec<Value>, RecordError> {
        let types = [DataType::BigInt, DataType::Varchar, DataType::Decimal { precision: 30, scale: 2 }];
        let names = ["id", "Name", "amount"];
        let schema = Schema::new(names.iter().zip(types).map(|(n, t)| Field::new(*n, t)).collect());
        let mut columns: Vec<ColumnBuilder> = types.iter().map(|t| ColumnBuilder::new(*t, 1)).collect();
        decode(line, &schema, &mut columns)?;
        let batch = darwin_columnar::column::Batch::new(columns.into_iter().map(ColumnBuilder::finish).collect(), 1);
        Ok(batch.row(0, &types))
    }

    #[test]
    fn keys_match_columns_and_other_values_are_skipped() {
        let big = "1234567890123456789012345678.25";
        let row =
            read(&format!(r#"{{"skip": {{"deep": [1, {{"x": null}}]}}, "amount": {big}, "id": 7, "name": "a\"b"}}"#));
        let want_amount =
            darwin_columnar::scalar::cast_value(&Value::Str(big.into()), DataType::Decimal { precision: 30, scale: 2 });
        assert_eq!(row.unwrap(), vec![Value::BigInt(7), Value::Str("a\"b".into()), want_amount.unwrap()]);
        // A missing key is NULL; an exact key wins over one differing in case, in either order.
        assert_eq!(read(r#"{"NAME": "x", "Name": "y"}"#).unwrap()[..2], [Value::Null, Value::Str("y".into())]);
        assert_eq!(read(r#"{"Name": "y", "NAME": "x"}"#).unwrap()[1], Value::Str("y".into()));
        assert_eq!(read(r#"{"id": 2.5}"#).unwrap_err().0, "id");
        // Strings read as they are when they hold no escape, unescaped otherwise; other JSON
        // values into VARCHAR are their text.
        for (line, want) in
            [(r#"{"name": "plain é"}"#, "plain é"), (r#"{"name": "a\tb\u00e9"}"#, "a\tbé"), (r#"{"name": 7}"#, "7")]
        {
            assert_eq!(read(line).unwrap()[1], Value::Str(want.into()), "{line}");
        }
        for bad in ["[1]", "{\"id\": 1", "{\"id\": 1} x", ""] {
            assert!(read(bad).unwrap_err().1.starts_with("invalid JSON object"), "{bad}");
        }
    }
}
