//! Interval join: `right.t + lower <= left.t <= right.t + upper` on equal keys. Each arriving
//! row probes the other side's buffer and is buffered itself; a buffered row is freed once no
//! future row of the other side can match it (decided by that side's watermark). The output
//! watermark is held back by the bounds, so windows downstream stay correct.

use super::join_rows;
use super::lookup_join::append;
use super::two_inputs::{Side, TwoInputs};
use crate::error::Result;
use crate::operator::{Counters, Msg, Operator};
use darwin_columnar::codec::{BatchCache, Dec, Enc};
use darwin_columnar::column::{Batch, Column, ColumnData};
use darwin_columnar::eval::eval_mask;
use darwin_common::DataType;
use darwin_plan::Expr;
use darwin_state::join_store::{KeyCol, Store};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// What an interval join joins: `right.t + lower <= left.t <= right.t + upper` on equal keys.
pub struct IntervalJoinSpec {
    /// The left input's event-time column.
    pub left_time: usize,
    /// The right input's event-time column.
    pub right_time: usize,
    /// The smallest `left.t - right.t` that joins, in ms of event time (inclusive).
    pub lower: i64,
    /// The largest `left.t - right.t` that joins, in ms of event time (inclusive).
    pub upper: i64,
    /// The join keys over the left input's columns.
    pub left_keys: Vec<Expr>,
    /// The join keys over the right input's columns, pairwise equal to `left_keys`.
    pub right_keys: Vec<Expr>,
    /// A further condition over the joined row (left columns, then right); `None`: none.
    pub residual: Option<Expr>,
    /// The left input's column types.
    pub left_types: Vec<DataType>,
    /// The right input's column types.
    pub right_types: Vec<DataType>,
}

/// Inner interval join of two inputs (module docs); each side's rows are buffered until the other side's
/// watermark has passed their interval.
pub struct IntervalJoinOp {
    inputs: TwoInputs,
    spec: IntervalJoinSpec,
    stores: [Store; 2],
    out_watermark: i64,
    compacted_at: i64,
    pending: VecDeque<Msg>,
    done: bool,
    counters: Arc<Counters>,
    accounted: usize,
    /// Where each side's batches were in the last snapshot: a checkpoint captures only the
    /// batches buffered or trimmed since.
    cached: [BatchCache; 2],
}

impl IntervalJoinOp {
    /// Holds back a local input that runs ahead in event time (`TwoInputs::lead`).
    pub fn lead(mut self, lead: Option<i64>, may_hold: [bool; 2]) -> Self {
        self.inputs = self.inputs.lead(lead, may_hold);
        self
    }

    /// Joins `left` and `right` by `spec`; a row at or behind its own side's watermark (or without a time) is
    /// dropped and counted late in `counters`.
    pub fn new(
        left: Box<dyn Operator>,
        right: Box<dyn Operator>,
        spec: IntervalJoinSpec,
        counters: Arc<Counters>,
    ) -> Self {
        IntervalJoinOp {
            inputs: TwoInputs::new(left, right),
            spec,
            stores: [Store::default(), Store::default()],
            cached: Default::default(),
            out_watermark: i64::MIN,
            compacted_at: i64::MIN,
            pending: VecDeque::new(),
            done: false,
            counters,
            accounted: 0,
        }
    }

