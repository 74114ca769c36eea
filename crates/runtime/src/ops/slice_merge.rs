//! The merge of a sliced HOP (`WindowSpec::Slices`): the input's rows are partial aggregates of
//! `slide`-long slices (one per key and slice, or per key, slice and worker behind an exchange),
//! and each HOP window of `k = size / slide` slices is the merge of its slices. One table of
//! keys serves every open window; each slice keeps its partial values in arrays indexed by the
//! key's number. A partial row is one key lookup and one update of its slice, instead of `k`
//! copies of the row each updating a window's table; when the watermark passes a window's end,
//! the window adds up its `k` slices' arrays (sequential passes, no hashing), and slices that
//! no open window covers are freed. Keys that no live slice holds any more are dropped by
//! rebuilding the table once they are the majority, so state stays bounded by the live keys.

use super::windowed::{self, Windowed};
use crate::error::{Result, RuntimeError};
use crate::operator::{Counters, Msg, Operator};
use darwin_columnar::codec::{Dec, Enc};
use darwin_columnar::column::{Batch, Column, ColumnData};
use darwin_columnar::eval::eval;
use darwin_common::DataType;
use darwin_plan::physical::GroupKey;
use darwin_plan::{AggCall, Expr};
use darwin_state::agg::Accumulator;
use darwin_state::group_table::GroupTable;
use darwin_state::State;
use std::collections::VecDeque;
use std::sync::Arc;

/// The most rows one call of `fire` leaves pending before it stops to let them go out.
const FIRE_ROWS: usize = 1 << 16;

/// Below this many keys the table is never rebuilt (rebuilding a small one saves nothing).
const MIN_KEYS_TO_COMPACT: usize = 4096;

/// One slice: its start, the keys it holds (numbers in the table of keys, in first-seen order)
/// and per merge call their partial values (in the same order).
struct Slice {
    start: i64,
    ids: Vec<u32>,
    accs: Vec<Accumulator>,
    /// Per key number: its place in `ids`, or `ABSENT`.
    place: Vec<u32>,
}

const ABSENT: u32 = u32::MAX;

impl Slice {
    /// Each row's place in this slice, from its key's number (`pairs`: (key, row)), added if
    /// new; as (place, row) pairs in `out`.
    fn places(&mut self, keys: usize, pairs: &[(u32, u32)], out: &mut Vec<(u32, u32)>) {
        self.place.resize(keys, ABSENT);
        out.clear();
        for &(g, r) in pairs {
            let p = &mut self.place[g as usize];
            if *p == ABSENT {
                *p = self.ids.len() as u32;
                self.ids.push(g);
            }
            out.push((*p, r));
        }
    }
}

/// Merge of a sliced HOP aggregate (module docs): folds partial rows into per-slice arrays and emits each
/// window, the sum of its slices, once the watermark passes its end.
pub struct SliceMergeOp {
    input: Box<dyn Operator>,
    slide: i64,
    size: i64,
    start_col: usize,
    group: Vec<GroupKey>,
    key_exprs: Vec<Expr>,
    key_types: Vec<DataType>,
    /// The input column of each merge call's argument.
    arg_cols: Vec<usize>,
    /// The merge calls over a batch whose column `a` holds call `a`'s partial values: the
    /// input's partial columns, or a slice's arrays when a window adds up its slices.
    calls: Vec<AggCall>,
    keys: GroupTable,
    /// Open slices in order of start.
    slices: VecDeque<Slice>,
    /// Every window that starts before this has fired.
    next_start: i64,
    watermark: i64,
    pending: VecDeque<Msg>,
    /// The watermark of a firing that stopped early (`Windowed::unfinished`).
    unfinished: Option<i64>,
    done: bool,
    counters: Arc<Counters>,
    accounted: usize,
    /// Scratch (place, row) pairs of a batch, reused.
    places: Vec<(u32, u32)>,
    /// Scratch: per key number, its place in the window being emitted (else ABSENT).
    place: Vec<u32>,
    /// How often the table of keys was rebuilt without the dead ones.
    rebuilds: u64,
}

