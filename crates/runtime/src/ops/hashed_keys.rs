//! Group keys of any types (several columns, strings, doubles) → group numbers, without a copy
//! of each key on the heap: a map from the key's 64-bit hash to a group, groups with equal
//! hashes chained, equality checked against the key values the group table keeps anyway in its
//! key columns. Adding a group allocates nothing (amortised), and a restore re-inserts hashes.

use crate::column::{Column, ColumnBuilder, ColumnData};
use crate::keys::FastMap;

const END: u32 = u32::MAX;
const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

#[derive(Debug, Default)]
pub struct HashedKeys {
    /// Hash → the newest group with that hash.
    first: FastMap<u64, u32>,
    /// Per group: the next (older) group with the same hash, or `END`.
    next: Vec<u32>,
}

#[inline]
fn mix(h: u64, x: u64) -> u64 {
    (h.rotate_left(5) ^ x).wrapping_mul(SEED)
}

/// Hashes of the key columns at `rows` into `out`, column by column. Values that group together
/// hash alike: NULLs, -0.0 and 0.0, every NaN.
pub fn hash_rows(cols: &[Column], rows: &[u32], out: &mut Vec<u64>) {
    out.clear();
    out.resize(rows.len(), 0);
    for c in cols {
        macro_rules! each {
            ($v:expr, $f:expr) => {
                for (h, &r) in out.iter_mut().zip(rows) {
                    let r = r as usize;
                    *h = if c.is_valid(r) { mix(*h, $f(&$v[r])) } else { mix(*h, 0x6e75_6c6c) ^ 1 };
                }
            };
        }
        match &c.data {
            ColumnData::Bool(v) => each!(v, |x: &bool| *x as u64 + 2),
            ColumnData::I32(v) => each!(v, |x: &i32| *x as i64 as u64),
            ColumnData::I64(v) => each!(v, |x: &i64| *x as u64),
            ColumnData::I128(v) => each!(v, |x: &i128| mix(*x as u64, (*x >> 64) as u64)),
            ColumnData::F64(v) => each!(v, |x: &f64| {
                if *x == 0.0 {
                    0
                } else if x.is_nan() {
                    f64::NAN.to_bits()
                } else {
                    x.to_bits()
                }
            }),
            ColumnData::Str(s) => {
                for (h, &r) in out.iter_mut().zip(rows) {
                    let r = r as usize;
                    *h = if c.is_valid(r) {
                        let mut x = s.get(r).len() as u64;
                        for chunk in s.get(r).as_bytes().chunks(8) {
                            let mut w = [0u8; 8];
                            w[..chunk.len()].copy_from_slice(chunk);
                            x = mix(x, u64::from_le_bytes(w));
                        }
                        mix(*h, x)
                    } else {
                        mix(*h, 0x6e75_6c6c) ^ 1
                    };
                }
            }
        }
    }
}

impl HashedKeys {
    /// The group whose key (in `keys`) equals row `r` of `cols`, whose hash is `h`.
    #[inline]
    pub fn find(&self, h: u64, keys: &[ColumnBuilder], cols: &[Column], r: usize) -> Option<u32> {
        let mut g = *self.first.get(&h)?;
        while g != END {
            if keys.iter().zip(cols).all(|(k, c)| k.same_key(g as usize, c, r)) {
                return Some(g);
            }
            g = self.next[g as usize];
        }
        None
    }

    /// Records group `g` (the next group number) with key hash `h`.
    pub fn insert(&mut self, h: u64, g: u32) {
        debug_assert_eq!(g as usize, self.next.len());
        let older = self.first.insert(h, g).unwrap_or(END);
        self.next.push(older);
    }

    pub fn reserve(&mut self, groups: usize) {
        self.first.reserve(groups);
        self.next.reserve(groups);
    }

    pub fn memory_bytes(&self) -> usize {
        self.first.capacity() * 12 + self.next.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use crate::column::Batch;
    use crate::keys::encode_row;
    use crate::ops::agg::GroupTable;
    use darwin_common::{DataType, Value};
    use std::collections::HashMap;

    /// Random multi-column keys (doubles with -0.0/NaN, strings, integers, NULLs) group exactly
    /// as the byte encoding groups them, in first-seen order, across batches.
    #[test]
    fn groups_like_the_byte_encoding() {
        let mut next = crate::testing::xorshift(0x1234_5678_9abc_def1u64);
        let mut rnd = move |n: u64| next() % n;
        let types = [DataType::Double, DataType::Varchar, DataType::Int];
        for _ in 0..30 {
            let mut table = GroupTable::new(&types, &[]);
            let mut want: HashMap<Vec<u8>, usize> = HashMap::new();
            let mut order: Vec<Vec<u8>> = Vec::new();
            for _ in 0..1 + rnd(5) {
                let rows: Vec<Vec<Value>> = (0..rnd(300))
                    .map(|_| {
                        let d = match rnd(8) {
                            0 => Value::Null,
                            1 => Value::Double(-0.0),
                            2 => Value::Double(0.0),
                            3 => Value::Double(f64::NAN),
                            _ => Value::Double(rnd(4) as f64 / 2.0),
                        };
                        let s = match rnd(6) {
                            0 => Value::Null,
                            1 => Value::Str(String::new()),
                            _ => Value::Str("ab".repeat(rnd(6) as usize)),
                        };
                        let i = if rnd(9) == 0 { Value::Null } else { Value::Int(rnd(3) as i32 - 1) };
                        vec![d, s, i]
                    })
                    .collect();
                let batch = Batch::from_rows(&rows, &types);
                let picked: Vec<u32> = (0..rows.len() as u32).filter(|_| rnd(4) != 0).collect();
                table.update(&batch, &batch.columns, &picked).expect("no aggregates to fail");
                for &r in &picked {
                    let mut key = Vec::new();
                    encode_row(&batch.columns, r as usize, &mut key);
                    if !want.contains_key(&key) {
                        want.insert(key.clone(), order.len());
                        order.push(key);
                    }
                }
            }
            assert_eq!(table.groups(), order.len());
            let (keys, _) = table.finish();
            for (g, key) in order.iter().enumerate() {
                let mut got = Vec::new();
                encode_row(&keys, g, &mut got);
                assert_eq!(&got, key, "group {g}");
            }
        }
    }
}
