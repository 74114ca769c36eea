//! Groups of one aggregation scope: finds or creates the group of each row (by an integer
//! index, a hash index compared in place, or the single group of a keyless aggregate), keeps
//! the key values in group order and one accumulator per aggregate call, and restores all of it
//! from a checkpoint without rebuilding the index row by row.

use crate::agg::{add, Acc, Accumulator};
use crate::codec::{ChunkCache, Dec, Enc, CHUNK_BITS};
use crate::error::{RestoreResult, Result};
use crate::hashed_keys::{HashedKeys, IndexDamage, MAX_RESERVE};
use crate::int_index::IntIndex;
use crate::State;
use darwin_columnar::column::{Batch, Column, ColumnBuilder, ColumnData};
use darwin_columnar::row_hash::hash_rows;
use darwin_columnar::EvalError;
use darwin_common::types::PhysicalType;
use darwin_common::DataType;
use darwin_plan::AggCall;

/// Groups of one aggregation scope (one window, or the whole input): key bytes to group index,
/// the key values in group order, and one accumulator per aggregate call.
#[derive(Debug)]
pub struct GroupTable {
    index: KeyIndex,
    groups: usize,
    keys: Vec<ColumnBuilder>,
    accs: Vec<Accumulator>,
    hashes: Vec<u64>,
    pairs: Vec<(u32, u32)>,
    /// Per chunk of groups (`CHUNK` of them): whether an accumulator changed since the last
    /// snapshot. With the key columns' chunk caches, a snapshot for a checkpoint encodes only
    /// chunks that changed or grew, and refers to the others in the last checkpoint.
    changed: Vec<bool>,
    key_chunks: Vec<[ChunkCache; 2]>,
}

/// Key → group. One integer key (the common case: ids, campaigns) probes an integer table;
/// other keys go by hash, compared with the key columns; no key at all is a single group.
#[derive(Debug)]
enum KeyIndex {
    Single,
    Int(IntIndex),
    Hashed(HashedKeys),
}

/// Appends an integer key (an `INT` column's or a `BIGINT`-like one's) to the key column.
#[inline]
fn push_int_key(col: &mut ColumnBuilder, key: Option<i64>, i32_keys: bool) {
    match key {
        None => col.push_null(),
        Some(k) if i32_keys => col.push(&darwin_common::Value::Int(k as i32)),
        Some(k) => col.push_i64(k),
    }
}

impl GroupTable {
    /// An empty table for keys of `key_types` (none: one group for the whole scope) and the aggregate calls `aggs`.
    pub fn new(key_types: &[DataType], aggs: &[AggCall]) -> GroupTable {
        let index = match key_types {
            [] => KeyIndex::Single,
            [t] if matches!(t.physical(), PhysicalType::I64 | PhysicalType::I32) => KeyIndex::Int(IntIndex::default()),
            _ => KeyIndex::Hashed(HashedKeys::default()),
        };
        GroupTable {
            index,
            groups: 0,
            keys: key_types.iter().map(|t| ColumnBuilder::new(*t, 16)).collect(),
            accs: aggs.iter().map(Accumulator::new).collect(),
            hashes: Vec::new(),
            pairs: Vec::new(),
            changed: Vec::new(),
            key_chunks: key_types.iter().map(|_| Default::default()).collect(),
        }
    }

    /// The number of groups so far; groups are numbered `0..groups()` in first-seen order.
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// Makes room for `groups` groups (at most `MAX_RESERVE`): a new window sized like the
    /// last one that closed does not grow and rehash its index and accumulators from empty
    /// (`HashedKeys::reserve` was 9% of Nexmark q8 on one worker; on two, where each worker's
    /// tables hold half the sellers, growing the integer index's map was 6%).
    pub fn reserve(&mut self, groups: usize) {
        let groups = groups.min(MAX_RESERVE);
        match &mut self.index {
            KeyIndex::Hashed(index) => index.reserve(groups),
            KeyIndex::Int(index) => index.reserve(groups),
            KeyIndex::Single => {}
        }
        for k in &mut self.keys {
            k.reserve(groups);
        }
        for a in &mut self.accs {
            a.reserve(groups);
        }
        self.pairs.reserve(groups.min(1 << 12));
    }