impl SliceMergeOp {
    /// `aggs` are merge calls whose arguments are input columns (`decompose::merge`).
    pub fn new(
        input: Box<dyn Operator>,
        (slide, size, start_col): (i64, i64, usize),
        group: Vec<GroupKey>,
        aggs: &[AggCall],
        counters: Arc<Counters>,
    ) -> Result<Self> {
        let key_exprs: Vec<Expr> =
            group.iter().filter_map(|k| if let GroupKey::Expr(e) = k { Some(e.clone()) } else { None }).collect();
        let key_types: Vec<DataType> = key_exprs.iter().map(|e| e.ty).collect();
        let mut arg_cols = Vec::new();
        let mut calls = Vec::new();
        for (a, call) in aggs.iter().enumerate() {
            let Some((col, ty)) = call.arg.as_ref().and_then(|e| Some((e.as_column()?, e.ty))) else {
                return Err(plan_err(format!("needs column arguments, not {call:?}")));
            };
            if call.distinct || call.filter.is_some() {
                return Err(plan_err(format!("cannot merge {call:?}")));
            }
            arg_cols.push(col);
            calls.push(AggCall { arg: Some(Expr::column(a, ty)), ..call.clone() });
        }
        if slide <= 0 || size <= 0 || size % slide != 0 {
            return Err(plan_err(format!("slices of {slide} ms cannot tile windows of {size} ms")));
        }
        Ok(SliceMergeOp {
            input,
            slide,
            size,
            start_col,
            group,
            keys: GroupTable::new(&key_types, &[]),
            key_exprs,
            key_types,
            arg_cols,
            calls,
            slices: VecDeque::new(),
            next_start: i64::MIN,
            watermark: i64::MIN,
            pending: VecDeque::new(),
            unfinished: None,
            done: false,
            counters,
            accounted: 0,
            places: Vec::new(),
            place: Vec::new(),
            rebuilds: 0,
        })
    }

    /// The position of the slice starting at `start`, opened if new (slices mostly arrive in
    /// order).
    fn slice(&mut self, start: i64) -> usize {
        let at = self.slices.iter().rposition(|s| s.start <= start);
        let i = match at {
            Some(i) if self.slices[i].start == start => i,
            _ => {
                let i = at.map_or(0, |i| i + 1);
                let accs = self.calls.iter().map(Accumulator::new).collect();
                self.slices.insert(i, Slice { start, ids: Vec::new(), accs, place: Vec::new() });
                i
            }
        };
        i
    }

    fn add(&mut self, mut batch: Batch) -> Result<()> {
        let n = batch.num_rows;
        // Key columns shared, not copied (a computed key is evaluated).
        let key_cols = self
            .key_exprs
            .iter()
            .map(|e| match e.as_column() {
                Some(i) => Ok(batch.columns[i].share()),
                None => eval(e, &batch),
            })
            .collect::<darwin_columnar::Result<Vec<_>>>()?;
        // The partial values, laid out as `calls` read them (shared, not copied).
        let args: Vec<Column> = self.arg_cols.iter().map(|&c| batch.columns[c].share()).collect();
        let args = Batch::new(args, n);
        let starts = &batch.columns[self.start_col];
        // Rows per slice, in order of first appearance (a batch mostly holds one slice: its
        // rows go together without a lookup per row).
        let mut per_slice: Vec<(i64, Vec<u32>)> = Vec::new();
        let mut late = 0u64;
        let values = starts.i64s();
        let one = starts.validity.is_none() && values.first().is_some_and(|a| values.iter().all(|b| b == a));
        if one {
            per_slice.push((values[0], (0..n as u32).collect()));
        }
        for (i, &a) in values.iter().enumerate().filter(|_| !one) {
            if !starts.is_valid(i) {
                late += 1;
                continue;
            }
            match per_slice.iter_mut().rfind(|(s, _)| *s == a) {
                Some((_, rows)) => rows.push(i as u32),
                None => per_slice.push((a, vec![i as u32])),
            }
        }
        for (a, rows) in per_slice {
            // Every window of the slice has fired: the rows are late. Some have: late for
            // those (counted once), in time for the others.
            if closes_by(a, self.size, self.watermark) {
                late += rows.len() as u64;
                continue;
            }
            if closes_by(a, self.slide, self.watermark) {
                late += rows.len() as u64;
            }
            let i = self.slice(a);
            let SliceMergeOp { keys, slices, places, .. } = self;
            let (pairs, groups) = keys.groups_of(&key_cols, &rows);
            let slice = &mut slices[i];
            slice.places(groups, pairs, places);
            let held = slice.ids.len();
            for acc in &mut slice.accs {
                acc.update(held, &args, places)?;
            }
        }
        self.counters.add_late(late);
        self.account();
        Ok(())
    }

