//! Session window aggregation. Rows are kept (by reference to their input batch) in sessions per
//! key; a new row opens `[ts, ts + gap)` and merges every session it overlaps or touches (as in
//! Flink). A session fires when the watermark reaches its end; its rows are then aggregated and
//! released.

use super::windowed::{self, Windowed};
use crate::error::Result;
use crate::operator::{Counters, Msg, Operator};
use darwin_columnar::codec::{Dec, Enc};
use darwin_columnar::column::{Batch, Column, ColumnBuilder, ColumnData};
use darwin_columnar::eval::eval_keys;
use darwin_columnar::keys::encode_row;
use darwin_columnar::keys::FastMap;
use darwin_plan::physical::GroupKey;
use darwin_plan::{AggCall, Expr};
use darwin_state::agg::Accumulator;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

struct Session {
    start: i64,
    end: i64,
    rows: Vec<(u32, u32)>,
}

/// Session window aggregate (module docs): per key, rows less than the gap apart form a session, which is
/// aggregated and emitted once the watermark reaches its end.
pub struct SessionAggOp {
    input: Box<dyn Operator>,
    gap: i64,
    time_col: usize,
    group: Vec<GroupKey>,
    key_exprs: Vec<Expr>,
    aggs: Vec<AggCall>,
    batches: Vec<Option<Batch>>,
    live_rows: Vec<usize>,
    sessions: FastMap<Vec<u8>, Vec<Session>>,
    watermark: i64,
    pending: VecDeque<Msg>,
    /// The watermark of a firing that stopped early (`Windowed::unfinished`).
    unfinished: Option<i64>,
    done: bool,
    counters: Arc<Counters>,
    accounted: usize,
    /// Bytes of the live batches, kept as they come and go (summing the batch list after every
    /// batch grew with the length of the run).
    buffered: usize,
}

impl SessionAggOp {
    /// Sessions with a `gap` in ms of event time over column `time_col`, per key of `group`, aggregating `aggs`.
    /// Output: the `group` columns in order (keys, session start and end), then one column per aggregate.
    /// Rows without a time, or whose session `[t, t + gap)` the watermark has passed, are counted late in
    /// `counters`.
    pub fn new(
        input: Box<dyn Operator>,
        gap: i64,
        time_col: usize,
        group: Vec<GroupKey>,
        aggs: Vec<AggCall>,
        counters: Arc<Counters>,
    ) -> Self {
        let key_exprs =
            group.iter().filter_map(|k| if let GroupKey::Expr(e) = k { Some(e.clone()) } else { None }).collect();
        SessionAggOp {
            input,
            gap,
            time_col,
            group,
            key_exprs,
            aggs,
            batches: Vec::new(),
            live_rows: Vec::new(),
            sessions: FastMap::default(),
            watermark: i64::MIN,
            pending: VecDeque::new(),
            unfinished: None,
            done: false,
            counters,
            accounted: 0,
            buffered: 0,
        }
    }

    fn add(&mut self, batch: Batch) -> Result<()> {
        let keys = eval_keys(&self.key_exprs, &batch)?;
        let tc = &batch.columns[self.time_col];
        let bi = self.batches.len() as u32;
        let mut live = 0;
        let mut late = 0;
        let mut buf = Vec::new();
        for i in 0..batch.num_rows {
            if !tc.is_valid(i) {
                late += 1;
                continue;
            }
            let ts = tc.i64s()[i];
            if ts.saturating_add(self.gap) <= self.watermark {
                late += 1;
                continue;
            }
            buf.clear();
            encode_row(&keys, i, &mut buf);
            let list = self.sessions.entry(buf.clone()).or_default();
            let mut s = Session { start: ts, end: ts.saturating_add(self.gap), rows: vec![(bi, i as u32)] };
            let mut k = 0;
            while k < list.len() {
                if list[k].start <= s.end && s.start <= list[k].end {
                    let o = list.swap_remove(k);
                    s.start = s.start.min(o.start);
                    s.end = s.end.max(o.end);
                    s.rows.extend(o.rows);
                } else {
                    k += 1;
                }
            }
            list.push(s);
            live += 1;
        }
        self.counters.add_late(late);
        self.live_rows.push(live);
        if live > 0 {
            self.buffered += batch.size_bytes();
        }
        self.batches.push(if live > 0 { Some(batch) } else { None });
        self.account();
        Ok(())
    }

    fn account(&mut self) {
        let now = self.buffered + self.sessions.len() * 64;
        self.counters.state_delta(now as i64 - self.accounted as i64);
        self.accounted = now;
    }

