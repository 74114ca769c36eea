//! Integer group keys → group numbers: direct-mapped arrays over the ranges of keys while they
//! are dense (campaign numbers, auction and person ids are), a hash map for keys outside them.
//! A lookup in an array is one bounds check and one load, where a hash probe costs a hash, a
//! control-byte match and a key compare. There are two arrays, so that two dense ranges far
//! apart (ids that restart, as a replayed recording's do at each loop; two id spaces in one
//! column) do not send one of them to the map.

use darwin_columnar::keys::FastMap;

const EMPTY: u32 = u32::MAX;

/// An array covers at most this many slots per group (and at least `MIN_SPAN` slots), so a
/// sparse key set stays in the map instead of costing memory.
const SLOTS_PER_GROUP: i128 = 8;
const MIN_SPAN: i128 = 1024;

/// One direct-mapped range of keys: the group of key `base + i` is `slots[i]` (or `EMPTY`).
#[derive(Debug, Default)]
struct Dense {
    base: i64,
    slots: Vec<u32>,
}

impl Dense {
    #[inline]
    fn slot(&self, k: i64) -> Option<usize> {
        let i = k.wrapping_sub(self.base) as u64;
        (i < self.slots.len() as u64).then_some(i as usize)
    }

    /// Widens the array to cover `k` (at least doubling it, so keys arriving in order cost
    /// amortised O(1)) if it stays within `limit` slots.
    fn widen(&mut self, k: i64, limit: i128) -> bool {
        let (base, len) = (self.base as i128, self.slots.len() as i128);
        let k = k as i128;
        let (lo, hi) = if len == 0 { (k, k + 1) } else { (base.min(k), (base + len).max(k + 1)) };
        let new_len = (hi - lo).max(2 * len).max(16);
        if new_len > limit {
            return false;
        }
        let new_base = if len > 0 && k < base { hi - new_len } else { lo };
        if new_base < i64::MIN as i128 || new_base + new_len > i64::MAX as i128 {
            return false;
        }
        let mut slots = vec![EMPTY; new_len as usize];
        if len > 0 {
            let offset = (base - new_base) as usize;
            slots[offset..offset + len as usize].copy_from_slice(&self.slots);
        }
        self.base = new_base as i64;
        self.slots = slots;
        true
    }
}

/// Invariant: a key's group is in the first array that covers the key, else in the map.
#[derive(Debug, Default)]
pub struct IntIndex {
    dense: [Dense; 2],
    map: FastMap<i64, u32>,
    null: Option<u32>,
    /// Groups the table is expected to reach (`reserve`): an array may span as much as for
    /// that many groups from the first key on, so a new window's first keys do not land in the
    /// map just because few groups exist yet.
    expected: usize,
}

impl IntIndex {
    /// The group of `key` (None: the NULL key), if it has one.
    #[inline]
    pub fn get(&self, key: Option<i64>) -> Option<u32> {
        let Some(k) = key else { return self.null };
        if let Some(i) = self.dense[0].slot(k) {
            let g = self.dense[0].slots[i];
            return (g != EMPTY).then_some(g);
        }
        self.get_beyond_first(k)
    }

    /// The second array's or the map's group of `k`, which the first array does not cover.
    #[inline]
    fn get_beyond_first(&self, k: i64) -> Option<u32> {
        if let Some(i) = self.dense[1].slot(k) {
            let g = self.dense[1].slots[i];
            return (g != EMPTY).then_some(g);
        }
        self.map.get(&k).copied()
    }

    /// Records that `key` (which has no group yet) is group `g`; `groups` groups exist with it.
    #[inline]
    pub fn insert(&mut self, key: Option<i64>, g: u32, groups: usize) {
        let Some(k) = key else {
            self.null = Some(g);
            return;
        };
        for d in &mut self.dense {
            if let Some(i) = d.slot(k) {
                d.slots[i] = g;
                return;
            }
        }
        self.insert_uncovered(k, g, groups);
    }

