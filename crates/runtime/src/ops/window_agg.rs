//! Window aggregation (TUMBLE/HOP assigned here, or windows carried by the input) and the
//! global GROUP BY. State is one group table per open window, ordered by window end; a window
//! fires, is emitted and is freed when the watermark reaches its end - 1 ms. A row whose window
//! has already fired is late: it is dropped and counted.

use super::pass_through::{one_row_partial, Probe};
use super::window_assign::{last_window_start, windows_of};
use super::windowed::{self, Windowed};
use crate::error::Result;
use crate::operator::{Counters, Msg, Operator};
use darwin_columnar::codec::{Dec, Enc};
use darwin_columnar::column::{Batch, Column, ColumnData};
use darwin_columnar::eval::eval;
use darwin_columnar::eval::eval_keys;
use darwin_common::DataType;
use darwin_plan::physical::{GroupKey, WindowSpec};
use darwin_plan::{AggCall, Expr, ExprKind, WindowKind};
use darwin_state::group_table::GroupTable;
use darwin_state::State;
use std::collections::VecDeque;
use std::sync::Arc;

/// A window aggregate's update of one batch by compiled code: window assignment, late rows and
/// the typed group-table updates in one loop (`darwin explain --code`).
pub type AggFn = fn(&Batch, &mut WindowTables) -> Result<()>;

/// Rows of a batch per window ((start, end), row numbers).
type WindowRows = Vec<((i64, i64), Vec<u32>)>;

/// Sorts a batch's rows into windows (`WindowAggOp::rows_per_window`).
struct Sorter<'a> {
    per_window: WindowRows,
    spare: &'a mut Vec<Vec<u32>>,
    late: u64,
    /// The operator's watermark: a window whose end - 1 is at or below it has fired.
    wm: i64,
}

impl Sorter<'_> {
    /// The slot of window `w` in `per_window` (opened if new), or None if it has fired.
    fn slot(&mut self, w: (i64, i64)) -> Option<usize> {
        if w.1 - 1 <= self.wm {
            return None;
        }
        Some(match self.per_window.iter().rposition(|(k, _)| *k == w) {
            Some(k) => k,
            None => {
                self.per_window.push((w, self.spare.pop().unwrap_or_default()));
                self.per_window.len() - 1
            }
        })
    }

    /// Adds row `i` to a slot, or counts it late.
    #[inline]
    fn add(&mut self, slot: Option<usize>, i: usize) {
        match slot {
            Some(k) => self.per_window[k].1.push(i as u32),
            None => self.late += 1,
        }
    }
}

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
    /// The groups of the window that fired last: a new window's table is sized for as many.
    last_groups: usize,
    key_types: Vec<DataType>,
    aggs: Vec<AggCall>,
    /// The operator's watermark: a window whose end - 1 is at or below it has fired.
    pub watermark: i64,
    /// Rows found late (or without a time) since the operator last counted them.
    pub late: u64,
    /// A compiled kernel's group of each row of a batch (`GroupTable::groups_int`), kept to
    /// reuse its allocation.
    pub row_groups: Vec<u32>,
}

