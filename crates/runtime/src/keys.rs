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
    fn string_join_index_matches_equal_keys_and_never_null() {
        let t = Batch::from_rows(
            &[
                vec![Value::Str("a".into())],
                vec![Value::Null],
                vec![Value::Str("a".into())],
                vec![Value::Str("".into())],
            ],
            &[DataType::Varchar],
        );
        let index = JoinIndex::build(&t.columns, 4);
        assert!(matches!(index, JoinIndex::Str(_)));
        let p = Batch::from_rows(
            &[
                vec![Value::Str("a".into())],
                vec![Value::Null],
                vec![Value::Str("".into())],
                vec![Value::Str("b".into())],
            ],
            &[DataType::Varchar],
        );
        let hits: Vec<Vec<u32>> = (0..4)
            .map(|i| {
                let mut v = Vec::new();
                index.probe(&p.columns, i, &mut Vec::new(), |r| v.push(r));
                v
            })
            .collect();
        assert_eq!(hits, vec![vec![0, 2], vec![], vec![3], vec![]]);
        // The typed probes of fused compiled kernels agree; another key type finds nothing.
        assert_eq!(
            (index.rows_str("a"), index.rows_str(""), index.rows_int(1)),
            (&[0u32, 2][..], &[3u32][..], &[][..])
        );
    }

    #[test]
    fn doubles_group_zero_signs_together() {
        let b = Batch::from_rows(&[vec![Value::Double(0.0)], vec![Value::Double(-0.0)]], &[DataType::Double]);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        encode_row(&b.columns, 0, &mut x);
        encode_row(&b.columns, 1, &mut y);
        assert_eq!(x, y);
    }
}

/// A fast, non-cryptographic hasher (FxHash-style) for the engine's internal hash tables. Keys
/// come from data, not from an adversary choosing collisions against a server, and SipHash
/// (std's default) would cost more than the rest of a group-by probe.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl std::hash::Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(SEED);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(SEED);
        }
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(SEED);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // Mix the high bits down: hashbrown takes its control bits from the top 7 bits.
        self.0 ^ (self.0 >> 32)
    }
}

pub type FastMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<FastHasher>>;
pub type FastSet<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<FastHasher>>;

/// A hash index from join keys to row numbers: integer-keyed for one integer key column,
/// byte-keyed otherwise. Rows with a NULL key are not indexed (they never join).
#[derive(Debug)]
pub enum JoinIndex {
    Int(FastMap<i64, Vec<u32>>),
    /// One string key (YSB's ad ids): probed by `&str`, without encoding the key first.
    Str(FastMap<Box<str>, Vec<u32>>),
    Bytes(FastMap<Vec<u8>, Vec<u32>>),
}

/// Row `i`'s single integer key, if the key columns are one integer column.
#[inline]
fn int_key(cols: &[Column], i: usize) -> Option<Option<i64>> {
    match cols {
        [c] => match &c.data {
            ColumnData::I64(v) => Some(c.is_valid(i).then(|| v[i])),
            ColumnData::I32(v) => Some(c.is_valid(i).then(|| v[i] as i64)),
            _ => None,
        },
        _ => None,
    }
}

impl JoinIndex {
    /// Indexes rows `0..n` of the key columns.
    pub fn build(cols: &[Column], n: usize) -> JoinIndex {
        if matches!(cols, [c] if matches!(c.data, ColumnData::I64(_) | ColumnData::I32(_))) {
            let mut m: FastMap<i64, Vec<u32>> = FastMap::default();
            for i in 0..n {
                if let Some(Some(k)) = int_key(cols, i) {
                    m.entry(k).or_default().push(i as u32);
                }
            }
            return JoinIndex::Int(m);
        }
        if let [c @ Column { data: ColumnData::Str(s), .. }] = cols {
            let mut m: FastMap<Box<str>, Vec<u32>> = FastMap::default();
            for i in (0..n).filter(|i| c.is_valid(*i)) {
                m.entry(s.get(i).into()).or_default().push(i as u32);
            }
            return JoinIndex::Str(m);
        }
        let mut m: FastMap<Vec<u8>, Vec<u32>> = FastMap::default();
        let mut buf = Vec::new();
        for i in 0..n {
            buf.clear();
            if encode_row(cols, i, &mut buf) {
                m.entry(buf.clone()).or_default().push(i as u32);
            }
        }
        JoinIndex::Bytes(m)
    }

    /// The indexed rows with integer key `k` (none for an index of another key type).
    #[inline]
    pub fn rows_int(&self, k: i64) -> &[u32] {
        match self {
            JoinIndex::Int(m) => m.get(&k).map_or(&[], |v| v.as_slice()),
            _ => &[],
        }
    }

    /// The indexed rows with string key `k` (none for an index of another key type).
    #[inline]
    pub fn rows_str(&self, k: &str) -> &[u32] {
        match self {
            JoinIndex::Str(m) => m.get(k).map_or(&[], |v| v.as_slice()),
            _ => &[],
        }
    }

    /// Calls `f(row)` for every indexed row whose key equals row `i` of `probe`.
    #[inline]
    pub fn probe(&self, probe: &[Column], i: usize, buf: &mut Vec<u8>, mut f: impl FnMut(u32)) {
        let hits = match self {
            JoinIndex::Int(m) => match int_key(probe, i) {
                Some(Some(k)) => m.get(&k),
                _ => None,
            },
            JoinIndex::Str(m) => match probe {
                [c @ Column { data: ColumnData::Str(s), .. }] if c.is_valid(i) => m.get(s.get(i)),
                _ => None,
            },
            JoinIndex::Bytes(m) => {
                buf.clear();
                if encode_row(probe, i, buf) {
                    m.get(buf.as_slice())
                } else {
                    None
                }
            }
        };
        if let Some(rows) = hits {
            rows.iter().for_each(|r| f(*r));
        }
    }
}