    fn add(&mut self, side: Side, batch: Batch) -> Result<()> {
        let (tcol, keys_e, other) = match side {
            Side::Left => (self.spec.left_time, &self.spec.left_keys, 1),
            Side::Right => (self.spec.right_time, &self.spec.right_keys, 0),
        };
        let own_wm = self.inputs.side_watermark(side);
        // The time column's values and mask taken once: checking the column's type per row
        // (inside `is_valid`/`i64s`) was most of q7's join time.
        let (ts, valid) = (batch.columns[tcol].i64s(), batch.columns[tcol].validity.as_deref());
        let on_time = |i: usize| valid.is_none_or(|m| m[i]) && ts[i] > own_wm;
        let kept = match valid {
            None => ts.iter().map(|&t| usize::from(t > own_wm)).sum(),
            Some(_) => (0..batch.num_rows).filter(|&i| on_time(i)).count(),
        };
        self.counters.add_late((batch.num_rows - kept) as u64);
        if kept == 0 {
            return Ok(());
        }
        let batch = if kept == batch.num_rows {
            batch
        } else {
            batch.take(&(0..batch.num_rows as u32).filter(|&i| on_time(i as usize)).collect::<Vec<_>>())
        };
        // Key columns that are columns of the batch are referenced, not copied.
        let key_cols = KeyCol::of(keys_e, &batch)?;
        let keys = KeyCol::resolve(&key_cols, &batch);
        let times = batch.columns[tcol].i64s();
        let (other_tcol, lower, upper) =
            (if other == 0 { self.spec.left_time } else { self.spec.right_time }, self.spec.lower, self.spec.upper);
        // Probe the other side (nothing to probe while it holds no row).
        let mut pairs: HashMap<u32, (Vec<u32>, Vec<u32>)> = HashMap::new();
        let mut buf = Vec::new();
        // One integer key: its values are read straight from the column, and only keys inside
        // the buffered keys' range are looked up.
        let int_keys = match keys[..] {
            [Column { data: ColumnData::I64(ref v), validity: None }] => Some(v.as_slice()),
            _ => None,
        };
        let (lo, hi) = self.stores[other].int_range;
        let candidate = |i: usize| int_keys.is_none_or(|v| lo <= v[i] && v[i] <= hi);
        let probes = if self.stores[other].is_empty() { 0 } else { (0..times.len()).filter(|&i| candidate(i)).count() };
        self.stores[other].before_probe(probes);
        let store = &self.stores[other];
        for (i, t) in times.iter().enumerate().take(if probes == 0 { 0 } else { times.len() }) {
            if !candidate(i) {
                continue;
            }
            store.probe(&keys, i, &mut buf, |b, r| {
                let ot = store.batches[b as usize].columns[other_tcol].i64s()[r as usize];
                let (lt, rt) = if side == Side::Left { (*t, ot) } else { (ot, *t) };
                if rt.saturating_add(lower) <= lt && lt <= rt.saturating_add(upper) {
                    let e = pairs.entry(b).or_default();
                    e.0.push(i as u32);
                    e.1.push(r);
                }
            });
        }
        let mut bs: Vec<u32> = pairs.keys().copied().collect();
        bs.sort_unstable();
        let mut out: Option<Batch> = None;
        for b in bs {
            let (new_rows, stored_rows) = &pairs[&b];
            let stored = &store.batches[b as usize];
            let part = match side {
                Side::Left => join_rows(
                    &batch,
                    new_rows,
                    stored,
                    &stored_rows.iter().map(|r| Some(*r)).collect::<Vec<_>>(),
                    &self.spec.right_types,
                ),
                Side::Right => join_rows(
                    stored,
                    stored_rows,
                    &batch,
                    &new_rows.iter().map(|r| Some(*r)).collect::<Vec<_>>(),
                    &self.spec.right_types,
                ),
            };
            out = Some(match out {
                None => part,
                Some(o) => append(o, part),
            });
        }
        if let Some(mut o) = out {
            if let Some(res) = &self.spec.residual {
                let mask = eval_mask(res, &o)?;
                o = o.filter(&mask);
            }
            if o.num_rows > 0 {
                self.pending.push_back(Msg::Batch(o));
            }
        }
        // Rows that no later row of the other side can match (its watermark has passed their
        // interval) are not buffered; compaction would only drop them. When one side runs
        // behind the other, none of its rows are.
        let other_wm = self.inputs.side_watermark(if other == 0 { Side::Left } else { Side::Right });
        let live = |t: i64| match side {
            Side::Left => t > other_wm.saturating_add(lower),
            Side::Right => t.saturating_add(upper) > other_wm,
        };
        let live_rows = times.iter().filter(|t| live(**t)).count();
        if live_rows == times.len() {
            self.stores[side as usize].buffer(batch, key_cols);
        } else if live_rows > 0 {
            let rows: Vec<u32> = (0..times.len() as u32).filter(|&i| live(times[i as usize])).collect();
            let batch = batch.take(&rows);
            let key_cols = KeyCol::of(keys_e, &batch)?;
            self.stores[side as usize].buffer(batch, key_cols);
        }
        self.account();
        Ok(())
    }

    fn account(&mut self) {
        let [l, r] = [0, 1].map(|i| self.stores[i].size + self.stores[i].rows * 28);
        self.inputs.set_buffered([l, r]);
        let now = l + r;
        self.counters.state_delta(now as i64 - self.accounted as i64);
        self.accounted = now;
    }

    /// Drops rows that can no longer match. Runs when the watermarks moved by half the interval
    /// (at least a second) since the last time, so its cost is amortised over many batches.
    fn compact(&mut self) -> Result<()> {
        let (wl, wr) = (self.inputs.side_watermark(Side::Left), self.inputs.side_watermark(Side::Right));
        let progress = wl.min(wr);
        let step = ((self.spec.upper - self.spec.lower) / 2).max(1000);
        if progress != i64::MAX && progress < self.compacted_at.saturating_add(step) {
            return Ok(());
        }
        self.compacted_at = progress;
        for side in [Side::Left, Side::Right] {
            let (tcol, keys_e) = match side {
                Side::Left => (self.spec.left_time, self.spec.left_keys.clone()),
                Side::Right => (self.spec.right_time, self.spec.right_keys.clone()),
            };
            let expired = |t: i64| match side {
                Side::Left => t <= wr.saturating_add(self.spec.lower),
                Side::Right => t.saturating_add(self.spec.upper) <= wl,
            };
            let old = std::mem::take(&mut self.stores[side as usize]);
            let mut store = Store::default();
            let mut kept = Vec::with_capacity(old.batches.len());
            for (i, b) in old.batches.into_iter().enumerate() {
                let ts = b.columns[tcol].i64s();
                let keep: Vec<u32> = (0..b.num_rows as u32).filter(|i| !expired(ts[*i as usize])).collect();
                if keep.is_empty() {
                    continue;
                }
                let whole = keep.len() == b.num_rows;
                kept.push(whole.then_some(i));
                let b = if whole { b } else { b.take(&keep) };
                let keys = KeyCol::of(&keys_e, &b)?;
                store.buffer(b, keys);
            }
            self.stores[side as usize] = store;
            self.cached[side as usize].keep(kept.into_iter());
        }
        self.account();
        Ok(())
    }
}

