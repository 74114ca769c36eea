//! Window aggregation (TUMBLE/HOP assigned here, or windows carried by the input) and the
//! global GROUP BY. State is one group table per open window, ordered by window end; a window
//! fires, is emitted and is freed when the watermark reaches its end - 1 ms. A row whose window
//! has already fired is late: it is dropped and counted.

use super::agg::{eval_keys, GroupTable};
use super::window_assign::windows_of;
use crate::checkpoint::codec::{Dec, Enc};
use crate::column::{Batch, Column, ColumnData};
use crate::error::Result;
use crate::operator::{Counters, Msg, Operator};
use darwin_common::DataType;
use darwin_plan::physical::{GroupKey, WindowSpec};
use darwin_plan::{AggCall, Expr};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

pub struct WindowAggOp {
    input: Box<dyn Operator>,
    spec: WindowSpec,
    group: Vec<GroupKey>,
    key_exprs: Vec<Expr>,
    key_types: Vec<DataType>,
    aggs: Vec<AggCall>,
    /// Open windows by (end, start).
    windows: BTreeMap<(i64, i64), GroupTable>,
    watermark: i64,
    pending: VecDeque<Msg>,
    done: bool,
    counters: Arc<Counters>,
    accounted: usize,
}

impl WindowAggOp {
    pub fn new(
        input: Box<dyn Operator>,
        spec: WindowSpec,
        group: Vec<GroupKey>,
        aggs: Vec<AggCall>,
        counters: Arc<Counters>,
    ) -> Self {
        let key_exprs: Vec<Expr> =
            group.iter().filter_map(|k| if let GroupKey::Expr(e) = k { Some(e.clone()) } else { None }).collect();
        let key_types = key_exprs.iter().map(|e| e.ty).collect();
        WindowAggOp {
            input,
            spec,
            group,
            key_exprs,
            key_types,
            aggs,
            windows: BTreeMap::new(),
            watermark: i64::MIN,
            pending: VecDeque::new(),
            done: false,
            counters,
            accounted: 0,
        }
    }

    fn add(&mut self, batch: &Batch) -> Result<()> {
        let keys = eval_keys(&self.key_exprs, batch)?;
        // Rows per window, in order of first appearance.
        let mut per_window: Vec<((i64, i64), Vec<u32>)> = Vec::new();
        let mut late = 0u64;
        let mut push = |w: (i64, i64), r: u32, late: &mut u64, wm: i64| {
            if w.1 - 1 <= wm {
                *late += 1;
                return;
            }
            match per_window.iter_mut().rev().find(|(k, _)| *k == w) {
                Some((_, rows)) => rows.push(r),
                None => per_window.push((w, vec![r])),
            }
        };
        match &self.spec {
            WindowSpec::Assign { window, time_col } => {
                let c = &batch.columns[*time_col];
                let ts = c.i64s();
                let mut wins = Vec::new();
                for (i, t) in ts.iter().enumerate() {
                    if !c.is_valid(i) {
                        late += 1;
                        continue;
                    }
                    windows_of(*t, *window, &mut wins);
                    let before = late;
                    for w in &wins {
                        push(*w, i as u32, &mut late, self.watermark);
                    }
                    // A HOP row late for some of its windows counts once.
                    late = before + u64::from(late > before);
                }
            }
            WindowSpec::Existing { start_col, end_col } => {
                let (s, e) = (&batch.columns[*start_col], &batch.columns[*end_col]);
                for i in 0..batch.num_rows {
                    if !s.is_valid(i) || !e.is_valid(i) {
                        late += 1;
                        continue;
                    }
                    push((s.i64s()[i], e.i64s()[i]), i as u32, &mut late, self.watermark);
                }
            }
        }
        self.counters.add_late(late);
        for ((start, end), rows) in per_window {
            let table =
                self.windows.entry((end, start)).or_insert_with(|| GroupTable::new(&self.key_types, &self.aggs));
            table.update(batch, &keys, &rows)?;
        }
        self.account();
        Ok(())
    }

    fn account(&mut self) {
        let now: usize = self.windows.values().map(GroupTable::memory_bytes).sum();
        self.counters.state_delta(now as i64 - self.accounted as i64);
        self.accounted = now;
    }

    fn fire(&mut self, wm: i64) {
        while let Some((&(end, start), _)) = self.windows.first_key_value() {
            if end - 1 > wm {
                break;
            }
            let table = self.windows.remove(&(end, start)).expect("present");
            let n = table.groups();
            let (keys, aggs) = table.finish();
            let mut keys = keys.into_iter();
            let mut cols: Vec<Column> = self
                .group
                .iter()
                .map(|k| match k {
                    GroupKey::Expr(_) => keys.next().expect("one key column per key expression"),
                    GroupKey::WindowStart => Column::new(ColumnData::I64(vec![start; n]), None),
                    GroupKey::WindowEnd => Column::new(ColumnData::I64(vec![end; n]), None),
                })
                .collect();
            cols.extend(aggs);
            if n > 0 {
                self.pending.push_back(Msg::Batch(Batch::new(cols, n)));
            }
        }
        self.account();
    }
}