    /// A key no array covers: widens the first array or else the second to cover it if they
    /// stay dense enough, else the map takes it.
    #[cold]
    fn insert_uncovered(&mut self, k: i64, g: u32, groups: usize) {
        let limit = MIN_SPAN.max(SLOTS_PER_GROUP * groups.max(self.expected) as i128);
        let widened = (0..2).find(|&d| self.dense[d].widen(k, limit));
        match widened {
            Some(d) => {
                self.settle(d);
                // The first array covering the key holds it (the second may overlap the first).
                let d = (0..2).find(|&d| self.dense[d].slot(k).is_some()).expect("a widened array covers the key");
                let i = self.dense[d].slot(k).expect("covered");
                self.dense[d].slots[i] = g;
            }
            None => {
                self.map.insert(k, g);
            }
        }
    }

    /// After array `d` widened: moves the keys it now covers, and which no array before it
    /// does, out of the map and (for the first array) out of the second array.
    fn settle(&mut self, d: usize) {
        let first_covers =
            |dense: &[Dense; 2], k: i64, d: usize| (0..=d).find(|&e| dense[e].slot(k).is_some()) == Some(d);
        let dense = &self.dense;
        let moved: Vec<(i64, u32)> =
            self.map.iter().filter(|(k, _)| first_covers(dense, **k, d)).map(|(k, g)| (*k, *g)).collect();
        for (k, _) in &moved {
            self.map.remove(k);
        }
        let mut moved = moved;
        if d == 0 {
            let [first, second] = &mut self.dense;
            for (i, slot) in second.slots.iter_mut().enumerate() {
                let k = second.base.wrapping_add(i as i64);
                if *slot != EMPTY && first.slot(k).is_some() {
                    moved.push((k, std::mem::replace(slot, EMPTY)));
                }
            }
        }
        for (k, g) in moved {
            let i = self.dense[d].slot(k).expect("moved keys are covered");
            self.dense[d].slots[i] = g;
        }
    }

    /// Sizes the index for `groups` keys, like the last window's: an array may span as much as
    /// they need from the first key on, and the map has room for them (a window's keys are
    /// dense, and the arrays take them, or sparse, and the map does).
    pub fn reserve(&mut self, groups: usize) {
        self.expected = self.expected.max(groups);
        self.map.reserve(groups);
    }

    /// Approximate bytes held by the arrays and the map.
    pub fn memory_bytes(&self) -> usize {
        self.dense.iter().map(|d| d.slots.capacity() * 4).sum::<usize>() + self.map.capacity() * 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Random key streams (dense runs, sparse outliers, both directions, extremes, NULLs), with
    /// and without a reserved size, give the same groups as a plain hash map.
    #[test]
    fn agrees_with_a_hash_map() {
        let mut rnd = darwin_common::xorshift(0x2545_f491_4f6c_dd1du64);
        for round in 0..200 {
            let (mut index, mut want) = (IntIndex::default(), HashMap::new());
            // Sized like a last window's table (a wider array from the first key on).
            if round % 3 == 0 {
                index.reserve((rnd() % 5000) as usize);
            }
            let spread = [4u64, 100, 5000, u64::MAX][round % 4];
            // Two dense ranges far apart (a replay's ids restarting), or three.
            let far = [0i64, 0, 1 << 40, -(1 << 33), 7_000][round % 5];
            let third = [0i64, 1 << 20][round % 2];
            for _ in 0..(rnd() % 3000) {
                let key = match rnd() % 50 {
                    0 => None,
                    1 => Some(i64::MIN + (rnd() % 3) as i64),
                    2 => Some(i64::MAX - (rnd() % 3) as i64),
                    r => {
                        let k = ((rnd() % spread) as i64).wrapping_sub((spread / 2) as i64);
                        Some(k.wrapping_add(match r % 3 {
                            0 => far,
                            1 if r % 7 == 0 => third,
                            _ => 0,
                        }))
                    }
                };
                let next = want.len() as u32;
                let g = *want.entry(key).or_insert(next);
                match index.get(key) {
                    Some(found) => assert_eq!(found, g, "key {key:?}"),
                    None => {
                        assert_eq!(g, next, "key {key:?} lost its group");
                        index.insert(key, g, want.len());
                    }
                }
            }
            for (k, g) in &want {
                assert_eq!(index.get(*k), Some(*g));
            }
        }
    }
}