    fn fire(&mut self, wm: i64) -> Result<()> {
        let mut fired: Vec<(Vec<u8>, Session)> = Vec::new();
        for (key, list) in self.sessions.iter_mut() {
            let mut k = 0;
            while k < list.len() {
                // An event at exactly `end` would still extend the session (touching sessions
                // merge, as in Flink), so it closes only once the watermark reaches `end`.
                if list[k].end <= wm {
                    fired.push((key.clone(), list.swap_remove(k)));
                } else {
                    k += 1;
                }
            }
        }
        self.sessions.retain(|_, l| !l.is_empty());
        if fired.is_empty() {
            return Ok(());
        }
        fired.sort_by(|a, b| (a.1.end, a.1.start, &a.0).cmp(&(b.1.end, b.1.start, &b.0)));
        let n = fired.len();
        let mut accs: Vec<Accumulator> = self.aggs.iter().map(Accumulator::new).collect();
        let mut per_batch: HashMap<u32, Vec<(u32, u32)>> = HashMap::new();
        for (g, (_, s)) in fired.iter().enumerate() {
            for (b, r) in &s.rows {
                per_batch.entry(*b).or_default().push((g as u32, *r));
            }
        }
        let mut order: Vec<u32> = per_batch.keys().copied().collect();
        order.sort_unstable();
        let mut key_builders: Vec<ColumnBuilder> = self.key_exprs.iter().map(|e| ColumnBuilder::new(e.ty, n)).collect();
        let mut first_rows: Vec<Option<(u32, u32)>> = vec![None; n];
        for (g, (_, s)) in fired.iter().enumerate() {
            first_rows[g] = s.rows.first().copied();
        }
        let mut key_cols_of: HashMap<u32, Vec<Column>> = HashMap::new();
        for b in &order {
            let batch = self.batches[*b as usize].as_ref().expect("live batch");
            for acc in &mut accs {
                acc.update(n, batch, &per_batch[b])?;
            }
            key_cols_of.insert(*b, eval_keys(&self.key_exprs, batch)?);
            self.live_rows[*b as usize] -= per_batch[b].len();
            if self.live_rows[*b as usize] == 0 {
                if let Some(freed) = self.batches[*b as usize].take() {
                    self.buffered -= freed.size_bytes();
                }
            }
        }
        for (b, r) in first_rows.into_iter().flatten() {
            for (kb, c) in key_builders.iter_mut().zip(&key_cols_of[&b]) {
                kb.push_from(c, r as usize);
            }
        }
        let mut keys = key_builders.into_iter().map(ColumnBuilder::finish);
        let mut cols: Vec<Column> = self
            .group
            .iter()
            .map(|k| match k {
                GroupKey::Expr(_) => keys.next().expect("key column"),
                GroupKey::WindowStart => Column::new(ColumnData::I64(fired.iter().map(|f| f.1.start).collect()), None),
                GroupKey::WindowEnd => Column::new(ColumnData::I64(fired.iter().map(|f| f.1.end).collect()), None),
            })
            .collect();
        for a in &accs {
            cols.push(a.finish(n)?);
        }
        self.pending.push_back(Msg::Batch(Batch::new(cols, n)));
        self.account();
        Ok(())
    }
}

impl Windowed for SessionAggOp {
    fn input(&mut self) -> &mut dyn Operator {
        self.input.as_mut()
    }
    fn pending(&mut self) -> &mut VecDeque<Msg> {
        &mut self.pending
    }
    fn done(&mut self) -> &mut bool {
        &mut self.done
    }
    fn watermark(&mut self) -> &mut i64 {
        &mut self.watermark
    }
    fn add(&mut self, batch: Batch) -> Result<()> {
        SessionAggOp::add(self, batch)
    }
    fn fire(&mut self, wm: i64) -> Result<bool> {
        // Its output is at most one row per group held, so it fires whole.
        SessionAggOp::fire(self, wm).map(|()| true)
    }
    fn unfinished(&mut self) -> &mut Option<i64> {
        &mut self.unfinished
    }
    const YIELD_AFTER_BATCH: bool = true;
}

impl Operator for SessionAggOp {
    fn next(&mut self) -> Result<Option<Msg>> {
        windowed::next(self)
    }

    /// The open sessions (sorted, so equal state encodes to equal bytes) and their rows,
    /// gathered into one batch.
    fn snapshot(&mut self, e: &mut Enc) {
        e.i64(self.watermark);
        e.bool(self.done);
        let mut open: Vec<(&Vec<u8>, &Session)> =
            self.sessions.iter().flat_map(|(k, l)| l.iter().map(move |s| (k, s))).collect();
        open.sort_by(|a, b| (a.1.start, a.1.end, a.0).cmp(&(b.1.start, b.1.end, b.0)));
        let mut builders: Option<Vec<ColumnBuilder>> = None;
        e.len(open.len());
        for (key, s) in &open {
            e.bytes(key);
            e.i64(s.start);
            e.i64(s.end);
            e.len(s.rows.len());
            for (b, r) in &s.rows {
                let batch = self.batches[*b as usize].as_ref().expect("a session's rows are live");
                let bs =
                    builders.get_or_insert_with(|| batch.columns.iter().map(|c| ColumnBuilder::like(c, 64)).collect());
                for (bld, c) in bs.iter_mut().zip(&batch.columns) {
                    bld.push_from(c, *r as usize);
                }
            }
        }
        let cols: Vec<Column> = builders.unwrap_or_default().into_iter().map(ColumnBuilder::finish).collect();
        let n = cols.first().map_or(0, Column::len);
        e.batch(&Batch::new(cols, n));
    }

    fn restore(&mut self, d: &mut Dec) -> Result<()> {
        self.watermark = d.i64()?;
        self.done = d.bool()?;
        let n = d.len(32)?;
        let mut next = 0u32;
        for _ in 0..n {
            let key = d.bytes()?.to_vec();
            let (start, end) = (d.i64()?, d.i64()?);
            let rows = d.len(0)?;
            let s = Session { start, end, rows: (next..next + rows as u32).map(|r| (0, r)).collect() };
            next += rows as u32;
            self.sessions.entry(key).or_default().push(s);
        }
        let batch = d.batch()?;
        if batch.num_rows != next as usize {
            return Err(d.error("the sessions' rows do not match the stored batch"));
        }
        if next > 0 {
            self.live_rows.push(next as usize);
            self.buffered += batch.size_bytes();
            self.batches.push(Some(batch));
        }
        self.account();
        Ok(())
    }
}
