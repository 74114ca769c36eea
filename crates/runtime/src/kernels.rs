//! The seam between the operator library and generated code: compiled mode hands the builder
//! specialised kernels (fused filter-and-projection loops over typed columns) that replace the
//! interpreted expression evaluation inside the same operators, and the small helpers those
//! kernels call so that every conversion has exactly the interpreter's semantics.

use crate::error::{Result, RuntimeError};
use darwin_columnar::column::{Batch, Column, ColumnData, StrVec};
use darwin_columnar::EvalError;
use darwin_common::{DataType, Value};
use darwin_plan::PhysNode;
use std::collections::HashMap;

/// A fused filter and projection: the rows of `batch` that pass the filter, projected.
pub type CalcFn = fn(Batch) -> Result<Batch>;

/// A lookup-join probe fused with the Calc above it: (stream batch, table, index) → the Calc's output.
pub type ProbeFn = fn(Batch, &Batch, &darwin_columnar::keys::JoinIndex) -> Result<Batch>;

pub use crate::ops::window_agg::{AggFn, WindowTables};

/// Kernels of a compiled query, keyed by the kernel key the planner gave each plan node. Keying
/// by content (not by position) means equal nodes share a kernel and the builder needs no
/// traversal order agreed with the code generator.
#[derive(Default, Clone)]
pub struct Kernels {
    calc: HashMap<u64, CalcFn>,
    probe: HashMap<u64, ProbeFn>,
    agg: HashMap<u64, AggFn>,
    /// Set in compiled mode: a Calc node without a kernel is then an error, never a silent
    /// fallback to the interpreter.
    pub required: bool,
}

impl Kernels {
    /// An empty set for compiled mode (`required`): a Calc or window-aggregate node whose kernel is missing
    /// is then an error.
    pub fn compiled() -> Kernels {
        Kernels { required: true, ..Kernels::default() }
    }
    /// Registers the generated filter/projection loop of the Calc nodes with kernel key `key`.
    pub fn add_calc(&mut self, key: u64, f: CalcFn) {
        self.calc.insert(key, f);
    }
    /// Registers the generated lookup-join probe fused with the Calc nodes with key `key`.
    pub fn add_probe(&mut self, key: u64, f: ProbeFn) {
        self.probe.insert(key, f);
    }
    /// Registers the generated update of the window aggregates with kernel key `key`.
    pub fn add_agg(&mut self, key: u64, f: AggFn) {
        self.agg.insert(key, f);
    }
    /// The generated update of a window aggregate, if the planner gave the node one.
    pub fn agg(&self, node: &PhysNode) -> Result<Option<AggFn>> {
        let PhysNode::WindowAggregate { kernel: Some(key), .. } = node else { return Ok(None) };
        match self.agg.get(key) {
            Some(f) => Ok(Some(*f)),
            None if self.required => Err(missing("window aggregate")),
            None => Ok(None),
        }
    }
    /// The fused probe kernel for a Calc over a lookup join, if the planner chose one and it
    /// was generated.
    pub fn probe(&self, node: &PhysNode) -> Option<ProbeFn> {
        let PhysNode::Calc { fused_probe: Some(key), .. } = node else { return None };
        self.probe.get(key).copied()
    }
    /// The generated loop of a filter/projection node.
    pub fn calc(&self, node: &PhysNode) -> Result<Option<CalcFn>> {
        let PhysNode::Calc { kernel, .. } = node else { return Ok(None) };
        match kernel.and_then(|key| self.calc.get(&key)) {
            Some(f) => Ok(Some(*f)),
            None if self.required => Err(missing("filter/projection")),
            None => Ok(None),
        }
    }
    /// The number of kernels of all kinds.
    pub fn len(&self) -> usize {
        self.calc.len() + self.probe.len() + self.agg.len()
    }
    /// Whether there is no kernel (interpreted mode).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn missing(what: &'static str) -> RuntimeError {
    RuntimeError::MissingKernel { what }
}

pub use darwin_columnar::in_set::InSet;
pub use darwin_columnar::keys::JoinIndex;
pub use darwin_columnar::scalar::like;