    /// Fires the windows with data that the watermark `wm` closes, oldest first; stops early
    /// (false) once `FIRE_ROWS` rows are pending: a row is in up to `size / slide` windows, so
    /// one watermark may close far more output than the state holds.
    fn fire(&mut self, wm: i64) -> Result<bool> {
        let mut rows = 0;
        while let Some(oldest) = self.slices.front().map(|s| s.start) {
            if rows >= FIRE_ROWS {
                return Ok(false);
            }
            let start = (oldest - self.size + self.slide).max(self.next_start);
            if start > oldest {
                // No window that has not fired covers the oldest slice any more.
                self.slices.pop_front();
                continue;
            }
            if !closes_by(start, self.size, wm) {
                break;
            }
            rows += self.emit(start)?;
            self.next_start = start + self.slide;
        }
        // Windows the watermark has closed are not emitted later, even if a late slice comes.
        self.next_start = self.next_start.max(first_open_start(wm, self.slide, self.size));
        self.compact()?;
        self.account();
        Ok(true)
    }

    /// Emits window [start, start + size): every key one of its slices holds, with the merge
    /// of those slices' partial values. Returns the rows emitted.
    fn emit(&mut self, start: i64) -> Result<usize> {
        let end = start + self.size;
        let within: Vec<&Slice> = self.slices.iter().filter(|s| start <= s.start && s.start < end).collect();
        // The window's keys in first-seen order, and each key's place among them (`place` is
        // all ABSENT between windows): work in proportion to the window's keys, not all keys.
        let mut place = std::mem::take(&mut self.place);
        place.resize(self.keys.groups(), ABSENT);
        let mut ids: Vec<u32> = Vec::new();
        for s in &within {
            for &g in &s.ids {
                if place[g as usize] == ABSENT {
                    place[g as usize] = ids.len() as u32;
                    ids.push(g);
                }
            }
        }
        // Each slice's partial values added to the window's, at the keys' places.
        let mut window: Vec<Accumulator> = self.calls.iter().map(Accumulator::new).collect();
        for s in &within {
            let into = |i: usize| place[s.ids[i] as usize] as usize;
            let mut columns: Option<(Batch, Vec<(u32, u32)>)> = None;
            for (a, acc) in window.iter_mut().enumerate() {
                if acc.merge_from(ids.len(), &s.accs[a], into)? {
                    continue;
                }
                // Kinds without a direct merge (strings, decimals) go through columns.
                if columns.is_none() {
                    let n = s.ids.len();
                    let finished = s.accs.iter().map(|acc| acc.finish(n)).collect::<std::result::Result<_, _>>()?;
                    let mut b = Batch::new(finished, n);
                    columns = Some((b.share(), (0..n).map(|i| (into(i) as u32, i as u32)).collect()));
                }
                let (values, pairs) = columns.as_ref().expect("just built");
                acc.update(ids.len(), values, pairs)?;
            }
        }
        ids.iter().for_each(|&g| place[g as usize] = ABSENT);
        self.place = place;
        if ids.is_empty() {
            return Ok(0);
        }
        let aggs: Vec<Column> = window
            .iter_mut()
            .map(|acc| {
                acc.grow(ids.len());
                acc.finish(ids.len())
            })
            .collect::<std::result::Result<_, _>>()?;
        let n = ids.len();
        let mut key_cols = self.keys.keys_of(&ids).into_iter();
        let mut cols: Vec<Column> = self
            .group
            .iter()
            .map(|k| match k {
                GroupKey::Expr(_) => key_cols.next().expect("one key column per key expression"),
                GroupKey::WindowStart => Column::new(ColumnData::I64(vec![start; n].into()), None),
                GroupKey::WindowEnd => Column::new(ColumnData::I64(vec![end; n].into()), None),
            })
            .collect();
        cols.extend(aggs);
        self.pending.push_back(Msg::Batch(Batch::new(cols, n)));
        Ok(n)
    }

