//! The exchange's partitioning hash: which worker a row's keys belong to. It is defined on the
//! bytes `keys::encode_row` writes (FxHash-style mixing of 8-byte chunks), and computed column
//! by column from the values without writing those bytes: rows go to the same workers as with
//! the byte-wise definition, which checkpoints depend on (each worker restores its own keys).

use crate::column::{Column, ColumnData};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// The hash of an encoded key: cheap, and good enough to spread keys over workers. This is the
/// definition; [`hash_columns`] computes the same value without the encoding.
#[cfg_attr(not(test), allow(dead_code))]
pub fn hash_bytes(b: &[u8]) -> u64 {
    let mut s = Partial::default();
    for chunk in b.chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        s.mix(u64::from_le_bytes(w));
    }
    s.finish()
}

/// `hash_bytes` part way through a row's encoding: the hash of the whole chunks so far, and the
/// `fill` bytes of the current chunk (little-endian in `w`).
#[derive(Clone, Copy, Default)]
pub struct Partial {
    h: u64,
    w: u64,
    fill: u32,
}

impl Partial {
    #[inline(always)]
    fn mix(&mut self, chunk: u64) {
        self.h = (self.h.rotate_left(5) ^ chunk).wrapping_mul(SEED);
    }

    /// Appends the low `n` (1..=8) bytes of `x`; its other bytes must be zero.
    #[inline(always)]
    fn feed(&mut self, x: u64, n: u32) {
        self.w |= x << (8 * self.fill);
        let total = self.fill + n;
        if total >= 8 {
            let w = self.w;
            self.mix(w);
            // The bytes of `x` that did not fit in the chunk just mixed.
            self.w = if self.fill == 0 { 0 } else { x >> (8 * (8 - self.fill)) };
            self.fill = total - 8;
        } else {
            self.fill = total;
        }
    }

    fn feed_bytes(&mut self, b: &[u8]) {
        for chunk in b.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.feed(u64::from_le_bytes(w), chunk.len() as u32);
        }
    }

    #[inline(always)]
    pub fn finish(mut self) -> u64 {
        if self.fill > 0 {
            let w = self.w;
            self.mix(w);
        }
        self.h ^ (self.h >> 29)
    }
}

/// Sets `out[i]` to the partial hash of row `i`'s key columns, as `encode_row` would encode them
/// (a validity byte, then the value); `finish` each to get `hash_bytes` of the encoding.
pub fn hash_columns(cols: &[&Column], rows: usize, out: &mut Vec<Partial>) {
    out.clear();
    out.resize(rows, Partial::default());
    for c in cols {
        // Typed loops: one match per column, not per row.
        macro_rules! each {
            (|$i:ident, $s:ident| $valid:expr) => {
                match &c.validity {
                    None => out.iter_mut().enumerate().for_each(|($i, $s)| $valid),
                    Some(v) => {
                        out.iter_mut().enumerate().for_each(|($i, $s)| if v[$i] { $valid } else { $s.feed(0, 1) })
                    }
                }
            };
        }
        match &c.data {
            ColumnData::Bool(v) => each!(|i, s| s.feed(1 | (v[i] as u64) << 8, 2)),
            ColumnData::I32(v) => each!(|i, s| s.feed(1 | (v[i] as u32 as u64) << 8, 5)),
            ColumnData::I64(v) => each!(|i, s| {
                let x = v[i] as u64;
                s.feed(1 | x << 8, 8);
                s.feed(x >> 56, 1);
            }),
            ColumnData::F64(v) => each!(|i, s| {
                let x = crate::keys::key_bits(v[i]);
                s.feed(1 | x << 8, 8);
                s.feed(x >> 56, 1);
            }),
            ColumnData::I128(v) => each!(|i, s| {
                let x = v[i] as u128;
                s.feed(1, 1);
                s.feed(x as u64, 8);
                s.feed((x >> 64) as u64, 8);
            }),
            ColumnData::Str(sv) => each!(|i, s| {
                let b = sv.get(i).as_bytes();
                s.feed(1 | (b.len() as u32 as u64) << 8, 5);
                s.feed_bytes(b);
            }),
        }
    }
}

/// The worker of a finished hash among `n`: `h % n`, by a mask when `n` is a power of two (the
/// same value; a 64-bit division per row was a third of the exchange's time on q8).
#[inline(always)]
pub fn worker_of(h: u64, n: u64) -> usize {
    if n.is_power_of_two() {
        (h & (n - 1)) as usize
    } else {
        (h % n) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::Batch;
    use darwin_common::{DataType, Value};

    #[test]
    fn hash_spreads_small_keys() {
        let mut counts = [0usize; 2];
        for k in 0u64..1000 {
            counts[worker_of(hash_bytes(&k.to_le_bytes()), 2)] += 1;
        }
        assert!(counts[0] > 400 && counts[1] > 400, "{counts:?}");
    }

    /// The column-wise hash equals the hash of the encoded bytes for every type, NULLs,
    /// extremes, strings of every length around the chunk size, and several columns (so values
    /// start at every offset within a chunk).
    #[test]
    fn column_hash_equals_the_hash_of_the_encoding() {
        let mut rnd = crate::testing::xorshift(0x2545_f491_4f6c_dd1d);
        let types = [
            DataType::BigInt,
            DataType::Int,
            DataType::Boolean,
            DataType::Double,
            DataType::Varchar,
            DataType::Decimal { precision: 23, scale: 3 },
            DataType::Timestamp,
        ];
        let value = |ty: DataType, r: u64| -> Value {
            if r.is_multiple_of(7) {
                return Value::Null;
            }
            let x = r >> 8;
            match ty {
                DataType::BigInt => Value::BigInt([0, 1, -1, i64::MIN, i64::MAX, 255, x as i64][(r % 7) as usize]),
                DataType::Timestamp => Value::Timestamp(x as i64),
                DataType::Int => Value::Int(x as i32),
                DataType::Boolean => Value::Bool(x.is_multiple_of(2)),
                DataType::Double => Value::Double([0.0, -0.0, f64::NAN, 1.5, -2.25, 1e300, x as f64][(r % 7) as usize]),
                DataType::Varchar => Value::Str("é0123456789abcdefghij".chars().take((x % 20) as usize).collect()),
                _ => Value::Decimal(x as i128 * if r.is_multiple_of(2) { -1 } else { 1 << 70 }, 3),
            }
        };
        for width in 1..=4 {
            for _ in 0..20 {
                let tys: Vec<DataType> = (0..width).map(|_| types[(rnd() % types.len() as u64) as usize]).collect();
                let rows: Vec<Vec<Value>> = (0..50).map(|_| tys.iter().map(|t| value(*t, rnd())).collect()).collect();
                let b = Batch::from_rows(&rows, &tys);
                let cols: Vec<&Column> = b.columns.iter().collect();
                let mut partial = Vec::new();
                hash_columns(&cols, b.num_rows, &mut partial);
                for (i, p) in partial.iter().enumerate() {
                    let mut bytes = Vec::new();
                    crate::keys::encode_row(&b.columns, i, &mut bytes);
                    assert_eq!(p.finish(), hash_bytes(&bytes), "{tys:?} row {i}: {:?}", rows[i]);
                }
            }
        }
    }

    #[test]
    fn the_mask_is_the_remainder() {
        let mut rnd = crate::testing::xorshift(7);
        for n in 1..=9u64 {
            for _ in 0..100 {
                let h = rnd();
                assert_eq!(worker_of(h, n), (h % n) as usize);
            }
        }
    }
}