    /// The group of a row whose only key is the integer `key` (a compiled kernel's typed path),
    /// created in first-seen order like [`GroupTable::update`] creates it.
    #[inline]
    pub fn group_int(&mut self, key: Option<i64>) -> usize {
        let KeyIndex::Int(index) = &self.index else { unreachable!("a table with one integer key") };
        let g = match index.get(key) {
            Some(g) => g as usize,
            None => self.new_int_group(key),
        };
        self.changed[g >> CHUNK_BITS] = true;
        g
    }

    /// The groups of `rows` whose only key is an integer, `key(row)`, into `out` (a compiled
    /// kernel's path for a run of rows in one window): the index is probed with its fields in
    /// registers, not through a call per row; a miss creates the group (in row order, as
    /// `group_int` does) in the index and the key column only, and the accumulators grow once,
    /// for all of the run's new groups. A key's error stops at that row.
    #[inline]
    pub fn groups_int<E>(
        &mut self,
        rows: std::ops::Range<usize>,
        out: &mut Vec<u32>,
        mut key: impl FnMut(usize) -> std::result::Result<Option<i64>, E>,
    ) -> std::result::Result<(), E> {
        out.clear();
        out.reserve(rows.len());
        let before = self.groups;
        let GroupTable { index, groups, keys, .. } = self;
        let KeyIndex::Int(index) = index else { unreachable!("a table with one integer key") };
        let i32_keys = keys[0].data_type().physical() == PhysicalType::I32;
        let probe = || -> std::result::Result<(), E> {
            for row in rows {
                let k = key(row)?;
                let g = match index.get(k) {
                    Some(g) => g,
                    None => {
                        let g = *groups as u32;
                        *groups += 1;
                        index.insert(k, g, *groups);
                        push_int_key(&mut keys[0], k, i32_keys);
                        g
                    }
                };
                out.push(g);
            }
            Ok(())
        };
        let probed = probe();
        // Even after an error, the groups created so far get their accumulators.
        if self.groups > before {
            self.sized_for_groups();
        }
        // Most tables have one chunk of groups: one flag for the batch, not a store per row.
        match self.changed.as_mut_slice() {
            [] => {}
            [only] => *only |= !out.is_empty(),
            changed => out.iter().for_each(|&g| changed[g as usize >> CHUNK_BITS] = true),
        }
        probed
    }

    fn new_int_group(&mut self, key: Option<i64>) -> usize {
        let g = self.groups as u32;
        match &mut self.index {
            KeyIndex::Int(index) => index.insert(key, g, self.groups + 1),
            _ => unreachable!("a table with one integer key"),
        }
        let i32_keys = self.keys[0].data_type().physical() == PhysicalType::I32;
        push_int_key(&mut self.keys[0], key, i32_keys);
        self.grown()
    }

    /// The only group of a table without keys (a compiled kernel's typed path).
    #[inline]
    pub fn group_single(&mut self) -> usize {
        if self.groups == 0 {
            self.grown();
        }
        self.changed[0] = true;
        0
    }

    /// Sizes the accumulators and chunk flags for `self.groups` groups, created together.
    fn sized_for_groups(&mut self) {
        let chunks = ((self.groups - 1) >> CHUNK_BITS) + 1;
        if chunks > self.changed.len() {
            self.changed.resize(chunks, true);
        }
        for a in &mut self.accs {
            a.grow(self.groups);
        }
    }

    /// Counts one more group and sizes every accumulator for it; returns the new group.
    fn grown(&mut self) -> usize {
        self.groups += 1;
        let chunk = (self.groups - 1) >> CHUNK_BITS;
        if chunk >= self.changed.len() {
            self.changed.resize(chunk + 1, true);
        }
        for a in &mut self.accs {
            a.grow_one(self.groups);
        }
        self.groups - 1
    }

