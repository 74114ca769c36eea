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
