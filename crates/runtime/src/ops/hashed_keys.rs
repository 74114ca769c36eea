//! Group keys of any types (several columns, strings, doubles) → group numbers, without a copy
//! of each key on the heap: an open-addressing table of 8-byte slots, each the key hash's upper
//! half (the tag) and the group, equality checked against the key values the group table keeps
//! anyway in its key columns. A slot's position is the top bits of the hash, which the tag holds,
//! so growing the table and restoring it from a checkpoint never hash or compare a key again.

use crate::column::{Column, ColumnBuilder, ColumnData};

const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

#[derive(Debug, Default)]
pub struct HashedKeys {
    /// Linear probing; 0 is empty, else `tag << 32 | (group + 1)`.
    slots: Vec<u64>,
    /// `slots.len() == 1 << bits` (or 0 before the first insert).
    bits: u32,
    groups: usize,
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

/// Key hashes of groups `range` into the vector (cleared first).
pub type HashGroups<'a> = dyn Fn(std::ops::Range<usize>, &mut Vec<u64>) + 'a;

/// Groups hashed per chunk: a restore never holds a hash for every group at once (8 bytes a
/// group of fresh memory, which costs more to touch than hashing twice).
const CHUNK: usize = 1 << 16;

/// The slot values (`tag << 32 | group + 1`) of `groups` groups, ordered by the top bits of
/// their home slot in a table of `1 << bits` slots (a counting sort), so that inserting them
/// writes the table front to back: a restored table of millions of groups is far larger than
/// the caches, and inserting in group order would miss on nearly every write.
fn by_home(groups: usize, bits: u32, hash: &HashGroups) -> Vec<u64> {
    let slot = |g: usize, h: u64| (h >> 32) << 32 | (g as u64 + 1);
    let mut hashes = Vec::with_capacity(CHUNK.min(groups));
    let mut chunks = |f: &mut dyn FnMut(usize, u64)| {
        for start in (0..groups).step_by(CHUNK) {
            hash(start..(start + CHUNK).min(groups), &mut hashes);
            hashes.iter().enumerate().for_each(|(i, &h)| f(start + i, h));
        }
    };
    // Parts of at most 2^15 slots (256 KiB): each part's writes stay in the core's cache.
    let part_bits = bits.saturating_sub(15).min(16);
    let mut out = crate::memory::vec_with_capacity(groups);
    if part_bits == 0 {
        chunks(&mut |g, h| out.push(slot(g, h)));
        return out;
    }
    let part = |h: u64| (h >> (64 - part_bits)) as usize;
    let mut next = vec![0usize; (1 << part_bits) + 1];
    chunks(&mut |_, h| next[part(h) + 1] += 1);
    for i in 1..next.len() {
        next[i] += next[i - 1];
    }
    out.resize(groups, 0);
    chunks(&mut |g, h| {
        let p = part(h);
        out[next[p]] = slot(g, h);
        next[p] += 1;
    });
    out
}

impl HashedKeys {
    /// The slot where probing for `tag` starts: the tag's top `bits` bits (multiplicative
    /// hashing leaves its best bits on top).
    #[inline]
    fn home(&self, tag: u64) -> usize {
        if self.bits == 0 {
            0
        } else {
            (tag >> (32 - self.bits)) as usize
        }
    }

    /// The group whose key (in `keys`) equals row `r` of `cols`, whose hash is `h`.
    #[inline]
    pub fn find(&self, h: u64, keys: &[ColumnBuilder], cols: &[Column], r: usize) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let (tag, mask) = (h >> 32, self.slots.len() - 1);
        let mut i = self.home(tag);
        loop {
            let s = self.slots[i];
            if s == 0 {
                return None;
            }
            let g = (s as u32).wrapping_sub(1);
            if s >> 32 == tag && keys.iter().zip(cols).all(|(k, c)| k.same_key(g as usize, c, r)) {
                return Some(g);
            }
            i = (i + 1) & mask;
        }
    }

    /// Records group `g` (the next group number) with key hash `h`; the key has no group yet.
    pub fn insert(&mut self, h: u64, g: u32) {
        debug_assert_eq!(g as usize, self.groups);
        self.reserve(self.groups + 1);
        self.place(h >> 32, g);
        self.groups += 1;
    }

