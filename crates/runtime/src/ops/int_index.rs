//! Integer group keys → group numbers: a direct-mapped array over the range of keys while they
//! are dense (campaign numbers, auction and person ids are), a hash map for keys outside it. A
//! lookup in the array is one bounds check and one load, where a hash probe costs a hash, a
//! control-byte match and a key compare.

use crate::keys::FastMap;

const EMPTY: u32 = u32::MAX;

/// The array covers at most this many slots per group (and at least `MIN_SPAN` slots), so a
/// sparse key set stays in the map instead of costing memory.
const SLOTS_PER_GROUP: i128 = 8;
const MIN_SPAN: i128 = 1024;

#[derive(Debug, Default)]
pub struct IntIndex {
    /// Key of `slots[0]`.
    base: i64,
    /// Group of key `base + i`, or `EMPTY`. Keys in this range are never in `map`.
    slots: Vec<u32>,
    map: FastMap<i64, u32>,
    null: Option<u32>,
    /// Groups the table is expected to reach (`reserve`): the array may span as much as for
    /// that many groups from the first key on, so a new window's first keys do not land in the
    /// map just because few groups exist yet.
    expected: usize,
}

impl IntIndex {
    /// The group of `key` (None: the NULL key), if it has one.
    #[inline]
    pub fn get(&self, key: Option<i64>) -> Option<u32> {
        let Some(k) = key else { return self.null };
        let i = k.wrapping_sub(self.base) as u64;
        if i < self.slots.len() as u64 {
            let g = self.slots[i as usize];
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
        if !self.covers(k) && !self.widen(k, groups) {
            self.map.insert(k, g);
            return;
        }
        self.slots[k.wrapping_sub(self.base) as usize] = g;
    }

    /// Sizes the index for `groups` keys, like the last window's: the array may span as much as
    /// they need from the first key on, and the map has room for them (a window's keys are
    /// dense, and the array takes them, or sparse, and the map does).
    pub fn reserve(&mut self, groups: usize) {
        self.expected = self.expected.max(groups);
        self.map.reserve(groups);
    }

    fn covers(&self, k: i64) -> bool {
        (k.wrapping_sub(self.base) as u64) < self.slots.len() as u64
    }

    /// Widens the array to cover `k` (at least doubling it, so keys arriving in order cost
    /// amortised O(1)) if it stays dense enough; moves map keys it now covers into it.
    #[cold]
    fn widen(&mut self, k: i64, groups: usize) -> bool {
        let (base, len) = (self.base as i128, self.slots.len() as i128);
        let k = k as i128;
        let (lo, hi) = if len == 0 { (k, k + 1) } else { (base.min(k), (base + len).max(k + 1)) };
        let new_len = (hi - lo).max(2 * len).max(16);
        if new_len > MIN_SPAN.max(SLOTS_PER_GROUP * groups.max(self.expected) as i128) {
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
        let moved: Vec<(i64, u32)> = self.map.iter().filter(|(k, _)| self.covers(**k)).map(|(k, g)| (*k, *g)).collect();
        for (k, g) in moved {
            self.map.remove(&k);
            self.slots[k.wrapping_sub(self.base) as usize] = g;
        }
        true
    }

    pub fn memory_bytes(&self) -> usize {
        self.slots.capacity() * 4 + self.map.capacity() * 16
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
        let mut rnd = crate::testing::xorshift(0x2545_f491_4f6c_dd1du64);
        for round in 0..200 {
            let (mut index, mut want) = (IntIndex::default(), HashMap::new());
            // Sized like a last window's table (a wider array from the first key on).
            if round % 3 == 0 {
                index.reserve((rnd() % 5000) as usize);
            }
            let spread = [4u64, 100, 5000, u64::MAX][round % 4];
            for _ in 0..(rnd() % 3000) {
                let key = match rnd() % 50 {
                    0 => None,
                    1 => Some(i64::MIN + (rnd() % 3) as i64),
                    2 => Some(i64::MAX - (rnd() % 3) as i64),
                    _ => Some(((rnd() % spread) as i64).wrapping_sub((spread / 2) as i64)),
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
