//! Window aggregation (TUMBLE/HOP assigned here, or windows carried by the input) and the
//! global GROUP BY. State is one group table per open window, ordered by window end; a window
//! fires, is emitted and is freed when the watermark reaches its end - 1 ms. A row whose window
//! has already fired is late: it is dropped and counted.

use super::agg::eval_keys;
use super::group_table::GroupTable;
use super::pass_through::{one_row_partial, Probe};
use super::window_assign::windows_of;
use crate::checkpoint::codec::{Dec, Enc};
use crate::column::{Batch, Column, ColumnData};
use crate::error::Result;
use crate::operator::{Counters, Msg, Operator};
use darwin_common::DataType;
use darwin_plan::physical::{GroupKey, WindowSpec};
use darwin_plan::{AggCall, Expr};
use std::collections::VecDeque;
use std::sync::Arc;

/// A window aggregate's update of one batch by compiled code: window assignment, late rows and
/// the typed group-table updates in one loop (`darwin explain --code`).
pub type AggFn = fn(&Batch, &mut WindowTables) -> Result<()>;

/// Rows of a batch per window ((start, end), row numbers).
type WindowRows = Vec<((i64, i64), Vec<u32>)>;

/// The open windows of a window aggregate: one group table per window, ordered by (end, start).
/// Few windows are open at a time and rows mostly go to the newest, so a sorted deque with a
/// hint at the last one used beats a tree.
pub struct WindowTables {
    open: VecDeque<((i64, i64), GroupTable)>,
    hint: usize,
    /// The memory each open table had when last accounted (parallel to `open`), their sum, and
    /// the range of tables used since (`touched`). Memory is accounted after every batch, and
    /// summing every open table instead cost 37% of q5 on 2 workers, where a merging aggregate
    /// behind an exchange holds 100+ windows while the slower worker catches up.
    bytes: VecDeque<usize>,
    total_bytes: usize,
    touched: (usize, usize),
    key_types: Vec<DataType>,
    aggs: Vec<AggCall>,
    /// The operator's watermark: a window whose end - 1 is at or below it has fired.
    pub watermark: i64,
    /// Rows found late (or without a time) since the operator last counted them.
    pub late: u64,
}

impl WindowTables {
    fn new(key_types: Vec<DataType>, aggs: Vec<AggCall>) -> Self {
        WindowTables {
            open: VecDeque::new(),
            hint: 0,
            bytes: VecDeque::new(),
            total_bytes: 0,
            touched: (0, 0),
            key_types,
            aggs,
            watermark: i64::MIN,
            late: 0,
        }
    }

    /// The table of window [start, end), opened if new.
    #[inline]
    pub fn table(&mut self, start: i64, end: i64) -> &mut GroupTable {
        if self.open.get(self.hint).is_some_and(|(w, _)| *w == (end, start)) {
            return &mut self.open[self.hint].1;
        }
        // Rows of a HOP (one copy per window, in window order) visit the windows in turn.
        if self.open.get(self.hint + 1).is_some_and(|(w, _)| *w == (end, start)) {
            self.hint += 1;
            self.touched.1 = self.touched.1.max(self.hint);
            return &mut self.open[self.hint].1;
        }
        self.find_or_open(start, end)
    }

    fn find_or_open(&mut self, start: i64, end: i64) -> &mut GroupTable {
        let key = (end, start);
        self.hint = match self.open.binary_search_by(|(w, _)| w.cmp(&key)) {
            Ok(i) => i,
            Err(i) => {
                self.open.insert(i, (key, GroupTable::new(&self.key_types, &self.aggs)));
                self.bytes.insert(i, 0);
                // Tables at or after `i` moved up one.
                let (lo, hi) = &mut self.touched;
                *lo += usize::from(*lo >= i);
                *hi += usize::from(*hi >= i);
                i
            }
        };
        self.touched = (self.touched.0.min(self.hint), self.touched.1.max(self.hint));
        &mut self.open[self.hint].1
    }

    /// Removes and returns the oldest window if it fires at watermark `wm`.
    fn pop_fired(&mut self, wm: i64) -> Option<((i64, i64), GroupTable)> {
        let (end, _) = self.open.front()?.0;
        if end - 1 > wm {
            return None;
        }
        self.hint = self.hint.saturating_sub(1);
        self.touched = (self.touched.0.saturating_sub(1), self.touched.1.saturating_sub(1));
        self.total_bytes -= self.bytes.pop_front().expect("one entry per open table");
        self.open.pop_front()
    }

    /// The memory of the open tables: re-measures only the tables used since the last call
    /// (every table used was the hint at some point; the hint itself stays touched).
    fn memory_bytes(&mut self) -> usize {
        let (lo, hi) = self.touched;
        for i in lo..(hi + 1).min(self.open.len()) {
            let now = self.open[i].1.memory_bytes();
            self.total_bytes = self.total_bytes + now - self.bytes[i];
            self.bytes[i] = now;
        }
        self.touched = (self.hint, self.hint);
        debug_assert_eq!(self.total_bytes, self.open.iter().map(|(_, t)| t.memory_bytes()).sum::<usize>());
        self.total_bytes
    }

    fn groups(&self) -> usize {
        self.open.iter().map(|(_, t)| t.groups()).sum()
    }
}