    /// Puts group `g` with `tag` into the first free slot from its home.
    #[inline]
    fn place(&mut self, tag: u64, g: u32) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = self.home(tag);
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = tag << 32 | (u64::from(g) + 1);
        i
    }

    /// Indexes groups `0..groups` of a restored table (the index starts empty), whose key
    /// hashes `hash` computes. `same(a, b)` compares two groups' keys; it is asked only when
    /// two groups' tags are equal, so a checkpoint holding one key twice is still caught.
    pub fn restore(
        &mut self,
        groups: usize,
        hash: &HashGroups,
        same: impl Fn(u32, u32) -> bool,
    ) -> Result<(), (u32, u32)> {
        debug_assert_eq!(self.groups, 0);
        self.reserve(groups);
        let mask = self.slots.len().wrapping_sub(1);
        for slot in by_home(groups, self.bits, hash) {
            let (tag, g) = (slot >> 32, (slot as u32).wrapping_sub(1) as usize);
            let mut i = self.home(tag);
            loop {
                let s = self.slots[i];
                if s == 0 {
                    break;
                }
                let other = (s as u32).wrapping_sub(1);
                if s >> 32 == tag && same(other, g as u32) {
                    return Err((other, g as u32));
                }
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
        self.groups = groups;
        Ok(())
    }

    /// Makes room for `groups` groups at a load of at most 3/4.
    pub fn reserve(&mut self, groups: usize) {
        if groups * 4 <= self.slots.len() * 3 {
            return;
        }
        let mut bits = self.bits.max(3);
        while groups * 4 > (3usize << bits) {
            bits += 1;
        }
        assert!(bits <= 32, "more than 2^32 slots of group keys");
        let old = std::mem::replace(&mut self.slots, crate::memory::vec_filled(0, 1 << bits));
        self.bits = bits;
        for s in old.into_iter().filter(|s| *s != 0) {
            self.place(s >> 32, (s as u32) - 1);
        }
    }

    pub fn memory_bytes(&self) -> usize {
        self.slots.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use crate::column::Batch;
    use crate::keys::encode_row;
    use crate::ops::group_table::GroupTable;
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

    /// A table restored from its snapshot finds every old group under its old number and goes
    /// on numbering new ones; a snapshot holding one key twice is refused. Both index kinds.
    #[test]
    fn restored_tables_find_their_groups_and_refuse_duplicates() {
        use crate::checkpoint::codec::{Dec, Enc};
        let mut rnd = crate::testing::xorshift(0x0bad_cafe_1234_5678u64);
        for types in [vec![DataType::BigInt, DataType::Varchar], vec![DataType::BigInt]] {
            for round in 0..40 {
                let key = |rnd: &mut dyn FnMut() -> u64| {
                    let i = if rnd().is_multiple_of(20) {
                        Value::Null
                    } else {
                        Value::BigInt((rnd() % 300_000) as i64 - 50)
                    };
                    let s = Value::Str(format!("k{}", rnd() % 3));
                    if types.len() == 2 {
                        vec![i, s]
                    } else {
                        vec![i]
                    }
                };
                // The last rounds are large enough for the restore's ordered insertion.
                let n = if round >= 38 { 120_000 } else { rnd() % 4000 };
                let rows: Vec<Vec<Value>> = (0..n).map(|_| key(&mut rnd)).collect();
                let batch = Batch::from_rows(&rows, &types);
                let all: Vec<u32> = (0..rows.len() as u32).collect();
                let mut table = GroupTable::new(&types, &[]);
                table.update(&batch, &batch.columns, &all).expect("no aggregates");
                let mut e = Enc::default();
                table.snapshot(&mut e);
                let mut back = GroupTable::new(&types, &[]);
                back.restore(&mut Dec::new(&e.buf, "t")).expect("restores");
                assert_eq!(back.groups(), table.groups());
                // Old rows land in their old groups (no new group), new rows get new numbers.
                let more: Vec<Vec<Value>> = (0..500).map(|_| key(&mut rnd)).collect();
                let both = Batch::from_rows(&[rows.clone(), more].concat(), &types);
                let every: Vec<u32> = (0..both.num_rows as u32).collect();
                table.update(&both, &both.columns, &every).expect("no aggregates");
                back.update(&both, &both.columns, &every).expect("no aggregates");
                assert_eq!(back.groups(), table.groups());
                assert_eq!(back.finish(), table.finish(), "round {round}");
            }
            // The same key twice: the snapshot of two groups whose second key is the first's.
            let row = vec![Value::BigInt(7), Value::Str("a".into())][..types.len()].to_vec();
            let two = Batch::from_rows(&[row.clone(), row], &types);
            let mut twice = Enc::default();
            twice.len(2);
            twice.len(types.len());
            two.columns.iter().for_each(|c| twice.column(c));
            twice.len(0);
            let err = GroupTable::new(&types, &[]).restore(&mut Dec::new(&twice.buf, "t")).unwrap_err();
            assert!(err.to_string().contains("same group twice"), "{err}");
        }
    }
}