    /// Rebuilds the table of keys with only the keys a live slice holds, once those are fewer
    /// than half (keys are renumbered in their order; each slice's arrays follow).
    fn compact(&mut self) -> Result<()> {
        let keys = self.keys.groups();
        // The slices' keys counted with repeats bound the live keys from above: a scan for the
        // live ones only once they are surely fewer than half.
        let held: usize = self.slices.iter().map(|s| s.ids.len()).sum();
        if keys < MIN_KEYS_TO_COMPACT || held * 2 > keys {
            return Ok(());
        }
        // The new number of each live key (in the old order), or ABSENT.
        let mut renumber = vec![ABSENT; keys];
        for s in &self.slices {
            s.ids.iter().for_each(|&g| renumber[g as usize] = 0);
        }
        let mut ids = Vec::new();
        for (g, r) in renumber.iter_mut().enumerate() {
            if *r == 0 {
                *r = ids.len() as u32;
                ids.push(g as u32);
            }
        }
        let n = ids.len();
        let key_cols = self.keys.keys_of(&ids);
        let mut table = GroupTable::new(&self.key_types, &[]);
        let rows: Vec<u32> = (0..n as u32).collect();
        table.groups_of(&key_cols, &rows);
        self.keys = table;
        self.rebuilds += 1;
        for s in &mut self.slices {
            s.ids.iter_mut().for_each(|g| *g = renumber[*g as usize]);
            s.place = vec![ABSENT; n];
            s.ids.iter().enumerate().for_each(|(i, &g)| s.place[g as usize] = i as u32);
        }
        Ok(())
    }

    fn memory_bytes(&self) -> usize {
        let slices = self.slices.iter().map(|s| {
            let held = s.ids.len();
            4 * (held + s.place.len()) + s.accs.iter().map(|a| a.memory_bytes(held)).sum::<usize>()
        });
        self.keys.memory_bytes() + slices.sum::<usize>()
    }

    fn account(&mut self) {
        let now = self.memory_bytes();
        self.counters.state_delta(now as i64 - self.accounted as i64);
        self.accounted = now;
    }
}

/// The start of the first window (starts are multiples of `slide`) that the watermark `wm` has
/// not closed.
fn first_open_start(wm: i64, slide: i64, size: i64) -> i64 {
    let least = i128::from(wm) - i128::from(size) + 2;
    let aligned = least + (i128::from(slide) - least.rem_euclid(i128::from(slide))) % i128::from(slide);
    aligned.clamp(i64::MIN.into(), i64::MAX.into()) as i64
}

fn plan_err(detail: String) -> RuntimeError {
    RuntimeError::Plan { operator: "merge of slices", detail }
}

/// Whether a window (or slice) starting at `start` and `len` long has closed at watermark `wm`
/// (its last millisecond is at or below it).
fn closes_by(start: i64, len: i64, wm: i64) -> bool {
    start.saturating_add(len - 1) <= wm
}

impl Windowed for SliceMergeOp {
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
        SliceMergeOp::add(self, batch)
    }
    fn fire(&mut self, wm: i64) -> Result<bool> {
        SliceMergeOp::fire(self, wm)
    }
    fn unfinished(&mut self) -> &mut Option<i64> {
        &mut self.unfinished
    }
}

impl Operator for SliceMergeOp {
    fn next(&mut self) -> Result<Option<Msg>> {
        windowed::next(self)
    }

    fn snapshot(&mut self, e: &mut Enc) {
        e.i64(self.watermark);
        e.bool(self.done);
        e.i64(self.next_start);
        self.keys.snapshot(e);
        e.len(self.slices.len());
        for s in &mut self.slices {
            e.i64(s.start);
            e.len(s.ids.len());
            s.ids.iter().for_each(|&g| e.u64(g.into()));
            for acc in &mut s.accs {
                acc.snapshot(e, &|_| true);
            }
        }
    }