    /// Folds one row into aggregate `a` of group `g` (compiled kernels, typed): COUNT.
    #[inline]
    pub fn count(&mut self, a: usize, g: usize) {
        self.count_rows(a, &[g as u32], 0, |_| true);
    }

    /// Folds an integer into aggregate `a` (SUM, MIN, MAX or AVG) of group `g`; a SUM or AVG
    /// whose running value leaves BIGINT is an overflow error.
    #[inline]
    pub fn add_i64(&mut self, a: usize, g: usize, x: i64) -> std::result::Result<(), EvalError> {
        self.fold_i64(a, &[g as u32], 0, |_| Some(x))
    }

    /// Folds a double into aggregate `a` (SUM, MIN, MAX or AVG) of group `g`.
    #[inline]
    pub fn add_f64(&mut self, a: usize, g: usize, x: f64) {
        self.fold_f64(a, &[g as u32], 0, |_| Some(x));
    }

    /// COUNT (aggregate `a`) of the rows for which `counted(row)` holds; row `first + i` is in
    /// group `groups[i]` (from `groups_int`). The accumulator is matched once per run, not per
    /// row.
    #[inline]
    pub fn count_rows(&mut self, a: usize, groups: &[u32], first: usize, mut counted: impl FnMut(usize) -> bool) {
        let Acc::Count(c) = &mut self.accs[a].acc else { unreachable!("COUNT kernel on another accumulator") };
        // As a slice: a store into a `Vec`'s elements could (for all the compiler knows) change
        // its length and pointer, which it would then reload for every row.
        let c = c.as_mut_slice();
        for (i, &g) in groups.iter().enumerate() {
            if counted(first + i) {
                c[g as usize] += 1;
            }
        }
    }

    /// Folds the integers `arg(row)` (None: NULL or filtered out, skipped) into aggregate `a`
    /// (SUM, MIN, MAX or AVG); row `first + i` is in group `groups[i]`.
    #[inline]
    pub fn fold_i64(
        &mut self,
        a: usize,
        groups: &[u32],
        first: usize,
        mut arg: impl FnMut(usize) -> Option<i64>,
    ) -> std::result::Result<(), EvalError> {
        let rows = groups.iter().enumerate().filter_map(|(i, &g)| Some((g as usize, arg(first + i)?)));
        let acc = &mut self.accs[a];
        match &mut acc.acc {
            Acc::SumI(s, n) => {
                let (s, n) = (s.as_mut_slice(), n.as_mut_slice());
                for (g, x) in rows {
                    s[g] = add(s[g], x, &acc.call)?;
                    n[g] = true;
                }
            }
            Acc::MinMaxI { v, seen, max } => {
                let (v, seen, max) = (v.as_mut_slice(), seen.as_mut_slice(), *max);
                rows.for_each(|(g, x)| {
                    if !seen[g] || (max && x > v[g]) || (!max && x < v[g]) {
                        v[g] = x;
                        seen[g] = true;
                    }
                })
            }
            Acc::AvgI(s, c) => {
                let (s, c) = (s.as_mut_slice(), c.as_mut_slice());
                for (g, x) in rows {
                    s[g] = add(s[g], x, &acc.call)?;
                    c[g] += 1;
                }
            }
            acc => unreachable!("integer kernel on accumulator {acc:?}"),
        }
        Ok(())
    }

    /// Folds the doubles `arg(row)` into aggregate `a` (SUM, MIN, MAX or AVG), as `fold_i64`.
    #[inline]
    pub fn fold_f64(&mut self, a: usize, groups: &[u32], first: usize, mut arg: impl FnMut(usize) -> Option<f64>) {
        let rows = groups.iter().enumerate().filter_map(|(i, &g)| Some((g as usize, arg(first + i)?)));
        match &mut self.accs[a].acc {
            Acc::SumF(s, n) => {
                let (s, n) = (s.as_mut_slice(), n.as_mut_slice());
                rows.for_each(|(g, x)| {
                    s[g] += x;
                    n[g] = true;
                })
            }
            Acc::MinMaxF { v, seen, max } => {
                let (v, seen, max) = (v.as_mut_slice(), seen.as_mut_slice(), *max);
                rows.for_each(|(g, x)| {
                    if !seen[g] || (max && x > v[g]) || (!max && x < v[g]) {
                        v[g] = x;
                        seen[g] = true;
                    }
                })
            }
            Acc::AvgF(s, c) => {
                let (s, c) = (s.as_mut_slice(), c.as_mut_slice());
                rows.for_each(|(g, x)| {
                    s[g] += x;
                    c[g] += 1;
                })
            }
            acc => unreachable!("double kernel on accumulator {acc:?}"),
        }
    }