/// The HOP windows every row of a time column belongs to, as the starts of the first and the last
/// of them, if all rows share one set of windows, all of those windows are still open (the first
/// one's end is past `watermark`) and no time is NULL (a compiled HOP aggregate's whole-batch
/// path: rows within one slide of each other).
pub fn hop_windows(ts: &[i64], valid: Option<&[bool]>, slide: i64, size: i64, watermark: i64) -> Option<(i64, i64)> {
    if valid.is_some_and(|m| m.contains(&false)) {
        return None;
    }
    let (lo, hi) = darwin_columnar::column::min_max(ts, None)?;
    let (first, last) = hop_starts(lo, slide, size)?;
    (hop_starts(hi, slide, size)? == (first, last) && first.checked_add(size)? - 1 > watermark).then_some((first, last))
}

/// Whether row `i` has a value (not NULL).
#[inline]
fn has(valid: Option<&[bool]>, i: usize) -> bool {
    valid.is_none_or(|m| m[i])
}

/// Rows `lo..hi` of a time column that fall in one open TUMBLE window of `size`, as (start,
/// end, hi), starting at row `lo`; None if row `lo` is NULL, late or at the edge of time (a
/// compiled keyed aggregate folds such a run as a batch, and the row at `lo` alone otherwise).
/// Rows in time order make runs as long as the batch, or a few runs where it crosses windows.
pub fn tumble_run(
    ts: &[i64],
    valid: Option<&[bool]>,
    lo: usize,
    size: i64,
    watermark: i64,
) -> Option<(i64, i64, usize)> {
    if !has(valid, lo) {
        return None;
    }
    let start = ts[lo].checked_sub(ts[lo].checked_rem_euclid(size)?)?;
    let end = start.checked_add(size)?;
    if end - 1 <= watermark {
        return None;
    }
    Some((start, end, run_end(ts, valid, lo, start, end)))
}

/// Rows `lo..hi` of a time column that belong to one set of open HOP windows, as the starts of
/// the first and last of them and `hi` (see `tumble_run`).
pub fn hop_run(
    ts: &[i64],
    valid: Option<&[bool]>,
    lo: usize,
    slide: i64,
    size: i64,
    watermark: i64,
) -> Option<(i64, i64, usize)> {
    if !has(valid, lo) {
        return None;
    }
    let (first, last) = hop_starts(ts[lo], slide, size)?;
    if first.checked_add(size)? - 1 <= watermark {
        return None;
    }
    // The times with the same newest window start (`last`) and the same oldest (`first`).
    let from = last.max(first.checked_add(size)?.checked_sub(slide)?);
    let to = last.checked_add(slide)?.min(first.checked_add(size)?);
    Some((first, last, run_end(ts, valid, lo, from, to)))
}

/// The end of the run of non-NULL times in [from, to) that starts at row `lo`.
fn run_end(ts: &[i64], valid: Option<&[bool]>, lo: usize, from: i64, to: i64) -> usize {
    const CHUNK: usize = 16;
    let inside = |t: i64| from <= t && t < to;
    // Whole chunks first, checked without a branch per row (so the compiler vectorises it):
    // a run is usually the whole batch.
    let mut i = lo;
    while i + CHUNK <= ts.len() {
        let chunk = &ts[i..i + CHUNK];
        let all = match valid {
            None => chunk.iter().fold(true, |a, &t| a & inside(t)),
            Some(m) => chunk.iter().zip(&m[i..i + CHUNK]).fold(true, |a, (&t, &v)| a & v & inside(t)),
        };
        if !all {
            break;
        }
        i += CHUNK;
    }
    while i < ts.len() && has(valid, i) && inside(ts[i]) {
        i += 1;
    }
    i
}

