//! Group keys of any types (several columns, strings, doubles) → group numbers, without a copy
//! of each key on the heap: an open-addressing table of 8-byte slots, each the key hash's upper
//! half (the tag) and the group, equality checked against the key values the group table keeps
//! anyway in its key columns. A slot's position is the top bits of the hash, which the tag holds,
//! so growing the table never hashes or compares a key again. A checkpoint holds the slots in
//! probe order, so a restore writes the table front to back in one pass instead of rebuilding it.

use crate::codec::Enc;
use darwin_columnar::column::{Column, ColumnBuilder};

use darwin_columnar::row_hash::SEED;

/// Hash index from group keys of any types to group numbers: slots hold the hash tag and the group,
/// and keys are compared against the group table's key columns.
#[derive(Debug, Default)]
pub struct HashedKeys {
    /// Linear probing; 0 is empty, else `tag << 32 | (group + 1)`.
    slots: Vec<u64>,
    /// `slots.len() == 1 << bits` (or 0 before the first insert).
    bits: u32,
    groups: usize,
}

/// Key hashes of groups `range` into the vector (cleared first).
pub type HashGroups<'a> = dyn Fn(std::ops::Range<usize>, &mut Vec<u64>) + 'a;

/// Groups hashed per chunk on restore: never a hash for every group at once (8 bytes a group of
/// fresh memory, which costs more to touch than the hashing).
const CHUNK: usize = 1 << 16;

/// The most groups a table is sized for ahead of them (`GroupTable::reserve`).
pub const MAX_RESERVE: usize = 1 << 20;

/// The table size (log2 of its slots) for `groups` groups at a load of at most 3/4: a live
/// table grows to this, or is sized ahead up to `MAX_RESERVE`, and a restore checks a
/// checkpoint's size against both.
fn bits_for(groups: usize) -> u32 {
    if groups == 0 {
        return 0;
    }
    let mut bits = 3;
    while groups * 4 > (3usize << bits) {
        bits += 1;
    }
    bits
}

/// What a restored key index got wrong.
#[derive(Debug, PartialEq)]
pub enum IndexDamage {
    /// Two groups hold the same key.
    Twice(u32, u32),
    /// The index does not fit the groups or their keys.
    Invalid(String),
}