pub struct WindowAggOp {
    input: Box<dyn Operator>,
    spec: WindowSpec,
    group: Vec<GroupKey>,
    key_exprs: Vec<Expr>,
    windows: WindowTables,
    /// Compiled mode's generated update (None: the generic one).
    kernel: Option<AggFn>,
    pending: VecDeque<Msg>,
    done: bool,
    counters: Arc<Counters>,
    accounted: usize,
    /// Phase 1 of a two-phase aggregate: whether aggregating reduces the rows (else they pass
    /// through as one-row partials, `pass_through.rs`).
    probe: Option<Probe>,
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
            windows: WindowTables::new(key_types, aggs),
            kernel: None,
            pending: VecDeque::new(),
            done: false,
            counters,
            accounted: 0,
            probe: None,
        }
    }

    /// Marks the operator as phase 1 of a two-phase aggregate, free to pass rows through.
    pub fn partial(mut self, partial: bool) -> Self {
        self.probe = partial.then(Probe::default);
        self
    }

    /// Runs compiled code's update (`agg_kernel_key`) instead of the generic one.
    pub fn with_kernel(mut self, kernel: Option<AggFn>) -> Self {
        self.kernel = kernel;
        self
    }

    fn add(&mut self, batch: &Batch) -> Result<()> {
        match &self.probe {
            Some(p) if p.pass_through => self.pass_on(batch),
            Some(p) if p.watching() => {
                let before = self.windows.groups();
                self.aggregate(batch)?;
                let new_groups = self.windows.groups() - before;
                if let Some(p) = &mut self.probe {
                    p.observe(batch.num_rows, new_groups, &self.windows.aggs);
                }
                Ok(())
            }
            _ => self.aggregate(batch),
        }
    }

    /// Sends each row on, per window, as the partial aggregate of that row alone.
    fn pass_on(&mut self, batch: &Batch) -> Result<()> {
        let (per_window, late) = self.rows_per_window(batch);
        self.counters.add_late(late);
        let keys = eval_keys(&self.key_exprs, batch)?;
        let partials = self.windows.aggs.iter().map(|a| one_row_partial(a, batch)).collect::<Result<Vec<_>>>()?;
        for ((start, end), rows) in per_window {
            let n = rows.len();
            let mut keys = keys.iter();
            let mut cols: Vec<Column> = self
                .group
                .iter()
                .map(|k| match k {
                    GroupKey::Expr(_) => keys.next().expect("one key column per key expression").take(&rows),
                    GroupKey::WindowStart => Column::new(ColumnData::I64(vec![start; n]), None),
                    GroupKey::WindowEnd => Column::new(ColumnData::I64(vec![end; n]), None),
                })
                .collect();
            cols.extend(partials.iter().map(|c| c.take(&rows)));
            self.pending.push_back(Msg::Batch(Batch::new(cols, n)));
        }
        Ok(())
    }

    fn aggregate(&mut self, batch: &Batch) -> Result<()> {
        if let Some(kernel) = self.kernel {
            kernel(batch, &mut self.windows)?;
            self.counters.add_late(std::mem::take(&mut self.windows.late));
            self.account();
            return Ok(());
        }
        let keys = eval_keys(&self.key_exprs, batch)?;
        let (per_window, late) = self.rows_per_window(batch);
        self.counters.add_late(late);
        for ((start, end), rows) in per_window {
            let table = self.windows.table(start, end);
            table.update(batch, &keys, &rows)?;
        }
        self.account();
        Ok(())
    }

    /// The rows of each window (in order of first appearance) that are not late, and the
    /// number of late rows.
    fn rows_per_window(&self, batch: &Batch) -> (WindowRows, u64) {
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
                        push(*w, i as u32, &mut late, self.windows.watermark);
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
                    push((s.i64s()[i], e.i64s()[i]), i as u32, &mut late, self.windows.watermark);
                }
            }
        }
        (per_window, late)
    }

    fn account(&mut self) {
        let now = self.windows.memory_bytes();
        self.counters.state_delta(now as i64 - self.accounted as i64);
        self.accounted = now;
    }

    fn fire(&mut self, wm: i64) {
        while let Some(((end, start), table)) = self.windows.pop_fired(wm) {
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
                    if w > self.windows.watermark {
                        self.windows.watermark = w;
                        self.fire(w);
                    }
                    self.pending.push_back(Msg::Watermark(w));
                }
                Some(m @ (Msg::Barrier(_) | Msg::Idle)) => return Ok(Some(m)),
            }
        }
    }

    fn snapshot(&mut self, e: &mut Enc) {
        e.i64(self.windows.watermark);
        e.bool(self.done);
        e.len(self.windows.open.len());
        for ((end, start), table) in &mut self.windows.open {
            e.i64(*end);
            e.i64(*start);
            table.snapshot(e);
        }
    }

    fn restore(&mut self, d: &mut Dec) -> Result<()> {
        self.windows.watermark = d.i64()?;
        self.done = d.bool()?;
        let n = d.len(16)?;
        for _ in 0..n {
            let (end, start) = (d.i64()?, d.i64()?);
            let table = self.windows.table(start, end);
            if table.groups() > 0 {
                return Err(d.error("the checkpoint holds the same window twice"));
            }
            table.restore(d)?;
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

    fn snapshot(&mut self, e: &mut Enc) {
        e.bool(self.table.is_some());
        if let Some(t) = &mut self.table {
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
