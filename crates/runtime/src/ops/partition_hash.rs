//! The exchange's partitioning: which worker a row's keys belong to. Keys are hashed as a group
//! table hashes them (`darwin_columnar::row_hash::hash_rows`: one multiply per integer, strings a word at a
//! time), then mixed once more, and the top bits of that pick the worker, so the keys a worker
//! gets are not alike in the bits its own tables place them by. Which worker holds a key is part
//! of what a checkpoint means (each worker restores its own keys): a change here changes
//! `checkpoint::store::FORMAT_VERSION`.

use darwin_columnar::column::Column;
use darwin_columnar::row_hash::hash_all_rows;

/// Sets `out[i]` to the hash of row `i`'s key columns (`worker_of` picks its worker).
pub fn hash_columns(cols: &[&Column], rows: usize, out: &mut Vec<u64>) {
    hash_all_rows(cols, rows, out);
}

/// The worker of a key hash among `n`: the top 32 bits of the mixed hash scaled to `n` (a
/// multiply, not a division; a 64-bit division per row was a third of the exchange's time on
/// Nexmark q8).
#[inline(always)]
pub fn worker_of(h: u64, n: u64) -> usize {
    let x = (h ^ (h >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (((x >> 32) * n) >> 32) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use darwin_columnar::column::{Batch, ColumnData};
    use darwin_common::{DataType, Value};

    fn workers(b: &Batch, n: u64) -> Vec<usize> {
        let cols: Vec<&Column> = b.columns.iter().collect();
        let mut h = Vec::new();
        hash_columns(&cols, b.num_rows, &mut h);
        h.iter().map(|h| worker_of(*h, n)).collect()
    }

    /// Small integers, window starts (multiples of 10 s in ms), strings and pairs of them spread
    /// evenly over 2, 3 and 4 workers.
    #[test]
    fn keys_spread_over_the_workers() {
        let keys: Vec<Vec<Vec<Value>>> = vec![
            (0..3000).map(|k| vec![Value::BigInt(k)]).collect(),
            (0..3000).map(|k| vec![Value::Timestamp(1_672_531_200_000 + 10_000 * k)]).collect(),
            (0..3000).map(|k| vec![Value::Str(format!("person {k}"))]).collect(),
            (0..3000).map(|k| vec![Value::BigInt(k / 10), Value::Timestamp(10_000 * (k % 10))]).collect(),
        ];
        for rows in keys {
            let types: Vec<DataType> = rows[0].iter().map(|v| v.data_type().expect("not NULL")).collect();
            let b = Batch::from_rows(&rows, &types);
            for n in 2..=4u64 {
                let mut counts = vec![0usize; n as usize];
                workers(&b, n).into_iter().for_each(|w| counts[w] += 1);
                let fair = rows.len() / n as usize;
                assert!(
                    counts.iter().all(|c| c * 10 > fair * 9 && c * 10 < fair * 11),
                    "{types:?} over {n}: {counts:?}"
                );
            }
        }
    }

    /// A row goes to the same worker whatever else is in its batch, wherever it is in it and
    /// however its column is held (with or without a validity, shared), and keys that group
    /// together go together: NULLs, -0.0 and 0.0, every NaN.
    #[test]
    fn equal_keys_go_to_one_worker() {
        let mut rnd = darwin_common::xorshift(0x2545_f491_4f6c_dd1d);
        let types = [DataType::BigInt, DataType::Int, DataType::Boolean, DataType::Double, DataType::Varchar];
        let value = |ty: DataType, r: u64| -> Value {
            if r.is_multiple_of(7) {
                return Value::Null;
            }
            let x = r >> 8;
            match ty {
                DataType::BigInt => Value::BigInt([0, 1, -1, i64::MIN, i64::MAX, 255, x as i64][(r % 7) as usize]),
                DataType::Int => Value::Int(x as i32),
                DataType::Boolean => Value::Bool(x.is_multiple_of(2)),
                DataType::Double => {
                    Value::Double([0.0, -0.0, f64::NAN, -f64::NAN, 1.5, 1e300, x as f64][(r % 7) as usize])
                }
                _ => Value::Str("é0123456789abcdefghij".chars().take((x % 20) as usize).collect()),
            }
        };
        for width in 1..=3 {
            let tys: Vec<DataType> = (0..width).map(|_| types[(rnd() % types.len() as u64) as usize]).collect();
            let rows: Vec<Vec<Value>> = (0..200).map(|_| tys.iter().map(|t| value(*t, rnd())).collect()).collect();
            let mut b = Batch::from_rows(&rows, &tys);
            let together = workers(&b, 3);
            for (i, row) in rows.iter().enumerate() {
                let alone = Batch::from_rows(std::slice::from_ref(row), &tys);
                assert_eq!(workers(&alone, 3)[0], together[i], "{tys:?} row {i}: {row:?}");
                // The same key normalised: -0.0 as 0.0, any NaN as the canonical one.
                let norm: Vec<Value> = row
                    .iter()
                    .map(|v| match v {
                        Value::Double(d) if *d == 0.0 => Value::Double(0.0),
                        Value::Double(d) if d.is_nan() => Value::Double(f64::NAN),
                        v => v.clone(),
                    })
                    .collect();
                assert_eq!(workers(&Batch::from_rows(&[norm], &tys), 3)[0], together[i], "{row:?}");
            }
            // Every validity made explicit, and the buffers shared.
            for c in &mut b.columns {
                if c.validity.is_none() {
                    c.validity = Some(vec![true; c.len()]);
                }
                if let ColumnData::Str(s) = &mut c.data {
                    let _ = s.share();
                }
            }
            b.share();
            assert_eq!(workers(&b, 3), together, "{tys:?}");
        }
    }
}