/// An order-independent fingerprint term of one group and its tag: the sum over the index's
/// slots must equal the sum over the key columns' hashes, so every group is in the index once,
/// under its own key's tag (a wrong, missing or repeated entry changes the sum).
#[inline]
fn term(g: u32, tag: u64) -> u64 {
    let mut x = (u64::from(g) << 32 | (tag & 0xffff_ffff)).wrapping_add(SEED);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Writes the full slots of a table in probe order into `out` (8 bytes each): one sort by
/// (tag rotated to start at `start`, group). Every entry sits at or after its home slot and no
/// run of full slots crosses `start` (it follows an empty slot), so later runs hold larger
/// rotated tags and only entries within a run can be out of order: the slots are compacted in
/// scan order without a branch, then an insertion sort fixes the few entries out of order.
fn probe_order(mut slots: Vec<u64>, start: usize, start_tag: u32, out: &mut [u8]) {
    let key = |s: u64| u64::from(((s >> 32) as u32).wrapping_sub(start_tag)) << 32 | (s & 0xffff_ffff);
    slots.rotate_left(start);
    let mut w = 0;
    for k in 0..slots.len() {
        let s = slots[k];
        slots[w] = s;
        w += usize::from(s != 0);
    }
    let full = &mut slots[..w];
    for i in 1..w {
        let s = full[i];
        if key(full[i - 1]) > key(s) {
            let mut j = i;
            while j > 0 && key(full[j - 1]) > key(s) {
                full[j] = full[j - 1];
                j -= 1;
            }
            full[j] = s;
        }
    }
    debug_assert_eq!(out.len(), w * 8);
    for (o, s) in out.chunks_exact_mut(8).zip(full.iter()) {
        o.copy_from_slice(&s.to_le_bytes());
    }
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

    /// Encodes the index for [`HashedKeys::restore`]: the table size, a start slot that follows
    /// an empty one (so no run of full slots wraps past the scan's end), and the slots in probe
    /// order from there: by home slot, then tag (each run of full slots sorted). Placing them in
    /// this order, each at its home or just after the one before, rebuilds a valid table with
    /// sequential writes, and equal tags are neighbours, which the restore compares.
    pub fn snapshot(&self, e: &mut Enc) {
        e.u64(u64::from(self.bits));
        if self.groups == 0 {
            e.u64(0);
            e.len(0);
            return;
        }
        let mask = self.slots.len() - 1;
        let empty = self.slots.iter().position(|s| *s == 0).expect("a table at most 3/4 full has an empty slot");
        let start = (empty + 1) & mask;
        e.u64(start as u64);
        e.len(self.groups);
        let start_tag = ((start as u64) << (32 - self.bits)) as u32;
        // The worker only copies the slots (a memory copy); ordering them is left to the
        // checkpoint coordinator's thread, off the worker's path.
        let slots = self.slots.clone();
        let groups = self.groups;
        e.later(groups * 8, Box::new(move |out| probe_order(slots, start, start_tag, out)));
    }

    /// Restores the index of a table whose `groups` key columns are restored: `bits`, `start`
    /// and the slots (little-endian, `groups` of them) as [`HashedKeys::snapshot`] wrote them.
    /// `hash` hashes the restored keys, `same(a, b)` compares two groups' keys; every check a
    /// rebuild would make is made (each group once, under its key's tag; no key twice), in one
    /// sequential pass over the slots and one over the keys.
    pub fn restore(
        &mut self,
        groups: usize,
        (bits, start): (u64, u64),
        stored: &[u8],
        hash: &HashGroups,
        same: impl Fn(u32, u32) -> bool,
    ) -> Result<(), IndexDamage> {
        debug_assert_eq!(self.groups, 0);
        let invalid = |m: String| Err(IndexDamage::Invalid(m));
        // A live table is at least as large as its groups need, and may be sized ahead for up
        // to `MAX_RESERVE` groups (`reserve`).
        let least = u64::from(bits_for(groups));
        if bits < least || bits > least.max(u64::from(bits_for(MAX_RESERVE))) {
            return invalid(format!("a key index of 2^{bits} slots for {groups} groups"));
        }
        if stored.len() != groups * 8 {
            return invalid(format!("{} bytes of key index for {groups} groups", stored.len()));
        }
        if groups == 0 {
            return Ok(());
        }
        let (size, bits) = (1usize << bits, bits as u32);
        if start >= size as u64 {
            return invalid(format!("a key index starting at slot {start} of {size}"));
        }
        let start = start as usize;
        let start_tag = ((start as u64) << (32 - bits)) as u32;
        // Filled in slot order (from `start` on, then the few that wrapped around to the front):
        // writes run front to back through a table far larger than the caches.
        let mut slots = darwin_columnar::memory::vec_filled(0u64, size);
        let (mut next, mut last, mut fingerprint) = (0usize, None, 0u64);
        let mut equal_tags: Vec<u32> = Vec::new();
        for b in stored.chunks_exact(8) {
            let s = u64::from_le_bytes(b.try_into().expect("chunks of 8 bytes"));
            let g = (s as u32).wrapping_sub(1);
            if g as usize >= groups {
                return invalid(format!("a key index entry for group {g} of {groups}"));
            }
            let tag = ((s >> 32) as u32).wrapping_sub(start_tag);
            match last {
                Some(t) if tag < t => return invalid("key index entries out of order".into()),
                Some(t) if tag == t => {
                    if let Some(&other) = equal_tags.iter().find(|&&o| same(o, g)) {
                        return Err(IndexDamage::Twice(other, g));
                    }
                }
                _ => equal_tags.clear(),
            }
            equal_tags.push(g);
            last = Some(tag);
            let pos = next.max((tag >> (32 - bits)) as usize);
            if pos >= size {
                return invalid("the key index overflows its table".into());
            }
            slots[(pos + start) & (size - 1)] = s;
            next = pos + 1;
            fingerprint = fingerprint.wrapping_add(term(g, s >> 32));
        }
        let mut hashes = Vec::with_capacity(CHUNK.min(groups));
        for first in (0..groups).step_by(CHUNK) {
            hash(first..(first + CHUNK).min(groups), &mut hashes);
            for (i, h) in hashes.iter().enumerate() {
                fingerprint = fingerprint.wrapping_sub(term((first + i) as u32, h >> 32));
            }
        }
        if fingerprint != 0 {
            return invalid("the key index does not match the key columns".into());
        }
        (self.slots, self.bits, self.groups) = (slots, bits, groups);
        Ok(())
    }

    /// Makes room for `groups` groups at a load of at most 3/4 (a restore accepts a table sized
    /// ahead for at most `MAX_RESERVE`).
    pub fn reserve(&mut self, groups: usize) {
        if groups * 4 <= self.slots.len() * 3 {
            return;
        }
        let bits = bits_for(groups).max(self.bits);
        assert!(bits <= 32, "more than 2^32 slots of group keys");
        let old = std::mem::replace(&mut self.slots, darwin_columnar::memory::vec_filled(0, 1 << bits));
        self.bits = bits;
        for s in old.into_iter().filter(|s| *s != 0) {
            self.place(s >> 32, (s as u32) - 1);
        }
    }

    /// Bytes held by the slots.
    pub fn memory_bytes(&self) -> usize {
        self.slots.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use crate::group_table::GroupTable;
    use crate::State;
    use darwin_columnar::column::Batch;
    use darwin_columnar::keys::encode_row;
    use darwin_common::{DataType, Value};
    use std::collections::HashMap;

    /// Random multi-column keys (doubles with -0.0/NaN, strings, integers, NULLs) group exactly
    /// as the byte encoding groups them, in first-seen order, across batches.
    #[test]
    fn groups_like_the_byte_encoding() {
        let mut next = darwin_common::xorshift(0x1234_5678_9abc_def1u64);
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
            let (keys, _) = table.finish().unwrap();
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
        use crate::codec::{Dec, Enc};
        let mut rnd = darwin_common::xorshift(0x0bad_cafe_1234_5678u64);
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
                // Some tables sized ahead, as a window's is for the groups of the one before.
                if round % 3 == 1 {
                    table.reserve((rnd() % 300_000) as usize);
                }
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
                assert_eq!(back.finish().unwrap(), table.finish().unwrap(), "round {round}");
            }
            // The same key twice: the snapshot of two groups whose second key is the first's.
            let row = vec![Value::BigInt(7), Value::Str("a".into())][..types.len()].to_vec();
            let two = Batch::from_rows(&[row.clone(), row], &types);
            let mut twice = Enc::default();
            twice.len(2);
            twice.len(types.len());
            two.columns.iter().for_each(|c| twice.column(c));
            if types.len() == 2 {
                // An index that holds both groups under their (equal) hash, as a table that
                // was never checked would hold them.
                let mut hashes = Vec::new();
                darwin_columnar::row_hash::hash_rows(&two.columns, &[0, 1], &mut hashes);
                let mut index = super::HashedKeys::default();
                index.insert(hashes[0], 0);
                index.insert(hashes[1], 1);
                index.snapshot(&mut twice);
            }
            twice.len(0);
            let err = GroupTable::new(&types, &[]).restore(&mut Dec::new(&twice.buf, "t")).unwrap_err();
            assert!(err.to_string().contains("same group twice"), "{err}");
        }
    }

    /// A damaged key index (entries out of order, a wrong group or tag, a wrong size) is
    /// refused with a message, never restored into a table that would lose or split groups.
    #[test]
    fn damaged_key_indexes_are_refused() {
        use super::{HashedKeys, IndexDamage};
        use crate::codec::{Dec, Enc};
        use darwin_columnar::column::Column;
        use darwin_columnar::row_hash::hash_rows;
        let mut rnd = darwin_common::xorshift(0x005e_ed0f_1de8_u64);
        let n = 5000;
        let keys: Vec<i64> = (0..n).map(|i| i * 7919 + 3).collect();
        let col = Column::new(darwin_columnar::column::ColumnData::I64(keys.clone().into()), None);
        let mut hashes = Vec::new();
        hash_rows(std::slice::from_ref(&col), &(0..n as u32).collect::<Vec<_>>(), &mut hashes);
        let mut index = HashedKeys::default();
        hashes.iter().enumerate().for_each(|(g, h)| index.insert(*h, g as u32));
        let mut e = Enc::default();
        index.snapshot(&mut e);
        let mut d = Dec::new(&e.buf, "index");
        let size = (d.u64().unwrap(), d.u64().unwrap());
        let len = d.len(8).unwrap();
        let stored = d.raw(len * 8).unwrap().to_vec();
        let hash = |r: std::ops::Range<usize>, out: &mut Vec<u64>| {
            out.clear();
            out.extend_from_slice(&hashes[r]);
        };
        let same = |a: u32, b: u32| keys[a as usize] == keys[b as usize];
        let restore =
            |size: (u64, u64), stored: &[u8]| HashedKeys::default().restore(n as usize, size, stored, &hash, same);
        assert_eq!(restore(size, &stored), Ok(()));
        let entry = |b: &[u8], i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
        let set = |b: &mut Vec<u8>, i: usize, v: u64| b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        for round in 0..200 {
            let mut bad = stored.clone();
            let i = (rnd() % n as u64) as usize;
            let j = (i + 1 + (rnd() % (n as u64 - 1)) as usize) % n as usize;
            let (a, b) = (entry(&bad, i), entry(&bad, j));
            let bad_size = match round % 6 {
                0 if a >> 32 != b >> 32 => {
                    set(&mut bad, i, b);
                    set(&mut bad, j, a);
                    size
                }
                0 | 1 => {
                    set(&mut bad, i, a & !0xffff_ffff | (b & 0xffff_ffff));
                    size
                }
                2 => {
                    set(&mut bad, i, a ^ 1 << (32 + rnd() % 32));
                    size
                }
                3 => {
                    set(&mut bad, i, a & !0xffff_ffff | (n as u64 + 1 + rnd() % 10));
                    size
                }
                // Too small for its groups, or larger than any table is sized ahead.
                4 if round % 12 == 4 => (size.0 - 1, size.1),
                4 => (u64::from(super::bits_for(super::MAX_RESERVE)) + 1, size.1),
                _ => {
                    bad.truncate(bad.len() - 8);
                    size
                }
            };
            match restore(bad_size, &bad) {
                Err(IndexDamage::Invalid(m)) => assert!(!m.is_empty()),
                other => panic!("round {round}: a damaged index gave {other:?}"),
            }
        }
    }
}
