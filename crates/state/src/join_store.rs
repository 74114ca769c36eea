//! The buffered rows of one side of an interval join, found by key. Batches are buffered as
//! they come and indexed only when probing them would cost more than indexing: a side that is
//! probed rarely (q7's bids, probed once per window by its maximum) is never hashed row by row,
//! while a side probed by every batch of the other is indexed at its first probe.

use darwin_columnar::column::{min_max, Batch, Column, ColumnData};
use darwin_columnar::eval::eval;
use darwin_columnar::keys::FastMap;
use darwin_columnar::keys::{encode_row, int_key};
use darwin_columnar::Result;
use darwin_plan::{Expr, ExprKind};

/// A key column of a buffered batch: one of its own columns, or computed from them.
pub enum KeyCol {
    /// The column with this index in the batch.
    Batch(usize),
    /// A key computed from the batch's columns.
    Owned(Column),
}

impl KeyCol {
    /// The key columns of `batch`: plain columns referenced, other keys evaluated.
    pub fn of(keys: &[Expr], batch: &Batch) -> Result<Vec<KeyCol>> {
        keys.iter()
            .map(|k| match k.kind {
                ExprKind::Column(i) => Ok(KeyCol::Batch(i)),
                _ => eval(k, batch).map(KeyCol::Owned),
            })
            .collect()
    }

    /// The columns `keys` name in `batch`.
    pub fn resolve<'a>(keys: &'a [KeyCol], batch: &'a Batch) -> Vec<&'a Column> {
        keys.iter()
            .map(|k| match k {
                KeyCol::Batch(i) => &batch.columns[*i],
                KeyCol::Owned(c) => c,
            })
            .collect()
    }
}

/// Rows compared by a scan that cost as much as indexing one row (a hash, a map probe and a
/// chain link against one comparison of an integer key).
const SCAN_PER_INDEXED_ROW: usize = 8;

const END: u32 = u32::MAX;

/// Each key's indexed rows form a chain through `entries` in arrival order, so indexing a row
/// costs one map lookup and one push, with no allocation per row or per key.
pub struct Store {
    /// The buffered batches, in arrival order; probes return `(batch, row)` positions in them.
    pub batches: Vec<Batch>,
    /// One integer key column: keyed by the value; otherwise by the encoded key.
    int: FastMap<i64, (u32, u32)>,
    /// The smallest and largest integer key buffered, indexed or not: a probe outside them
    /// looks nothing up (q7's buffered maxima sit above nearly every bid's price).
    pub int_range: (i64, i64),
    bytes: FastMap<Vec<u8>, (u32, u32)>,
    /// (batch, row, next entry of the same key or `END`).
    entries: Vec<(u32, u32, u32)>,
    /// Batches `indexed..` are not in the index; `pending` holds their key columns.
    indexed: usize,
    pending: Vec<Vec<KeyCol>>,
    pending_rows: usize,
    /// Comparisons that scans of the pending rows may still make before indexing them is cheaper.
    budget: usize,
    /// Rows buffered, over all batches.
    pub rows: usize,
    /// Bytes of `batches` and owned key columns, kept as they are buffered.
    pub size: usize,
}

impl Default for Store {
    fn default() -> Store {
        Store {
            batches: Vec::new(),
            int: FastMap::default(),
            int_range: (i64::MAX, i64::MIN),
            bytes: FastMap::default(),
            entries: Vec::new(),
            indexed: 0,
            pending: Vec::new(),
            pending_rows: 0,
            budget: 0,
            rows: 0,
            size: 0,
        }
    }
}

/// What a probe row looks for.
enum Probe {
    Int(i64),
    Bytes,
    Nothing,
}

impl Store {
    /// Buffers `batch` with its key columns (rows with a NULL key never match).
    pub fn buffer(&mut self, batch: Batch, keys: Vec<KeyCol>) {
        let n = batch.num_rows;
        let cols = KeyCol::resolve(&keys, &batch);
        if let [c] = cols[..] {
            let range = match &c.data {
                ColumnData::I64(v) => min_max(v, c.validity.as_deref()),
                ColumnData::I32(v) => min_max(v, c.validity.as_deref()),
                _ => None,
            };
            if let Some((lo, hi)) = range {
                self.int_range = (self.int_range.0.min(lo), self.int_range.1.max(hi));
            }
        }
        let owned: usize = keys.iter().map(|k| if let KeyCol::Owned(c) = k { c.size_bytes() } else { 0 }).sum();
        self.rows += n;
        self.size += batch.size_bytes() + owned;
        self.pending_rows += n;
        self.budget += n * SCAN_PER_INDEXED_ROW;
        self.batches.push(batch);
        self.pending.push(keys);
    }

    /// Readies the store for `rows` probe rows: indexes the pending rows if scanning them for
    /// every probe row would overdraw their budget.
    pub fn before_probe(&mut self, rows: usize) {
        let cost = rows.saturating_mul(self.pending_rows);
        if cost > self.budget {
            self.index_pending();
        } else {
            self.budget -= cost;
        }
    }

