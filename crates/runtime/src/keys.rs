//! Encoding of key columns into bytes, so hash tables key on one byte string whatever the key
//! types (no allocation per lookup: the scratch buffer is reused and tables are probed by slice).

use crate::column::{Column, ColumnData};

/// Appends row `i` of the key columns to `buf`. Returns false if any key is NULL.
#[inline]
pub fn encode_row(cols: &[Column], i: usize, buf: &mut Vec<u8>) -> bool {
    let mut all_valid = true;
    for c in cols {
        if !c.is_valid(i) {
            buf.push(0);
            all_valid = false;
            continue;
        }
        buf.push(1);
        match &c.data {
            ColumnData::Bool(v) => buf.push(v[i] as u8),
            ColumnData::I32(v) => buf.extend_from_slice(&v[i].to_le_bytes()),
            ColumnData::I64(v) => buf.extend_from_slice(&v[i].to_le_bytes()),
            ColumnData::F64(v) => {
                // -0.0 and 0.0 group together; all NaNs group together.
                let x = if v[i] == 0.0 {
                    0.0
                } else if v[i].is_nan() {
                    f64::NAN
                } else {
                    v[i]
                };
                buf.extend_from_slice(&x.to_bits().to_le_bytes())
            }
            ColumnData::I128(v) => buf.extend_from_slice(&v[i].to_le_bytes()),
            ColumnData::Str(s) => {
                let b = s.get(i).as_bytes();
                buf.extend_from_slice(&(b.len() as u32).to_le_bytes());
                buf.extend_from_slice(b);
            }
        }
    }
    all_valid
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::Batch;
    use darwin_common::{DataType, Value};

    #[test]
    fn encoding_separates_nulls_and_string_boundaries() {
        let types = [DataType::Varchar, DataType::Varchar];
        let rows = vec![
            vec![Value::Str("ab".into()), Value::Str("c".into())],
            vec![Value::Str("a".into()), Value::Str("bc".into())],
            vec![Value::Null, Value::Str("".into())],
            vec![Value::Str("".into()), Value::Str("".into())],
        ];
        let b = Batch::from_rows(&rows, &types);
        let enc: Vec<(Vec<u8>, bool)> = (0..4)
            .map(|i| {
                let mut buf = Vec::new();
                let ok = encode_row(&b.columns, i, &mut buf);
                (buf, ok)
            })
            .collect();
        assert_ne!(enc[0].0, enc[1].0);
        assert_ne!(enc[2].0, enc[3].0);
        assert!(!enc[2].1 && enc[3].1);
    }

    #[test]
    fn doubles_group_zero_signs_together() {
        let b = Batch::from_rows(
            &[vec![Value::Double(0.0)], vec![Value::Double(-0.0)]],
            &[DataType::Double],
        );
        let (mut x, mut y) = (Vec::new(), Vec::new());
        encode_row(&b.columns, 0, &mut x);
        encode_row(&b.columns, 1, &mut y);
        assert_eq!(x, y);
    }
}