/// Rows `lo..hi` of windowed rows (start and end columns) that name one open window, as
/// (start, end, hi); None if row `lo` has a NULL bound or a closed window (a compiled merging
/// aggregate: the partial rows of a window arrive together when it closes on the other workers).
pub fn window_run(
    starts: &[i64],
    vs: Option<&[bool]>,
    ends: &[i64],
    ve: Option<&[bool]>,
    lo: usize,
    watermark: i64,
) -> Option<(i64, i64, usize)> {
    if !(has(vs, lo) && has(ve, lo)) || ends[lo].checked_sub(1)? <= watermark {
        return None;
    }
    let (start, end) = (starts[lo], ends[lo]);
    let same = |i: usize| has(vs, i) && has(ve, i) && starts[i] == start && ends[i] == end;
    Some((start, end, lo + (lo..starts.len()).take_while(|&i| same(i)).count()))
}

/// The starts of the first and last HOP window that contain `ts`; None if there is none (a
/// window shorter than its slide leaves gaps) or the arithmetic would overflow.
fn hop_starts(ts: i64, slide: i64, size: i64) -> Option<(i64, i64)> {
    let last = ts.checked_sub(ts.checked_rem_euclid(slide)?)?;
    let after = ts.checked_sub(size)?;
    if last <= after {
        return None;
    }
    // The oldest start above `after`, on the slide's grid.
    let back = (last.checked_sub(after)? - 1) / slide;
    Some((last.checked_sub(back.checked_mul(slide)?)?, last))
}

/// Typed views of a column for generated loops; the planner guarantees the physical type.
pub fn bools(c: &Column) -> &[bool] {
    c.bools()
}
/// The values of an `I32` column; panics on another type.
pub fn i32s(c: &Column) -> &[i32] {
    match &c.data {
        ColumnData::I32(v) => v,
        _ => panic!("planner guarantees an i32 column"),
    }
}
/// The values of an `I64` column; panics on another type.
pub fn i64s(c: &Column) -> &[i64] {
    c.i64s()
}
/// The values of an `F64` column; panics on another type.
pub fn f64s(c: &Column) -> &[f64] {
    match &c.data {
        ColumnData::F64(v) => v,
        _ => panic!("planner guarantees an f64 column"),
    }
}
/// The values (decimal mantissas) of an `I128` column; panics on another type.
pub fn i128s(c: &Column) -> &[i128] {
    match &c.data {
        ColumnData::I128(v) => v,
        _ => panic!("planner guarantees an i128 column"),
    }
}
/// The strings of a `Str` column; panics on another type.
pub fn strs(c: &Column) -> &StrVec {
    match &c.data {
        ColumnData::Str(v) => v,
        _ => panic!("planner guarantees a string column"),
    }
}
/// The column's validity (`None`: no NULLs).
pub fn validity(c: &Column) -> Option<&[bool]> {
    c.validity.as_deref()
}

/// A literal as the interpreter materialises it (`Column::constant`), read back typed
/// (`lit_*`); a slow-path result stored as a column of its type stores it
/// (`ColumnBuilder::push`, `out_*`).
fn constant(v: &Value, ty: DataType) -> Column {
    Column::constant(v, ty, 1)
}

fn stored(v: &Value, ty: DataType) -> Column {
    let mut b = darwin_columnar::column::ColumnBuilder::new(ty, 1);
    b.push(v);
    b.finish()
}

macro_rules! readers {
    ($($lit:ident, $out:ident, $t:ty, $read:expr;)*) => {$(
        /// A literal of type `ty` as the interpreter materialises it, read back typed; `None` for NULL.
        pub fn $lit(v: &Value, ty: DataType) -> Option<$t> {
            let c = constant(v, ty);
            c.is_valid(0).then(|| $read(&c))
        }
        /// A value as a column of type `ty` stores it (converted to that type's representation), read back typed;
        /// `None` for NULL.
        pub fn $out(v: &Value, ty: DataType) -> Option<$t> {
            let c = stored(v, ty);
            c.is_valid(0).then(|| $read(&c))
        }
    )*};
}

readers! {
    lit_bool, out_bool, bool, |c: &Column| c.bools()[0];
    lit_i32, out_i32, i32, |c: &Column| i32s(c)[0];
    lit_i64, out_i64, i64, |c: &Column| c.i64s()[0];
    lit_f64, out_f64, f64, |c: &Column| f64s(c)[0];
    lit_i128, out_i128, i128, |c: &Column| i128s(c)[0];
    lit_str, out_str, String, |c: &Column| strs(c).get(0).to_string();
}