    /// Whether no row is buffered.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    fn index_pending(&mut self) {
        let Store { batches, int, bytes, entries, indexed, pending, .. } = self;
        let mut buf = Vec::new();
        for (u, keys) in pending.drain(..).enumerate() {
            let bi = *indexed + u;
            let keys = KeyCol::resolve(&keys, &batches[bi]);
            for i in 0..batches[bi].num_rows {
                let e = entries.len() as u32;
                let chain = match int_key(&keys, i) {
                    Some(None) => continue,
                    Some(Some(k)) => int.entry(k).or_insert((e, e)),
                    None => {
                        buf.clear();
                        if !encode_row(&keys, i, &mut buf) {
                            continue;
                        }
                        match bytes.get_mut(buf.as_slice()) {
                            Some(chain) => chain,
                            None => bytes.entry(buf.clone()).or_insert((e, e)),
                        }
                    }
                };
                let tail = std::mem::replace(&mut chain.1, e);
                if tail != e {
                    entries[tail as usize].2 = e;
                }
                entries.push((bi as u32, i as u32, END));
            }
        }
        self.indexed = self.batches.len();
        self.pending_rows = 0;
        self.budget = 0;
    }

    /// Calls `f(batch, row)` for each buffered row whose key equals row `i` of `keys`, oldest
    /// first: the indexed rows by their chain, then the pending ones by a scan.
    pub fn probe(&self, keys: &[&Column], i: usize, buf: &mut Vec<u8>, mut f: impl FnMut(u32, u32)) {
        let probe = match int_key(keys, i) {
            Some(None) => Probe::Nothing,
            Some(Some(k)) if self.int_range.0 <= k && k <= self.int_range.1 => Probe::Int(k),
            Some(Some(_)) => Probe::Nothing,
            None => {
                buf.clear();
                if encode_row(keys, i, buf) {
                    Probe::Bytes
                } else {
                    Probe::Nothing
                }
            }
        };
        let head = match probe {
            Probe::Nothing => return,
            Probe::Int(k) => self.int.get(&k),
            Probe::Bytes => self.bytes.get(buf.as_slice()),
        };
        let mut e = head.map_or(END, |c| c.0);
        while e != END {
            let (b, r, next) = self.entries[e as usize];
            f(b, r);
            e = next;
        }
        let mut row = Vec::new();
        for (u, pending) in self.pending.iter().enumerate() {
            let bi = self.indexed + u;
            let cols = KeyCol::resolve(pending, &self.batches[bi]);
            let n = self.batches[bi].num_rows;
            match (&probe, &cols[..]) {
                (Probe::Int(k), [c]) if matches!(c.data, ColumnData::I64(_)) => {
                    let v = c.i64s();
                    for r in (0..n).filter(|&r| v[r] == *k && c.is_valid(r)) {
                        f(bi as u32, r as u32);
                    }
                }
                (Probe::Int(k), _) => {
                    for r in (0..n).filter(|&r| int_key(&cols, r) == Some(Some(*k))) {
                        f(bi as u32, r as u32);
                    }
                }
                (_, _) => {
                    for r in 0..n {
                        row.clear();
                        if encode_row(&cols, r, &mut row) && row == *buf {
                            f(bi as u32, r as u32);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use darwin_common::{DataType, Value};

    fn batch(keys: &[Option<i64>]) -> Batch {
        let rows: Vec<Vec<Value>> = keys.iter().map(|k| vec![k.map_or(Value::Null, Value::BigInt)]).collect();
        Batch::from_rows(&rows, &[DataType::BigInt])
    }

    fn found(store: &Store, key: Option<i64>, computed: bool) -> Vec<(u32, u32)> {
        let probe = batch(&[key]);
        let cols = if computed {
            // A two-column key takes the encoded (byte) path.
            vec![&probe.columns[0], &probe.columns[0]]
        } else {
            vec![&probe.columns[0]]
        };
        let mut got = vec![];
        store.probe(&cols, 0, &mut Vec::new(), |b, r| got.push((b, r)));
        got
    }

    /// A probe finds exactly the rows of its key, oldest first, whether they are indexed, still
    /// pending or some of each; inside, at and outside the range of buffered keys; NULL keys
    /// never match; integer and encoded keys alike.
    #[test]
    fn probes_find_the_same_rows_indexed_or_pending() {
        for computed in [false, true] {
            let keys = |b: &Batch| -> Vec<KeyCol> {
                if computed {
                    vec![KeyCol::Owned(b.columns[0].clone()), KeyCol::Batch(0)]
                } else {
                    vec![KeyCol::Batch(0)]
                }
            };
            let mut store = Store::default();
            let first = batch(&[Some(5), Some(7), None, Some(5)]);
            let k = keys(&first);
            store.buffer(first, k);
            let all_pending = [5, 7, 4, 6, 8].map(|k| found(&store, Some(k), computed));
            assert_eq!(all_pending[0], vec![(0, 0), (0, 3)]);
            assert_eq!(all_pending[1], vec![(0, 1)]);
            assert!(all_pending[2..].iter().all(Vec::is_empty));
            assert!(found(&store, None, computed).is_empty());
            // Many probe rows: the first batch is indexed; a second one stays pending.
            store.before_probe(1_000);
            let second = batch(&[Some(-3), Some(5), Some(9)]);
            let k = keys(&second);
            store.buffer(second, k);
            assert_eq!(found(&store, Some(5), computed), vec![(0, 0), (0, 3), (1, 1)]);
            assert_eq!(
                (found(&store, Some(-3), computed), found(&store, Some(9), computed)),
                (vec![(1, 0)], vec![(1, 2)])
            );
            assert!(found(&store, Some(0), computed).is_empty());
            store.before_probe(1_000);
            assert_eq!(found(&store, Some(5), computed), vec![(0, 0), (0, 3), (1, 1)]);
            assert!(found(&store, None, computed).is_empty());
        }
    }

    /// Few probe rows scan the pending rows; once the scans have cost as much as indexing
    /// them would have, the store indexes them.
    #[test]
    fn scans_until_indexing_is_cheaper() {
        let mut store = Store::default();
        let b = batch(&[Some(1); 100]);
        store.buffer(b, vec![KeyCol::Batch(0)]);
        for _ in 0..SCAN_PER_INDEXED_ROW {
            store.before_probe(1);
            assert_eq!(store.pending_rows, 100);
        }
        store.before_probe(1);
        assert_eq!((store.pending_rows, store.entries.len()), (0, 100));
    }
}