impl Operator for WindowAggOp {
    fn next(&mut self) -> Result<Option<Msg>> {
        loop {
            if let Some(m) = self.pending.pop_front() {
                return Ok(Some(m));
            }
            if self.done {
                return Ok(None);
            }
            match self.input.next()? {
                None => {
                    self.done = true;
                    self.fire(i64::MAX);
                }
                // Not `absorbed()`: pulling until a window fires lets this side run ahead of a
                // join's other input, which keeps an interval join's buffer small (q7: 4x faster).
                Some(Msg::Batch(b)) => self.add(&b)?,
                Some(Msg::Watermark(w)) => {
                    if w > self.watermark {
                        self.watermark = w;
                        self.fire(w);
                    }
                    self.pending.push_back(Msg::Watermark(w));
                }
                Some(m @ (Msg::Barrier(_) | Msg::Idle)) => return Ok(Some(m)),
            }
        }
    }

    fn snapshot(&self, e: &mut Enc) {
        e.i64(self.watermark);
        e.bool(self.done);
        e.len(self.windows.len());
        for ((end, start), table) in &self.windows {
            e.i64(*end);
            e.i64(*start);
            table.snapshot(e);
        }
    }

    fn restore(&mut self, d: &mut Dec) -> Result<()> {
        self.watermark = d.i64()?;
        self.done = d.bool()?;
        let n = d.len(16)?;
        for _ in 0..n {
            let (end, start) = (d.i64()?, d.i64()?);
            let mut table = GroupTable::new(&self.key_types, &self.aggs);
            table.restore(d)?;
            self.windows.insert((end, start), table);
        }
        self.account();
        Ok(())
    }
}

/// GROUP BY without a window: one group table; the result is emitted when the input ends.
pub struct GlobalAggOp {
    input: Box<dyn Operator>,
    keys: Vec<Expr>,
    table: Option<GroupTable>,
    counters: Arc<Counters>,
    accounted: usize,
}

impl GlobalAggOp {
    pub fn new(input: Box<dyn Operator>, keys: Vec<Expr>, aggs: Vec<AggCall>, counters: Arc<Counters>) -> Self {
        let types: Vec<DataType> = keys.iter().map(|k| k.ty).collect();
        GlobalAggOp { input, table: Some(GroupTable::new(&types, &aggs)), keys, counters, accounted: 0 }
    }
}

impl Operator for GlobalAggOp {
    fn next(&mut self) -> Result<Option<Msg>> {
        loop {
            let Some(table) = self.table.as_mut() else {
                return Ok(None);
            };
            match self.input.next()? {
                Some(Msg::Batch(b)) => {
                    let keys = eval_keys(&self.keys, &b)?;
                    let rows: Vec<u32> = (0..b.num_rows as u32).collect();
                    table.update(&b, &keys, &rows)?;
                    let now = table.memory_bytes();
                    self.counters.state_delta(now as i64 - self.accounted as i64);
                    self.accounted = now;
                    return Ok(crate::operator::absorbed());
                }
                // The result has no event time, so watermarks stop here.
                Some(Msg::Watermark(_)) => {}
                Some(m @ (Msg::Barrier(_) | Msg::Idle)) => return Ok(Some(m)),
                None => {
                    let table = self.table.take().expect("present");
                    let n = table.groups();
                    let global_empty = self.keys.is_empty() && n == 0;
                    let (mut cols, aggs) = table.finish();
                    cols.extend(aggs);
                    self.counters.state_delta(-(self.accounted as i64));
                    if global_empty {
                        return Ok(None);
                    }
                    return Ok(Some(Msg::Batch(Batch::new(cols, n))));
                }
            }
        }
    }

    fn snapshot(&self, e: &mut Enc) {
        e.bool(self.table.is_some());
        if let Some(t) = &self.table {
            t.snapshot(e);
        }
    }

    fn restore(&mut self, d: &mut Dec) -> Result<()> {
        if d.bool()? {
            self.table.as_mut().expect("a new operator has its table").restore(d)?;
            let now = self.table.as_ref().map_or(0, GroupTable::memory_bytes);
            self.counters.state_delta(now as i64);
            self.accounted = now;
        } else {
            self.table = None;
        }
        Ok(())
    }
}
