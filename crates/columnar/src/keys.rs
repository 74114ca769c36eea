//! Encoding of key columns into bytes, so hash tables key on one byte string whatever the key
//! types (no allocation per lookup: the scratch buffer is reused and tables are probed by slice).

use crate::column::{Column, ColumnData};
use std::borrow::Borrow;

/// The bits of a double as a group key: -0.0 and 0.0 are one key, and so are all NaNs.
#[inline]
pub fn key_bits(x: f64) -> u64 {
    if x == 0.0 {
        0
    } else if x.is_nan() {
        f64::NAN.to_bits()
    } else {
        x.to_bits()
    }
}

/// Appends row `i` of the key columns to `buf`. Returns false if any key is NULL.
#[inline]
pub fn encode_row<C: Borrow<Column>>(cols: &[C], i: usize, buf: &mut Vec<u8>) -> bool {
    let mut all_valid = true;
    for c in cols {
        let c = c.borrow();
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
            ColumnData::F64(v) => buf.extend_from_slice(&key_bits(v[i]).to_le_bytes()),
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

    /// Dense and sparse integer keys (negative, extreme, repeated) find the same rows, in the
    /// same order, as a plain map of row lists.
    #[test]
    fn int_rows_agree_with_a_map() {
        let mut rnd = darwin_common::xorshift(0x9e37_79b9_7f4a_7c15u64);
        for round in 0..100 {
            let spread = [1u64, 50, 3000, u64::MAX][round % 4];
            let pairs: Vec<(i64, u32)> =
                (0..rnd() % 2000).map(|r| (((rnd() % spread) as i64).wrapping_sub(25), r as u32)).collect();
            let index = IntRows::build(&pairs);
            let mut want: std::collections::HashMap<i64, Vec<u32>> = Default::default();
            pairs.iter().for_each(|(k, r)| want.entry(*k).or_default().push(*r));
            for (k, rows) in &want {
                assert_eq!(index.get(*k), rows.as_slice());
            }
            for k in [i64::MIN, i64::MAX, -26, 3001, 0] {
                assert_eq!(index.get(k), want.get(&k).map_or(&[][..], Vec::as_slice));
            }
            let dense = matches!(index, IntRows::Dense { .. });
            assert!(dense || spread > 1024, "{spread}: small key ranges are dense");
            assert!(!dense || spread < u64::MAX || pairs.len() < 2, "random 64-bit keys are not dense");
        }
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

/// A `HashMap` with [`FastHasher`].
pub type FastMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<FastHasher>>;
/// A `HashSet` with [`FastHasher`].
pub type FastSet<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<FastHasher>>;

/// A hash index from join keys to row numbers: integer-keyed for one integer key column,
/// byte-keyed otherwise. Rows with a NULL key are not indexed (they never join).
#[derive(Debug)]
pub enum JoinIndex {
    /// One integer key column (`INT` or `BIGINT`): indexed by value, densely when it can be.
    Int(IntRows),
    /// One string key (YSB's ad ids): probed by `&str`, without encoding the key first.
    Str(FastMap<Box<str>, Vec<u32>>),
    /// Any other keys: indexed by their [`encode_row`] bytes.
    Bytes(FastMap<Vec<u8>, Vec<u32>>),
}

/// Row `i`'s single integer key, if the key columns are one integer column (None inside: a
/// NULL key).
#[inline]
pub fn int_key<C: Borrow<Column>>(cols: &[C], i: usize) -> Option<Option<i64>> {
    match cols {
        [c] => match &c.borrow().data {
            ColumnData::I64(v) => Some(c.borrow().is_valid(i).then(|| v[i])),
            ColumnData::I32(v) => Some(c.borrow().is_valid(i).then(|| v[i] as i64)),
            _ => None,
        },
        _ => None,
    }
}

impl JoinIndex {
    /// Indexes rows `0..n` of the key columns.
    pub fn build(cols: &[Column], n: usize) -> JoinIndex {
        if matches!(cols, [c] if matches!(c.data, ColumnData::I64(_) | ColumnData::I32(_))) {
            let pairs: Vec<(i64, u32)> =
                (0..n).filter_map(|i| int_key(cols, i).flatten().map(|k| (k, i as u32))).collect();
            return JoinIndex::Int(IntRows::build(&pairs));
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
            JoinIndex::Int(m) => m.get(k),
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
                Some(Some(k)) => Some(m.get(k)),
                _ => None,
            },
            JoinIndex::Str(m) => match probe {
                [c @ Column { data: ColumnData::Str(s), .. }] if c.is_valid(i) => m.get(s.get(i)).map(Vec::as_slice),
                _ => None,
            },
            JoinIndex::Bytes(m) => {
                buf.clear();
                if encode_row(probe, i, buf) {
                    m.get(buf.as_slice()).map(Vec::as_slice)
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

/// Integer join keys → indexed rows (ascending). While the keys are dense (ids, YSB's ad numbers)
/// the rows of key `k` are found by offset `k - base` into one row array, without hashing;
/// otherwise through a hash map.
#[derive(Debug)]
pub enum IntRows {
    /// Keys in a small range: the rows of key `k` are `rows[starts[k - base]..starts[k - base + 1]]`.
    Dense {
        /// The smallest key.
        base: i64,
        /// Per key from `base` up, where its rows start in `rows`, plus the end: one more entry than keys.
        starts: Vec<u32>,
        /// The indexed rows, grouped by key, ascending within each key.
        rows: Vec<u32>,
    },
    /// Sparse keys: each key's rows (ascending) in a hash map.
    Map(FastMap<i64, Vec<u32>>),
}

impl IntRows {
    /// Indexes `(key, row)` pairs given in ascending row order.
    pub fn build(pairs: &[(i64, u32)]) -> IntRows {
        let (lo, hi) = pairs.iter().fold((i64::MAX, i64::MIN), |(lo, hi), (k, _)| (lo.min(*k), hi.max(*k)));
        let span = (hi as i128 - lo as i128 + 1).max(0);
        if span > 1024.max(8 * pairs.len() as i128) {
            let mut m: FastMap<i64, Vec<u32>> = FastMap::default();
            pairs.iter().for_each(|(k, r)| m.entry(*k).or_default().push(*r));
            return IntRows::Map(m);
        }
        // Counting sort by key: stable, so each key's rows stay ascending.
        let mut starts = vec![0u32; span as usize + 1];
        pairs.iter().for_each(|(k, _)| starts[(k - lo) as usize + 1] += 1);
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut fill = starts.clone();
        let mut rows = vec![0u32; pairs.len()];
        for (k, r) in pairs {
            let slot = &mut fill[(k - lo) as usize];
            rows[*slot as usize] = *r;
            *slot += 1;
        }
        IntRows::Dense { base: lo, starts, rows }
    }

    /// The rows with key `k`.
    #[inline]
    pub fn get(&self, k: i64) -> &[u32] {
        match self {
            IntRows::Dense { base, starts, rows } => {
                let i = k.wrapping_sub(*base) as u64;
                if i < (starts.len() - 1) as u64 {
                    &rows[starts[i as usize] as usize..starts[i as usize + 1] as usize]
                } else {
                    &[]
                }
            }
            IntRows::Map(m) => m.get(&k).map_or(&[], Vec::as_slice),
        }
    }
}