/// Values for the generic slow path (rare functions and casts), as `Column::get` builds them.
pub fn val_bool(x: Option<bool>) -> Value {
    x.map_or(Value::Null, Value::Bool)
}
/// An `INT` value; NULL for `None`.
pub fn val_i32(x: Option<i32>) -> Value {
    x.map_or(Value::Null, Value::Int)
}
/// A 64-bit value as `ty` reads it (`TIMESTAMP`, `INTERVAL`, else `BIGINT`); NULL for `None`.
pub fn val_i64(x: Option<i64>, ty: DataType) -> Value {
    match (x, ty) {
        (None, _) => Value::Null,
        (Some(x), DataType::Timestamp) => Value::Timestamp(x),
        (Some(x), DataType::Interval) => Value::Interval(x),
        (Some(x), _) => Value::BigInt(x),
    }
}
/// A `DOUBLE` value; NULL for `None`.
pub fn val_f64(x: Option<f64>) -> Value {
    x.map_or(Value::Null, Value::Double)
}
/// A `DECIMAL` value from its mantissa at `ty`'s scale; NULL for `None`.
pub fn val_i128(x: Option<i128>, ty: DataType) -> Value {
    x.map_or(Value::Null, |m| Value::Decimal(m, ty.scale()))
}
/// A `VARCHAR` value (copied); NULL for `None`.
pub fn val_str(x: Option<&str>) -> Value {
    x.map_or(Value::Null, |s| Value::Str(s.to_string()))
}

/// CAST of one value with exactly the interpreter's conversion (its fast paths included).
pub fn cast_one(v: Value, from: DataType, to: DataType) -> Result<Value> {
    let c = darwin_columnar::eval::cast(&stored(&v, from), from, to)?;
    Ok(c.get(0, to))
}

/// A scalar function of one row (NULL in, NULL out), as the interpreter's generic path runs it.
pub fn call_one(func: darwin_plan::Func, args: &[Value], ty: DataType) -> Result<Value> {
    if args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    Ok(darwin_columnar::scalar::call_value(func, args, ty)?)
}

/// Whether an exact integer result fits its type (a decimal's precision, a timestamp's range).
pub use darwin_columnar::eval::fits;

/// The interpreter's error for `x op y` whose result does not fit `out`.
#[cold]
pub fn overflow(op: darwin_plan::BinOp, x: i128, y: i128, lt: DataType, out: DataType) -> RuntimeError {
    RuntimeError::Eval(darwin_columnar::eval::overflow_error(op, x, y, lt, out))
}

/// The interpreter's error for negating a type's minimum.
#[cold]
pub fn negation_overflow(x: i128, ty: DataType) -> RuntimeError {
    RuntimeError::Eval(darwin_columnar::eval::negation_overflow(x, ty))
}

/// CAST of an integer or decimal to a decimal, checked as the interpreter checks it.
#[inline]
pub fn to_decimal(x: i128, from_scale: u8, scale: u8, precision: u8, from: DataType, to: DataType) -> Result<i128> {
    Ok(darwin_columnar::eval::to_decimal_one(x, from_scale, scale, precision, from, to)?)
}

/// `s + x` for a compiled integer SUM (or the sum of an AVG) folding in registers: the
/// library accumulators' overflow error where the sum leaves BIGINT.
#[inline]
pub fn sum_i64(s: i64, x: i64, avg: bool) -> Result<i64> {
    s.checked_add(x).ok_or_else(|| {
        let what = if avg { "the sum of an AVG" } else { "a SUM" };
        RuntimeError::Eval(EvalError::Overflow { what: what.into(), to: DataType::BigInt })
    })
}

/// `err`, told where the expression it happened in was written (line, column, SQL text), as
/// the interpreter tells it (`EvalError::In`, innermost expression first).
#[cold]
pub fn at(err: RuntimeError, line: u64, column: u64, text: &str) -> RuntimeError {
    match err {
        RuntimeError::Eval(e) if !matches!(e, EvalError::In { .. }) => {
            let at = darwin_plan::Origin { at: darwin_common::Location { line, column }, text: text.to_string() };
            RuntimeError::Eval(EvalError::In { at, error: Box::new(e) })
        }
        other => other,
    }
}