impl Operator for IntervalJoinOp {
    fn next(&mut self) -> Result<Option<Msg>> {
        loop {
            if let Some(m) = self.pending.pop_front() {
                return Ok(Some(m));
            }
            if self.done {
                return Ok(None);
            }
            match self.inputs.pull()? {
                None => self.done = true,
                Some((side, Msg::Batch(b))) => {
                    self.add(side, b)?;
                    if self.pending.is_empty() {
                        return Ok(crate::operator::absorbed());
                    }
                }
                Some((_, Msg::Watermark(_))) => {
                    let (wl, wr) = (self.inputs.side_watermark(Side::Left), self.inputs.side_watermark(Side::Right));
                    let wm = if wl == i64::MAX && wr == i64::MAX {
                        i64::MAX
                    } else {
                        wl.min(wr).min(wr.saturating_add(self.spec.lower)).min(wl.saturating_sub(self.spec.upper))
                    };
                    self.compact()?;
                    if wm > self.out_watermark {
                        self.out_watermark = wm;
                        self.pending.push_back(Msg::Watermark(wm));
                    }
                }
                Some((_, m @ (Msg::Barrier(_) | Msg::Idle))) => return Ok(Some(m)),
            }
        }
    }

    /// The buffered rows of both sides; after a restore they are indexed again when probed.
    fn snapshot(&mut self, e: &mut Enc) {
        self.inputs.snapshot(e);
        e.i64(self.out_watermark);
        e.i64(self.compacted_at);
        e.bool(self.done);
        for (store, cache) in self.stores.iter().zip(&mut self.cached) {
            e.batches_cached(&store.batches, cache);
        }
    }

    fn restore(&mut self, d: &mut Dec) -> Result<()> {
        self.inputs.restore(d)?;
        self.out_watermark = d.i64()?;
        self.compacted_at = d.i64()?;
        self.done = d.bool()?;
        for side in [Side::Left, Side::Right] {
            let keys_e = if side == Side::Left { &self.spec.left_keys } else { &self.spec.right_keys };
            let n = d.len(16)?;
            for _ in 0..n {
                let b = d.batch()?;
                let keys = KeyCol::of(keys_e, &b)?;
                self.stores[side as usize].buffer(b, keys);
            }
        }
        self.account();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use darwin_common::Value;

    use crate::testing::Script;

    fn rows(keys_times: &[(i64, i64)]) -> Batch {
        let v: Vec<Vec<Value>> =
            keys_times.iter().map(|(k, t)| vec![Value::BigInt(*k), Value::Timestamp(*t)]).collect();
        Batch::from_rows(&v, &[DataType::BigInt, DataType::Timestamp])
    }

    /// Rows that the other side's watermark has already passed by more than the interval are
    /// joined with what is buffered but not buffered themselves: a side running behind the
    /// other holds nothing.
    #[test]
    fn rows_no_later_row_can_match_are_not_buffered() {
        let (expired, live, right) = (rows(&[(1, 100), (1, 4500)]), rows(&[(1, 4800)]), rows(&[(1, 5100)]));
        // The right side's watermark (5000) arrives first; left rows at or before 5000 - 500
        // cannot meet a later right row.
        let left = vec![Msg::Idle, Msg::Idle, Msg::Batch(expired), Msg::Batch(live.clone())];
        let right = vec![Msg::Watermark(5000), Msg::Idle, Msg::Idle, Msg::Idle, Msg::Idle, Msg::Batch(right.clone())];
        let types = vec![DataType::BigInt, DataType::Timestamp];
        let spec = IntervalJoinSpec {
            left_time: 1,
            right_time: 1,
            lower: -500,
            upper: 500,
            left_keys: vec![Expr::column(0, DataType::BigInt)],
            right_keys: vec![Expr::column(0, DataType::BigInt)],
            residual: None,
            left_types: types.clone(),
            right_types: types,
        };
        let counters = Arc::new(Counters::default());
        let mut op =
            IntervalJoinOp::new(Box::new(Script(left.into())), Box::new(Script(right.into())), spec, counters.clone());
        let mut out = vec![];
        while let Some(m) = op.next().unwrap() {
            if let Msg::Batch(b) = m {
                let types = [DataType::BigInt, DataType::Timestamp, DataType::BigInt, DataType::Timestamp];
                out.extend((0..b.num_rows).map(|i| b.row(i, &types)));
            }
        }
        let t = |ms| Value::Timestamp(ms);
        assert_eq!(out, vec![vec![Value::BigInt(1), t(4800), Value::BigInt(1), t(5100)]]);
        let peak = counters.peak_state_bytes.load(std::sync::atomic::Ordering::Relaxed) as usize;
        // Only the live left row was ever held: the right row came after the left side ended.
        assert_eq!(peak, live.size_bytes() + 28);
    }
}