    fn restore(&mut self, d: &mut Dec) -> Result<()> {
        self.watermark = d.i64()?;
        self.done = d.bool()?;
        self.next_start = d.i64()?;
        self.keys.restore(d)?;
        let keys = self.keys.groups();
        let n = d.len(8)?;
        self.slices.clear();
        for _ in 0..n {
            let start = d.i64()?;
            if self.slices.back().is_some_and(|s| s.start >= start) {
                return Err(d.error("the checkpoint's slices are out of order"));
            }
            let held = d.len(8)?;
            let mut slice = Slice { start, ids: Vec::with_capacity(held), accs: Vec::new(), place: vec![ABSENT; keys] };
            for i in 0..held {
                let g = d.u64()?;
                match slice.place.get_mut(g as usize) {
                    Some(p) if *p == ABSENT => *p = i as u32,
                    _ => return Err(d.error("a slice holds a key twice, or one the table of keys lacks")),
                }
                slice.ids.push(g as u32);
            }
            for call in &self.calls {
                let mut acc = Accumulator::new(call);
                acc.restore(d, held)?;
                slice.accs.push(acc);
            }
            self.slices.push_back(slice);
        }
        self.account();
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
    use std::collections::BTreeMap;

    type Out = BTreeMap<(i64, Option<i64>), (Option<i64>, Option<i64>, Option<String>)>;

    /// One slice of three keys in 50,000 windows (slide 1, size 50,000): the end of the input
    /// closes them all, and they go out a part at a time, never more than `FIRE_ROWS` rows (plus
    /// one window's) pending; every window has its three keys, each with the slice's sum.
    #[test]
    fn windows_closed_at_once_go_out_in_parts() {
        let types = [DataType::BigInt, DataType::Timestamp, DataType::BigInt];
        let rows: Vec<Vec<Value>> =
            (0..3).map(|k| vec![Value::BigInt(k), Value::Timestamp(5), Value::BigInt(10 + k)]).collect();
        let input = Box::new(Script(vec![Msg::Batch(Batch::from_rows(&rows, &types))].into()));
        let sum = AggCall {
            func: AggFunc::Sum,
            arg: Some(Expr::column(2, DataType::BigInt)),
            distinct: false,
            filter: None,
            ty: DataType::BigInt,
        };
        let group = vec![GroupKey::Expr(Expr::column(0, DataType::BigInt)), GroupKey::WindowStart, GroupKey::WindowEnd];
        let counters = Arc::new(Counters::default());
        let mut op = SliceMergeOp::new(input, (1, 50_000, 1), group, &[sum], counters).unwrap();
        let (mut rows, mut windows) = (0usize, BTreeMap::new());
        while let Some(m) = op.next().unwrap() {
            let held: usize = op.pending.iter().map(|m| if let Msg::Batch(b) = m { b.num_rows } else { 0 }).sum();
            assert!(held <= FIRE_ROWS + 3, "{held} rows pending");
            if let Msg::Batch(b) = m {
                rows += b.num_rows;
                for i in 0..b.num_rows {
                    let (k, start, total) = (b.columns[0].i64s()[i], b.columns[1].i64s()[i], b.columns[3].i64s()[i]);
                    assert_eq!(total, 10 + k);
                    *windows.entry(start).or_insert(0) += 1;
                }
            }
        }
        assert_eq!(rows, 150_000);
        assert_eq!(windows.len(), 50_000);
        assert!(windows.values().all(|n| *n == 3));
        assert_eq!(windows.keys().next(), Some(&(5 - 50_000 + 1)));
    }

    /// Random partial rows (keys with NULLs, slices mostly in order, some late or partly late,
    /// NULL partial values) merged into HOP windows equal a row-by-row model: each row adds to
    /// every window of its slice that the watermark had not closed when it came. The op is
    /// checkpointed and restored into a new one midway, and keys churn enough for the table of
    /// keys to be rebuilt; late counts agree too. Sums and maxima of integers take the typed
    /// merge of slices, maxima of strings the one through columns.
    #[test]
    fn windows_merge_their_slices_like_a_row_by_row_model() {
        let mut rnd = xorshift(0x51ce_5eed_0000_0001);
        let types = [DataType::BigInt, DataType::Timestamp, DataType::BigInt, DataType::BigInt, DataType::Varchar];
        let mut compacted = false;
        for case in 0..12 {
            let slide = 1 + (rnd() % 4) as i64;
            let size = slide * (2 + (rnd() % 4) as i64);
            let (mut msgs, mut want, mut late) = (Vec::new(), Out::new(), 0u64);
            let (mut wm, mut t) = (i64::MIN, 0i64);
            for b in 0..150 {
                let mut rows = Vec::new();
                for _ in 0..rnd() % 120 {
                    // Slices near the time, some far behind; keys drift with time.
                    let back = if rnd().is_multiple_of(8) { (rnd() % (3 * size as u64)) as i64 } else { 0 };
                    let a = (t - back).div_euclid(slide) * slide;
                    let key = (!rnd().is_multiple_of(25)).then(|| t * 100 + (rnd() % 150) as i64);
                    let cnt = 1 + (rnd() % 5) as i64;
                    let mx = (!rnd().is_multiple_of(4)).then(|| (rnd() % 1000) as i64);
                    let word = (!rnd().is_multiple_of(3)).then(|| format!("w{}", rnd() % 500));
                    let v = |x: Option<i64>| x.map_or(Value::Null, Value::BigInt);
                    let w = word.clone().map_or(Value::Null, Value::Str);
                    rows.push(vec![v(key), Value::Timestamp(a), Value::BigInt(cnt), v(mx), w]);
                    if a.saturating_add(size - 1) <= wm {
                        late += 1;
                        continue;
                    }
                    late += u64::from(a.saturating_add(slide - 1) <= wm);
                    for s in (0..size / slide).map(|j| a - j * slide).filter(|s| s.saturating_add(size - 1) > wm) {
                        let e = want.entry((s, key)).or_insert((None, None, None));
                        e.0 = Some(e.0.unwrap_or(0) + cnt);
                        e.1 = e.1.max(mx);
                        e.2 = e.2.clone().max(word.clone());
                    }
                }
                msgs.push(Msg::Batch(Batch::from_rows(&rows, &types)));
                t += (rnd() % 3) as i64;
                if rnd().is_multiple_of(3) {
                    wm = wm.max(t - (rnd() % (2 * size as u64)) as i64);
                    msgs.push(Msg::Watermark(wm));
                }
                if b == 75 {
                    msgs.push(Msg::Barrier(1));
                }
            }
            let counters = Arc::new(Counters::default());
            let call =
                |func, col, ty| AggCall { func, arg: Some(Expr::column(col, ty)), distinct: false, filter: None, ty };
            let aggs = [
                call(AggFunc::Sum, 2, DataType::BigInt),
                call(AggFunc::Max, 3, DataType::BigInt),
                call(AggFunc::Max, 4, DataType::Varchar),
            ];
            let group =
                vec![GroupKey::Expr(Expr::column(0, DataType::BigInt)), GroupKey::WindowStart, GroupKey::WindowEnd];
            let new_op = |msgs: Vec<Msg>| {
                let input = Box::new(Script(msgs.into()));
                SliceMergeOp::new(input, (slide, size, 1), group.clone(), &aggs, counters.clone()).unwrap()
            };
            let at = msgs.iter().position(|m| matches!(m, Msg::Barrier(_))).unwrap();
            let rest = msgs.split_off(at + 1);
            let mut op = new_op(msgs);
            let mut got = Out::new();
            let mut collect = |m: Msg| {
                if let Msg::Batch(b) = m {
                    let out_types = [
                        DataType::BigInt,
                        DataType::Timestamp,
                        DataType::Timestamp,
                        DataType::BigInt,
                        DataType::BigInt,
                        DataType::Varchar,
                    ];
                    for r in 0..b.num_rows {
                        let row = b.row(r, &out_types);
                        let int = |v: &Value| match v {
                            Value::BigInt(x) | Value::Timestamp(x) => Some(*x),
                            _ => None,
                        };
                        let (s, e) = (int(&row[1]).unwrap(), int(&row[2]).unwrap());
                        assert_eq!(e, s + size);
                        let word = match &row[5] {
                            Value::Str(w) => Some(w.clone()),
                            _ => None,
                        };
                        let prev = got.insert((s, int(&row[0])), (int(&row[3]), int(&row[4]), word));
                        assert!(prev.is_none(), "window {s}, key {:?} came twice", row[0]);
                    }
                }
            };
            loop {
                match op.next().unwrap() {
                    Some(Msg::Barrier(_)) => break,
                    Some(m) => collect(m),
                    None => unreachable!("the barrier comes first"),
                }
            }
            compacted |= op.rebuilds > 0;
            let mut e = Enc::default();
            op.snapshot(&mut e);
            let bytes = e.into_bytes();
            let mut op = new_op(rest);
            op.restore(&mut Dec::new(&bytes, "slices")).unwrap();
            while let Some(m) = op.next().unwrap() {
                collect(m);
            }
            compacted |= op.rebuilds > 0;
            assert_eq!(got, want, "case {case}: slide {slide}, size {size}");
            assert_eq!(counters.late(), late, "case {case}");
        }
        assert!(compacted, "no case rebuilt its table of keys");
    }
}
