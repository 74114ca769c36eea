//! Hashes of rows of key columns, as the group tables and the exchanges hash them: one
//! multiply per integer, strings a word at a time. Values that group together hash alike
//! (NULLs, -0.0 and 0.0, every NaN), so a key's hash is the same on every worker and in every
//! table, and a hash table never compares keys whose hashes differ.

use crate::column::{Column, ColumnData};

/// The multiplier of the row hash (the golden ratio's 64 bits).
pub const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// Folds `x` into the running hash `h` (one rotate, xor and multiply).
#[inline]
pub fn mix(h: u64, x: u64) -> u64 {
    (h.rotate_left(5) ^ x).wrapping_mul(SEED)
}

/// Hashes of the key columns at `rows` into `out`, column by column. Values that group together
/// hash alike: NULLs, -0.0 and 0.0, every NaN.
pub fn hash_rows(cols: &[Column], rows: &[u32], out: &mut Vec<u64>) {
    hash_into(cols.iter(), rows.len(), |k| rows[k] as usize, out);
}

/// [`hash_rows`] of every row of columns held by reference (the exchange's keys).
pub fn hash_all_rows(cols: &[&Column], n: usize, out: &mut Vec<u64>) {
    hash_into(cols.iter().copied(), n, |k| k, out);
}

/// The hash of row `row(k)` into `out[k]` for `k < n`.
#[inline(always)]
fn hash_into<'a>(
    cols: impl Iterator<Item = &'a Column>,
    n: usize,
    row: impl Fn(usize) -> usize + Copy,
    out: &mut Vec<u64>,
) {
    out.clear();
    out.resize(n, 0);
    for c in cols {
        macro_rules! each {
            ($v:expr, $f:expr) => {
                for (k, h) in out.iter_mut().enumerate() {
                    let r = row(k);
                    *h = if c.is_valid(r) { mix(*h, $f(&$v[r])) } else { mix(*h, 0x6e75_6c6c) ^ 1 };
                }
            };
        }
        match &c.data {
            ColumnData::Bool(v) => each!(v, |x: &bool| *x as u64 + 2),
            ColumnData::I32(v) => each!(v, |x: &i32| *x as i64 as u64),
            ColumnData::I64(v) => each!(v, |x: &i64| *x as u64),
            ColumnData::I128(v) => each!(v, |x: &i128| mix(*x as u64, (*x >> 64) as u64)),
            ColumnData::F64(v) => each!(v, |x: &f64| crate::keys::key_bits(*x)),
            ColumnData::Str(s) => {
                for (k, h) in out.iter_mut().enumerate() {
                    let r = row(k);
                    *h = if c.is_valid(r) {
                        let mut x = s.get(r).len() as u64;
                        s.for_each_word(r, |w, _| x = mix(x, w));
                        mix(*h, x)
                    } else {
                        mix(*h, 0x6e75_6c6c) ^ 1
                    };
                }
            }
        }
    }
}