    /// Aggregate `a` of group `g` as two integer registers: (count, 0) for COUNT, (sum, seen)
    /// for SUM, (value, seen) for MIN/MAX, (sum, count) for AVG. A compiled kernel folds a run
    /// of rows of one group in registers and stores them back (`store_i64`), in row order, so
    /// the result is the one `add_i64` would give.
    #[inline]
    pub fn load_i64(&self, a: usize, g: usize) -> (i64, i64) {
        match &self.accs[a].acc {
            Acc::Count(c) => (c[g], 0),
            Acc::SumI(s, n) => (s[g], i64::from(n[g])),
            Acc::MinMaxI { v, seen, .. } => (v[g], i64::from(seen[g])),
            Acc::AvgI(s, c) => (s[g], c[g]),
            acc => unreachable!("integer registers of accumulator {acc:?}"),
        }
    }

    /// Stores registers loaded by `load_i64` back.
    #[inline]
    pub fn store_i64(&mut self, a: usize, g: usize, r: (i64, i64)) {
        match &mut self.accs[a].acc {
            Acc::Count(c) => c[g] = r.0,
            Acc::SumI(s, n) => (s[g], n[g]) = (r.0, r.1 != 0),
            Acc::MinMaxI { v, seen, .. } => (v[g], seen[g]) = (r.0, r.1 != 0),
            Acc::AvgI(s, c) => (s[g], c[g]) = r,
            acc => unreachable!("integer registers of accumulator {acc:?}"),
        }
    }

    /// Aggregate `a` of group `g` as a double and an integer register: (sum, seen) for SUM,
    /// (value, seen) for MIN/MAX, (sum, count) for AVG (see `load_i64`).
    #[inline]
    pub fn load_f64(&self, a: usize, g: usize) -> (f64, i64) {
        match &self.accs[a].acc {
            Acc::SumF(s, n) => (s[g], i64::from(n[g])),
            Acc::MinMaxF { v, seen, .. } => (v[g], i64::from(seen[g])),
            Acc::AvgF(s, c) => (s[g], c[g]),
            acc => unreachable!("double registers of accumulator {acc:?}"),
        }
    }

    /// Stores registers loaded by `load_f64` back.
    #[inline]
    pub fn store_f64(&mut self, a: usize, g: usize, r: (f64, i64)) {
        match &mut self.accs[a].acc {
            Acc::SumF(s, n) => (s[g], n[g]) = (r.0, r.1 != 0),
            Acc::MinMaxF { v, seen, .. } => (v[g], seen[g]) = (r.0, r.1 != 0),
            Acc::AvgF(s, c) => (s[g], c[g]) = r,
            acc => unreachable!("double registers of accumulator {acc:?}"),
        }
    }

    /// Adds `rows` of a batch whose key columns are `key_cols`.
    pub fn update(&mut self, batch: &Batch, key_cols: &[Column], rows: &[u32]) -> Result<()> {
        self.assign(key_cols, rows);
        self.changed.resize(self.groups.div_ceil(1 << CHUNK_BITS), true);
        for &(g, _) in &self.pairs {
            self.changed[g as usize >> CHUNK_BITS] = true;
        }
        for a in &mut self.accs {
            a.update(self.groups, batch, &self.pairs)?;
        }
        Ok(())
    }