/// The interpreter's error for a zero divisor.
pub fn division_by_zero(op: &str) -> crate::error::RuntimeError {
    RuntimeError::Eval(EvalError::DivisionByZero { op: op.to_string() })
}

/// Finishes an output column from typed values and per-row validity.
pub fn col_bool(v: Vec<bool>, valid: Vec<bool>) -> Column {
    Column::new(ColumnData::Bool(v.into()), Some(valid))
}
/// [`col_bool`] for `INT` values.
pub fn col_i32(v: Vec<i32>, valid: Vec<bool>) -> Column {
    Column::new(ColumnData::I32(v.into()), Some(valid))
}
/// [`col_bool`] for 64-bit integer values (`BIGINT`, `TIMESTAMP`, `INTERVAL`).
pub fn col_i64(v: Vec<i64>, valid: Vec<bool>) -> Column {
    Column::new(ColumnData::I64(v.into()), Some(valid))
}
/// [`col_bool`] for `DOUBLE` values.
pub fn col_f64(v: Vec<f64>, valid: Vec<bool>) -> Column {
    Column::new(ColumnData::F64(v.into()), Some(valid))
}
/// [`col_bool`] for `DECIMAL` mantissas.
pub fn col_i128(v: Vec<i128>, valid: Vec<bool>) -> Column {
    Column::new(ColumnData::I128(v.into()), Some(valid))
}
/// [`col_bool`] for strings.
pub fn col_str(v: StrVec, valid: Vec<bool>) -> Column {
    Column::new(ColumnData::Str(v.into()), Some(valid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::window_assign::windows_of;
    use darwin_plan::WindowKind;

    /// `hop_windows` agrees with the window assignment: when it answers, every row's windows are
    /// exactly first, first + slide, ..., last, all open; when the rows share their windows and
    /// all are open, it answers.
    #[test]
    fn hop_windows_agree_with_window_assignment() {
        let mut rnd = darwin_common::xorshift(0x9e37_79b9_7f4a_7c15);
        let mut next = move |m: u64| rnd() % m;
        let mut wins = Vec::new();
        for case in 0..20_000 {
            let slide = 1 + next(7) as i64;
            let size = 1 + next(25) as i64;
            let base = next(200) as i64 - 100;
            let spread = next(4) as i64;
            let n = 1 + next(4) as usize;
            let ts: Vec<i64> = (0..n).map(|_| base + next(spread as u64 + 1) as i64).collect();
            let wm = base - next(40) as i64;
            let sets: Vec<Vec<(i64, i64)>> = ts
                .iter()
                .map(|t| {
                    windows_of(*t, WindowKind::Hop { slide, size }, &mut wins);
                    wins.clone()
                })
                .collect();
            let shared = sets.iter().all(|w| *w == sets[0]) && !sets[0].is_empty();
            let open = sets[0].iter().all(|(_, e)| e - 1 > wm);
            match hop_windows(&ts, None, slide, size, wm) {
                Some((first, last)) => {
                    let expected: Vec<(i64, i64)> =
                        (0..).map(|i| first + i * slide).take_while(|s| *s <= last).map(|s| (s, s + size)).collect();
                    assert!(shared && open && sets[0] == expected, "case {case}: {ts:?} slide {slide} size {size}");
                }
                None => assert!(!(shared && open), "case {case}: {ts:?} slide {slide} size {size} wm {wm}"),
            }
        }
        // NULL times and extreme times take the general path.
        assert_eq!(hop_windows(&[5, 5], Some(&[true, false]), 2, 4, i64::MIN), None);
        assert_eq!(hop_windows(&[i64::MIN, i64::MIN], None, 2, 4, i64::MIN), None);
    }

    /// The runs a compiled keyed aggregate folds as batches agree with the per-row window
    /// assignment: a run starting at row `lo` holds exactly the following rows whose (non-NULL)
    /// time has the same set of windows as row `lo`'s, all of them open; no run starts at a row
    /// that is NULL or has a closed window. Random times, NULLs, TUMBLE, HOP (sizes that are and
    /// are not multiples of the slide, gaps) and windowed rows.
    #[test]
    fn runs_agree_with_window_assignment() {
        let mut rnd = darwin_common::xorshift(0x2545_f491_4f6c_dd1d);
        let mut next = move |m: u64| rnd() % m;
        let mut wins = Vec::new();
        for case in 0..20_000 {
            let slide = 1 + next(7) as i64;
            let size = 1 + next(25) as i64;
            let kind = if case % 2 == 0 { WindowKind::Tumble { size } } else { WindowKind::Hop { slide, size } };
            let base = next(200) as i64 - 100;
            // Short batches, and long ones with long runs (the chunked scan), with and without NULLs.
            let (n, close) = if case % 4 < 2 { (1 + next(12) as usize, false) } else { (1 + next(60) as usize, true) };
            let ts: Vec<i64> = (0..n)
                .map(|i| if close { base + next(3) as i64 } else { base + i as i64 * next(3) as i64 + next(4) as i64 })
                .collect();
            let valid: Vec<bool> = (0..n).map(|_| case % 3 == 0 || next(10) != 0).collect();
            let valid_arg = (case % 5 != 0).then_some(valid.as_slice());
            let valid = if valid_arg.is_none() { vec![true; n] } else { valid.clone() };
            let wm = base - next(30) as i64;
            let windows = |i: usize, wins: &mut Vec<(i64, i64)>| {
                windows_of(ts[i], kind, wins);
                wins.clone()
            };
            let lo = next(n as u64) as usize;
            let run = match kind {
                WindowKind::Tumble { size } => {
                    tumble_run(&ts, valid_arg, lo, size, wm).map(|(s, e, hi)| (vec![(s, e)], hi))
                }
                _ => hop_run(&ts, valid_arg, lo, slide, size, wm).map(|(first, last, hi)| {
                    let w = (0..).map(|k| first + k * slide).take_while(|s| *s <= last).map(|s| (s, s + size));
                    (w.collect(), hi)
                }),
            };
            let mine = windows(lo, &mut wins);
            let open = valid[lo] && !mine.is_empty() && mine.iter().all(|(_, e)| e - 1 > wm);
            let Some((set, hi)) = run else {
                assert!(!open, "case {case}: no run at {lo} of {ts:?} {valid:?} ({kind:?}, wm {wm})");
                continue;
            };
            assert!(open && set == mine, "case {case}: run at {lo} of {ts:?} {valid:?} ({kind:?}, wm {wm})");
            let same = |i: usize, wins: &mut Vec<(i64, i64)>| valid[i] && windows(i, wins) == mine;
            let want = lo + (lo..n).take_while(|&i| same(i, &mut wins)).count();
            assert_eq!(hi, want, "case {case}: run at {lo} of {ts:?} {valid:?} ({kind:?})");
        }
        // Windowed rows: runs of equal, non-NULL, open windows.
        let (starts, ends) = ([0, 0, 0, 10, 10, 10], [10, 10, 10, 20, 20, 20]);
        let ve = [true, true, true, true, false, true];
        assert_eq!(window_run(&starts, None, &ends, Some(&ve), 0, 5), Some((0, 10, 3)));
        assert_eq!(window_run(&starts, None, &ends, Some(&ve), 3, 5), Some((10, 20, 4)));
        assert_eq!(window_run(&starts, None, &ends, Some(&ve), 4, 5), None);
        assert_eq!(window_run(&starts, None, &ends, Some(&ve), 0, 9), None);
        assert_eq!(window_run(&[0], None, &[i64::MIN], None, 0, i64::MIN), None);
        // Extreme times start no run; the per-row code handles them.
        assert_eq!(tumble_run(&[i64::MAX], None, 0, 10, i64::MIN), None);
        assert_eq!(hop_run(&[i64::MIN], None, 0, 2, 4, i64::MIN), None);
    }
}