impl WindowTables {
    fn new(key_types: Vec<DataType>, aggs: Vec<AggCall>) -> Self {
        WindowTables {
            open: VecDeque::new(),
            hint: 0,
            bytes: VecDeque::new(),
            total_bytes: 0,
            touched: (0, 0),
            last_groups: 0,
            key_types,
            aggs,
            watermark: i64::MIN,
            late: 0,
            row_groups: Vec::new(),
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
                let mut table = GroupTable::new(&self.key_types, &self.aggs);
                table.reserve(self.last_groups);
                self.open.insert(i, (key, table));
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
        let fired = self.open.pop_front();
        self.last_groups = fired.as_ref().map_or(0, |(_, t)| t.groups());
        fired
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

/// Window aggregate (module docs): one group table per open window, emitted when the watermark reaches the
/// window's end - 1 ms.
pub struct WindowAggOp {
    input: Box<dyn Operator>,
    spec: WindowSpec,
    group: Vec<GroupKey>,
    key_exprs: Vec<Expr>,
    windows: WindowTables,
    /// Compiled mode's generated update (None: the generic one).
    kernel: Option<AggFn>,
    pending: VecDeque<Msg>,
    /// The watermark of a firing that stopped early (`Windowed::unfinished`).
    unfinished: Option<i64>,
    done: bool,
    counters: Arc<Counters>,
    accounted: usize,
    /// Phase 1 of a two-phase aggregate: whether aggregating reduces the rows (else they pass
    /// through as one-row partials, `pass_through.rs`).
    probe: Option<Probe>,
    /// Row lists of earlier batches, reused (`rows_per_window`).
    spare: Vec<Vec<u32>>,
}

impl WindowAggOp {
    /// Aggregates `aggs` per window of `spec` and key of `group`. Output: the `group` columns in order (keys,
    /// window start and end), then one column per aggregate. Late rows are counted in `counters`.
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
            unfinished: None,
            done: false,
            counters,
            accounted: 0,
            probe: None,
            spare: Vec::new(),
        }
    }

    /// Marks the operator as phase 1 of a two-phase aggregate, free to pass rows through.
    pub fn partial(mut self, partial: bool, probe_rows: u64) -> Self {
        self.probe = partial.then(|| Probe::new(probe_rows));
        self
    }

    /// Runs compiled code's update (`agg_kernel_key`) instead of the generic one.
    pub fn with_kernel(mut self, kernel: Option<AggFn>) -> Self {
        self.kernel = kernel;
        self
    }

    fn add(&mut self, batch: Batch) -> Result<()> {
        let batch = match &self.probe {
            Some(p) if p.pass_through => return self.pass_on(batch),
            _ => &batch,
        };
        match &self.probe {
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
    fn pass_on(&mut self, mut batch: Batch) -> Result<()> {
        let (per_window, late) = self.rows_per_window(&batch);
        self.counters.add_late(late);
        // The usual case, each row in one window and none late (TUMBLE): the batch moves on
        // whole, its columns moved instead of copied (q8's ids and names on 2 workers, where
        // each person is a group of its own and every row passes on) and its windows given
        // row by row, also when it spans several windows (a batch of q8's persons spans two).
        // A key that is a column no other key is moves after the other keys and the partials
        // have read the batch.
        let placed: usize = per_window.iter().map(|(_, rows)| rows.len()).sum();
        let whole = late == 0 && placed == batch.num_rows;
        let movable = |e: &Expr| match e.as_column() {
            Some(i) => whole && self.key_exprs.iter().filter(|k| k.as_column() == Some(i)).count() == 1,
            None => false,
        };
        let mut keys: Vec<Option<Column>> = self
            .key_exprs
            .iter()
            .map(|e| if movable(e) { Ok(None) } else { eval(e, &batch).map(Some) })
            .collect::<darwin_columnar::Result<_>>()?;
        let mut partials = self.windows.aggs.iter().map(|a| one_row_partial(a, &batch)).collect::<Result<Vec<_>>>()?;
        for (k, e) in keys.iter_mut().zip(&self.key_exprs) {
            if let (None, ExprKind::Column(i)) = (&k, &e.kind) {
                *k = Some(std::mem::replace(
                    &mut batch.columns[*i],
                    Column::new(ColumnData::Bool(Vec::new().into()), None),
                ));
            }
        }
        let mut keys: Vec<Column> = keys.into_iter().map(|k| k.expect("every key evaluated or moved")).collect();
        let mut emit = |keys: &mut [Column],
                        partials: &mut [Column],
                        window: &mut dyn FnMut(bool) -> Column,
                        n,
                        pick: &dyn Fn(&mut Column) -> Column| {
            let mut keys = keys.iter_mut();
            let mut cols: Vec<Column> = self
                .group
                .iter()
                .map(|k| match k {
                    GroupKey::Expr(_) => pick(keys.next().expect("one key column per key expression")),
                    GroupKey::WindowStart => window(true),
                    GroupKey::WindowEnd => window(false),
                })
                .collect();
            cols.extend(partials.iter_mut().map(pick));
            self.pending.push_back(Msg::Batch(Batch::new(cols, n)));
        };
        let moved = |c: &mut Column| std::mem::replace(c, Column::new(ColumnData::Bool(Vec::new().into()), None));
        if whole {
            let (mut starts, mut ends) = (vec![0; batch.num_rows], vec![0; batch.num_rows]);
            for ((start, end), rows) in &per_window {
                for &r in rows {
                    (starts[r as usize], ends[r as usize]) = (*start, *end);
                }
            }
            let column = |v: Vec<i64>| Column::new(ColumnData::I64(v.into()), None);
            let (mut starts, mut ends) = (column(starts), column(ends));
            // Shared, not copied, should a key name the window twice.
            let mut window = |start: bool| if start { starts.share() } else { ends.share() };
            emit(&mut keys, &mut partials, &mut window, batch.num_rows, &moved);
        } else {
            for ((start, end), rows) in &per_window {
                let (start, end, n) = (*start, *end, rows.len());
                let mut window =
                    |s: bool| Column::new(ColumnData::I64(vec![if s { start } else { end }; n].into()), None);
                emit(&mut keys, &mut partials, &mut window, n, &|c: &mut Column| c.take(rows));
            }
        }
        self.recycle(per_window);
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
        for ((start, end), rows) in &per_window {
            let table = self.windows.table(*start, *end);
            table.update(batch, &keys, rows)?;
        }
        self.recycle(per_window);
        self.account();
        Ok(())
    }

    /// The rows of each window (in order of first appearance) that are not late, and the
    /// number of late rows. Rows mostly arrive in time order, so a row in the same window as
    /// the one before it is placed without computing its window again (a division per row was
    /// 15% of Nexmark q5); row lists are reused across batches (`recycle`).
    fn rows_per_window(&mut self, batch: &Batch) -> (WindowRows, u64) {
        let mut s = Sorter { per_window: Vec::new(), spare: &mut self.spare, late: 0, wm: self.windows.watermark };
        match &self.spec {
            WindowSpec::Assign { window: WindowKind::Tumble { size }, time_col } => {
                let c = &batch.columns[*time_col];
                // The window of the last row: [lo, hi), and its slot (None: it has fired).
                let (mut lo, mut hi, mut slot) = (0, i64::MIN, None);
                for (i, &t) in c.i64s().iter().enumerate() {
                    if !c.is_valid(i) {
                        s.late += 1;
                        continue;
                    }
                    if !(lo <= t && t < hi) {
                        lo = last_window_start(t, *size);
                        hi = lo + size;
                        slot = s.slot((lo, hi));
                    }
                    s.add(slot, i);
                }
            }
            WindowSpec::Assign { window, time_col } => {
                let c = &batch.columns[*time_col];
                let mut wins = Vec::new();
                for (i, t) in c.i64s().iter().enumerate() {
                    if !c.is_valid(i) {
                        s.late += 1;
                        continue;
                    }
                    windows_of(*t, *window, &mut wins);
                    let before = s.late;
                    for w in &wins {
                        let slot = s.slot(*w);
                        s.add(slot, i);
                    }
                    // A HOP row late for some of its windows counts once.
                    s.late = before + u64::from(s.late > before);
                }
            }
            WindowSpec::Existing { start_col, end_col } => {
                let (sc, ec) = (&batch.columns[*start_col], &batch.columns[*end_col]);
                let (starts, ends) = (sc.i64s(), ec.i64s());
                let (mut last, mut slot) = (None, None);
                for i in 0..batch.num_rows {
                    if !sc.is_valid(i) || !ec.is_valid(i) {
                        s.late += 1;
                        continue;
                    }
                    let w = (starts[i], ends[i]);
                    if last != Some(w) {
                        last = Some(w);
                        slot = s.slot(w);
                    }
                    s.add(slot, i);
                }
            }
            WindowSpec::Slices { .. } => unreachable!("slices are merged by SliceMergeOp (build.rs)"),
        }
        (s.per_window, s.late)
    }

    /// Keeps a batch's row lists for the next batches (a few: one per window a batch touches).
    fn recycle(&mut self, per_window: WindowRows) {
        for (_, mut rows) in per_window {
            if self.spare.len() < 16 {
                rows.clear();
                self.spare.push(rows);
            }
        }
    }

    fn account(&mut self) {
        let now = self.windows.memory_bytes();
        self.counters.state_delta(now as i64 - self.accounted as i64);
        self.accounted = now;
    }

    fn fire(&mut self, wm: i64) -> Result<()> {
        while let Some(((end, start), table)) = self.windows.pop_fired(wm) {
            let n = table.groups();
            let (keys, aggs) = table.finish()?;
            let mut keys = keys.into_iter();
            let mut cols: Vec<Column> = self
                .group
                .iter()
                .map(|k| match k {
                    GroupKey::Expr(_) => keys.next().expect("one key column per key expression"),
                    GroupKey::WindowStart => Column::new(ColumnData::I64(vec![start; n].into()), None),
                    GroupKey::WindowEnd => Column::new(ColumnData::I64(vec![end; n].into()), None),
                })
                .collect();
            cols.extend(aggs);
            if n > 0 {
                self.pending.push_back(Msg::Batch(Batch::new(cols, n)));
            }
        }
        self.account();
        Ok(())
    }
}

// Not `YIELD_AFTER_BATCH`: pulling until a window fires lets this side run ahead of a join's
// other input, which keeps an interval join's buffer small (q7: 4x faster).
impl Windowed for WindowAggOp {
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
        &mut self.windows.watermark
    }
    fn add(&mut self, batch: Batch) -> Result<()> {
        WindowAggOp::add(self, batch)
    }
    fn fire(&mut self, wm: i64) -> Result<bool> {
        // Its output is at most one row per group held, so it fires whole.
        WindowAggOp::fire(self, wm).map(|()| true)
    }
    fn unfinished(&mut self) -> &mut Option<i64> {
        &mut self.unfinished
    }
}

impl Operator for WindowAggOp {
    fn next(&mut self) -> Result<Option<Msg>> {
        windowed::next(self)
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
    /// Groups by `keys` and computes `aggs`; the result is one batch when the input ends.
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
                    let (mut cols, aggs) = table.finish()?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Script;
    use darwin_common::xorshift;
    use darwin_common::Value;
    use darwin_plan::AggFunc;
    use std::collections::{BTreeMap, BTreeSet};

    /// TUMBLE counts over random, mostly ordered times with NULLs, interleaved watermarks and
    /// late rows equal a row-by-row model, and so do the late counts (rows are placed in
    /// windows without recomputing a window for each row, `rows_per_window`).
    #[test]
    fn tumble_counts_and_late_rows_match_a_row_by_row_model() {
        let mut rnd = xorshift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..40 {
            let size = 1 + (rnd() % 20) as i64;
            let (mut msgs, mut want, mut fired) = (Vec::new(), BTreeMap::new(), BTreeSet::new());
            let (mut late, mut wm, mut t) = (0u64, i64::MIN, (rnd() % 50) as i64 - 25);
            for _ in 0..1 + rnd() % 8 {
                let mut rows = Vec::new();
                for _ in 0..rnd() % 40 {
                    t += (rnd() % 4) as i64;
                    // Mostly in order; some rows far behind (late once their window fired).
                    let x = if rnd().is_multiple_of(6) { t - (rnd() % 30) as i64 } else { t };
                    if rnd().is_multiple_of(9) {
                        rows.push(vec![Value::Null]);
                        late += 1;
                        continue;
                    }
                    let start = x - x.rem_euclid(size);
                    if fired.contains(&start) || start + size - 1 <= wm {
                        late += 1;
                    } else {
                        *want.entry(start).or_insert(0i64) += 1;
                    }
                    rows.push(vec![Value::Timestamp(x)]);
                }
                msgs.push(Msg::Batch(Batch::from_rows(&rows, &[DataType::Timestamp])));
                wm = wm.max(t - (rnd() % 10) as i64);
                let closed: Vec<i64> = want.keys().copied().filter(|s| s + size - 1 <= wm).collect();
                fired.extend(closed);
                msgs.push(Msg::Watermark(wm));
            }
            msgs.push(Msg::Watermark(i64::MAX));
            let counters = Arc::new(Counters::default());
            let count =
                AggCall { func: AggFunc::Count, arg: None, distinct: false, filter: None, ty: DataType::BigInt };
            let mut op = WindowAggOp::new(
                Box::new(Script(msgs.into())),
                WindowSpec::Assign { window: WindowKind::Tumble { size }, time_col: 0 },
                vec![GroupKey::WindowStart, GroupKey::WindowEnd],
                vec![count],
                counters.clone(),
            );
            let mut got = BTreeMap::new();
            while let Some(m) = op.next().expect("runs") {
                if let Msg::Batch(b) = m {
                    for r in 0..b.num_rows {
                        let row = b.row(r, &[DataType::Timestamp, DataType::Timestamp, DataType::BigInt]);
                        let (Value::Timestamp(s), Value::BigInt(n)) = (&row[0], &row[2]) else { panic!("{row:?}") };
                        assert!(got.insert(*s, *n).is_none(), "window {s} fired twice");
                    }
                }
            }
            assert_eq!(got, want, "size {size}");
            assert_eq!(counters.late(), late, "size {size}");
        }
    }
}