    /// The group of each of `rows`, found or created, as (group, row) pairs, and the number of
    /// groups after: a table without aggregates used as a dictionary of keys (`slice_merge.rs`).
    pub fn groups_of(&mut self, key_cols: &[Column], rows: &[u32]) -> (&[(u32, u32)], usize) {
        self.assign(key_cols, rows);
        (&self.pairs, self.groups)
    }

    /// The key columns of `groups`, in that order.
    pub fn keys_of(&self, groups: &[u32]) -> Vec<Column> {
        self.keys.iter().map(|k| k.take(groups)).collect()
    }

    /// Finds or creates the group of each row; fills `pairs` with (group, row).
    fn assign(&mut self, key_cols: &[Column], rows: &[u32]) {
        self.pairs.clear();
        let empty = self.groups == 0;
        let mut next = self.groups as u32;
        let keys = &mut self.keys;
        let mut new_group = |r: u32| {
            for (b, c) in keys.iter_mut().zip(key_cols) {
                b.push_from(c, r as usize);
            }
            let g = next;
            next += 1;
            g
        };
        match &mut self.index {
            KeyIndex::Single => {
                if let (true, Some(first)) = (empty, rows.first()) {
                    new_group(*first);
                }
                self.pairs.extend(rows.iter().map(|r| (0, *r)));
            }
            KeyIndex::Int(index) => {
                let c = &key_cols[0];
                let i32_keys = keys[0].data_type().physical() == PhysicalType::I32;
                let wide;
                let vals: &[i64] = match &c.data {
                    ColumnData::I64(v) => v,
                    ColumnData::I32(v) => {
                        wide = v.iter().map(|x| *x as i64).collect::<Vec<_>>();
                        &wide
                    }
                    _ => unreachable!("integer key column"),
                };
                for &r in rows {
                    let key = c.is_valid(r as usize).then(|| vals[r as usize]);
                    let g = match index.get(key) {
                        Some(g) => g,
                        None => {
                            // The key pushed typed, not through `push_from`'s match per value.
                            let g = next;
                            next += 1;
                            push_int_key(&mut keys[0], key, i32_keys);
                            index.insert(key, g, g as usize + 1);
                            g
                        }
                    };
                    self.pairs.push((g, r));
                }
            }
            KeyIndex::Hashed(index) => {
                hash_rows(key_cols, rows, &mut self.hashes);
                for (&r, &h) in rows.iter().zip(&self.hashes) {
                    let g = match index.find(h, keys, key_cols, r as usize) {
                        Some(g) => g,
                        None => {
                            for (b, c) in keys.iter_mut().zip(key_cols) {
                                b.push_from(c, r as usize);
                            }
                            index.insert(h, next);
                            next += 1;
                            next - 1
                        }
                    };
                    self.pairs.push((g, r));
                }
            }
        }
        self.groups = next as usize;
    }

    /// Key columns and aggregate columns, groups in first-seen order.
    pub fn finish(self) -> std::result::Result<(Vec<Column>, Vec<Column>), EvalError> {
        let n = self.groups;
        let aggs = self.accs.iter().map(|a| a.finish(n)).collect::<std::result::Result<_, _>>()?;
        Ok((self.keys.into_iter().map(ColumnBuilder::finish).collect(), aggs))
    }
}

impl State for GroupTable {
    fn memory_bytes(&self) -> usize {
        let n = self.groups;
        let index = match &self.index {
            KeyIndex::Single => 0,
            KeyIndex::Int(index) => index.memory_bytes(),
            KeyIndex::Hashed(index) => index.memory_bytes(),
        };
        let keys: usize = self.keys.iter().map(|k| k.len() * 9).sum();
        index + keys + self.accs.iter().map(|a| a.memory_bytes(n)).sum::<usize>()
    }

    /// Encodes the groups: the key columns (group order) and each accumulator. Key chunks that
    /// were complete in the last snapshot and accumulator chunks no row changed since are
    /// taken from the last checkpoint when the encoder allows it (keys never change once a
    /// group exists).
    fn snapshot(&mut self, e: &mut Enc) {
        e.len(self.groups);
        e.len(self.keys.len());
        for (k, cache) in self.keys.iter().zip(&mut self.key_chunks) {
            let (data, validity) = k.parts();
            e.column_chunked(data, validity, cache);
        }
        if let KeyIndex::Hashed(index) = &self.index {
            index.snapshot(e);
        }
        e.len(self.accs.len());
        let flags = &self.changed;
        let changed = |c: usize| flags.get(c).copied().unwrap_or(true);
        self.accs.iter_mut().for_each(|a| a.snapshot(e, &changed));
        self.changed.iter_mut().for_each(|c| *c = false);
    }

    /// Restores into an empty table built for the same keys and aggregates.
    fn restore(&mut self, d: &mut Dec) -> RestoreResult<()> {
        let groups = d.u64()? as usize;
        let n = d.u64()?;
        d.expect("the number of group keys", n, self.keys.len() as u64)?;
        let keys = (0..self.keys.len()).map(|_| d.column()).collect::<RestoreResult<Vec<_>>>()?;
        if keys.iter().any(|k| k.len() != groups) {
            return Err(d.error("a key column's length differs from the number of groups"));
        }
        // The keys are indexed as they are, without a probe per group for an equal key: a
        // checkpoint's keys are distinct unless it is damaged, and a damaged one is still
        // caught (equal keys meet in the index).
        const TWICE: &str = "the checkpoint holds the same group twice";
        match &mut self.index {
            KeyIndex::Single if groups > 1 => return Err(d.error(TWICE)),
            KeyIndex::Single => {}
            KeyIndex::Int(index) => {
                let key = &keys[0];
                let val = |g: usize| match &key.data {
                    ColumnData::I64(v) => v[g],
                    ColumnData::I32(v) => i64::from(v[g]),
                    _ => unreachable!("checked below"),
                };
                if !matches!(key.data, ColumnData::I64(_) | ColumnData::I32(_)) {
                    return Err(d.error("an integer key column holds other values"));
                }
                for g in 0..groups {
                    let k = key.is_valid(g).then(|| val(g));
                    if index.get(k).is_some() {
                        return Err(d.error(TWICE));
                    }
                    index.insert(k, g as u32, g + 1);
                }
            }
            KeyIndex::Hashed(index) => {
                let size = (d.u64()?, d.u64()?);
                let n = d.len(8)?;
                let stored = d.raw(n * 8)?;
                let hash = |range: std::ops::Range<usize>, out: &mut Vec<u64>| {
                    let rows: Vec<u32> = (range.start as u32..range.end as u32).collect();
                    hash_rows(&keys, &rows, out);
                };
                let same = |a: u32, b: u32| keys.iter().all(|c| c.same_key(a as usize, b as usize));
                if let Err(e) = index.restore(groups, size, stored, &hash, same) {
                    return Err(match e {
                        IndexDamage::Twice(..) => d.error(TWICE),
                        IndexDamage::Invalid(m) => d.error(m),
                    });
                }
            }
        }
        let builders = std::mem::take(&mut self.keys).into_iter().zip(keys);
        self.keys = builders
            .map(|(b, c)| ColumnBuilder::from_column(b.data_type(), c))
            .collect::<Option<_>>()
            .ok_or_else(|| d.error("a key column's type differs from this plan"))?;
        self.groups = groups;
        self.changed = vec![true; groups.div_ceil(1 << CHUNK_BITS)];
        let n = d.u64()?;
        d.expect("the number of aggregates", n, self.accs.len() as u64)?;
        for a in &mut self.accs {
            a.restore(d, groups)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::CHUNK;
    use darwin_common::Value;
    use darwin_plan::{AggFunc, Expr};

    fn call(func: AggFunc, arg: Option<Expr>, ty: DataType) -> AggCall {
        AggCall { func, arg, distinct: false, filter: None, ty }
    }

    /// Snapshots that refer to unchanged chunks of the last checkpoint give, once resolved,
    /// exactly the bytes of a full encoding, round after round: for hashed and integer keys
    /// (interpreted updates and the compiled kernels' typed calls), keys that grow nullable,
    /// updates that touch few or many groups, and a failed checkpoint in between (nothing is
    /// then reused). Rounds that touch few groups do reuse most of the state.
    #[test]
    fn incremental_snapshots_equal_full_ones() {
        let mut rnd = darwin_common::xorshift(0x5eed_1234_abcd_0001u64);
        let aggs = vec![
            call(AggFunc::Count, None, DataType::BigInt),
            call(AggFunc::Sum, Some(Expr::column(2, DataType::BigInt)), DataType::BigInt),
            call(AggFunc::Max, Some(Expr::column(2, DataType::BigInt)), DataType::BigInt),
            call(AggFunc::Avg, Some(Expr::column(3, DataType::Double)), DataType::Double),
        ];
        let types = [DataType::BigInt, DataType::Varchar, DataType::BigInt, DataType::Double];
        for hashed in [true, false] {
            let keys: Vec<DataType> = if hashed { types[..2].to_vec() } else { types[..1].to_vec() };
            let (mut live, mut mirror) = (GroupTable::new(&keys, &aggs), GroupTable::new(&keys, &aggs));
            let mut durable: Option<(u64, Vec<u8>)> = None;
            let mut saw_reuse = false;
            for round in 1..=12u64 {
                // Early rounds add many groups; later ones add a few and update a few old ones.
                let n = if round <= 3 { 40_000 } else { 300 };
                let rows: Vec<Vec<Value>> = (0..n)
                    .map(|i| {
                        let k = match (round, i) {
                            (..=3, _) | (_, ..=1) => (rnd() % 100_000) as i64,
                            _ => 100_000 + round as i64 * 1000 + (rnd() % 200) as i64,
                        };
                        let key = if rnd().is_multiple_of(50) && round > 5 { Value::Null } else { Value::BigInt(k) };
                        let s = Value::Str(format!("s{}", k % 7));
                        vec![key, s, Value::BigInt((rnd() % 1000) as i64), Value::Double((rnd() % 8) as f64 / 4.0)]
                    })
                    .collect();
                let batch = Batch::from_rows(&rows, &types);
                let all: Vec<u32> = (0..n as u32).collect();
                let key_cols = &batch.columns[..keys.len()];
                if !hashed && round % 2 == 0 {
                    // The compiled kernels' path: a group per row, then typed folds.
                    for t in [&mut live, &mut mirror] {
                        for r in 0..n {
                            let k = key_cols[0].is_valid(r).then(|| match &key_cols[0].data {
                                ColumnData::I64(v) => v[r],
                                _ => unreachable!(),
                            });
                            let g = t.group_int(k);
                            t.count(0, g);
                        }
                    }
                } else {
                    live.update(&batch, key_cols, &all).unwrap();
                    mirror.update(&batch, key_cols, &all).unwrap();
                }
                let mut full = Enc::default();
                mirror.snapshot(&mut full);
                let full = full.into_bytes();
                let mut e = Enc::for_checkpoint(Some(round), durable.as_ref().map(|d| d.0), 0);
                live.snapshot(&mut e);
                let (bytes, reused) = e.finish().resolve(durable.as_ref().map(|(e, b)| (*e, b.as_slice())));
                assert_eq!(bytes, full, "round {round}, hashed keys {hashed}");
                if round == 8 {
                    assert_eq!(reused, 0, "round 8 may not refer to round 7's failed checkpoint");
                } else if round > 4 {
                    assert!(reused * 2 > full.len(), "round {round}: reused {reused} of {} bytes", full.len());
                    saw_reuse = true;
                }
                // Round 7's checkpoint fails: the next snapshot may not refer to it.
                if round != 7 {
                    durable = Some((round, bytes));
                }
            }
            assert!(saw_reuse && live.groups() > 2 * CHUNK);
            let mut back = GroupTable::new(&keys, &aggs);
            let mut e = Enc::default();
            live.snapshot(&mut e);
            let bytes = e.into_bytes();
            back.restore(&mut Dec::new(&bytes, "t")).unwrap();
            assert_eq!(back.groups(), live.groups());
        }
    }
}
