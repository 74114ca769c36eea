//! The source operator: reads the partitions of a source round-robin, tracks a watermark per
//! partition (the running maximum of the WATERMARK expression) and emits their minimum. An
//! exhausted partition stops holding the watermark back; when all are exhausted the operator
//! emits a final watermark at +infinity.
//!
//! With checkpoints on, the source starts each epoch: when the coordinator asks for a new epoch,
//! it emits that epoch's barrier between two batches. Its state at the barrier is the replay
//! offset and watermark of each partition.
//!
//! A source may be aligned (`Alignment`) with the other source instances of its pipeline: the
//! same source on the other workers and the other sources of the query. Each instance publishes
//! its watermark, and one that is more than the allowed drift ahead of the slowest answers
//! `Idle` (after any barrier due) until that one catches up. The slowest never waits, so
//! alignment cannot deadlock; it bounds the event-time skew between workers and between the
//! inputs of a join, and with it the windows and rows that operators downstream hold open.
//!
//! A run that is asked to stop (a signal) tells its sources through [`StopControl`]: with
//! checkpoints, each source stops reading once it has emitted the barrier of the stop's final
//! checkpoint (and only emits barriers after); without, each source ends as a bounded input ends,
//! so every open window closes and the output is complete for what was read.

use crate::error::{Result, RuntimeError};
use crate::operator::{Msg, Operator, SourceCounters, SourceReader};
use darwin_columnar::codec::{Dec, Enc};
use darwin_columnar::column::{min_max, Batch, ColumnData};
use darwin_columnar::eval::{eval, fits};
use darwin_common::{DataType, Value};
use darwin_plan::{BinOp, Expr, ExprKind};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Reads the partitions of a source this worker owns, emitting batches, watermarks and epoch barriers
/// (module docs).
pub struct SourceOp {
    reader: Box<dyn SourceReader>,
    watermark: Option<Expr>,
    batch_size: usize,
    part_wm: Vec<i64>,
    done: Vec<bool>,
    next_part: usize,
    emitted_wm: i64,
    finished: bool,
    pending: VecDeque<Msg>,
    counters: Arc<SourceCounters>,
    /// The epoch the coordinator asks for, and the last one this source started.
    epochs: Option<Arc<AtomicU64>>,
    epoch: u64,
    align: Option<Alignment>,
    stop: Option<Arc<StopControl>>,
    /// A partition that has given no row for this long does not hold the watermark back
    /// (`scan.watermark.idle-timeout`), until it gives rows again.
    idle_timeout: Option<Duration>,
    /// When each partition last gave rows (or the source started).
    last_rows: Vec<Instant>,
}

/// How a run asks its sources to stop (see the module docs); shared by every source of the run.
#[derive(Debug, Default)]
pub struct StopControl {
    /// End every source now, as a bounded input ends.
    pub drain: AtomicBool,
    /// Read nothing after the barrier of this epoch (0: read on).
    pub pause_after: AtomicU64,
}

/// One source instance among all of its pipeline's (see the module docs).
pub struct Alignment {
    /// Each instance's published watermark: i64::MAX once its share of the source has ended, and
    /// before the instance is built (a slot no instance takes never holds the others back).
    pub clock: Arc<[AtomicI64]>,
    /// This instance's slot in `clock`.
    pub slot: usize,
    /// Event-time milliseconds this instance may be ahead of the slowest.
    pub drift: i64,
}

impl Alignment {
    /// Whether a source at watermark `wm` is too far ahead of the slowest instance.
    fn ahead(&self, wm: i64) -> bool {
        let slowest = self.clock.iter().map(|c| c.load(Ordering::Relaxed)).min().unwrap_or(i64::MAX);
        wm > slowest.saturating_add(self.drift)
    }
}

impl SourceOp {
    /// `owned(p)` says whether this worker reads partition `p`.
    pub fn new(
        reader: Box<dyn SourceReader>,
        watermark: Option<Expr>,
        batch_size: usize,
        counters: Arc<SourceCounters>,
        owned: &dyn Fn(usize) -> bool,
        epochs: Option<(Arc<AtomicU64>, u64)>,
    ) -> Self {
        let n = reader.partitions();
        counters.last.describe(reader.as_ref());
        // The epoch the run starts after (not the coordinator's current request, which may
        // already be ahead while workers are still being built).
        let (epochs, epoch) = match epochs {
            Some((e, start)) => (Some(e), start),
            None => (None, 0),
        };
        SourceOp {
            reader,
            watermark,
            batch_size,
            part_wm: vec![i64::MIN; n],
            done: (0..n).map(|p| !owned(p)).collect(),
            next_part: 0,
            emitted_wm: i64::MIN,
            finished: false,
            pending: VecDeque::new(),
            counters,
            epochs,
            epoch,
            align: None,
            stop: None,
            idle_timeout: None,
            last_rows: vec![Instant::now(); n],
        }
    }

    /// Lets partitions without rows for `timeout` stop holding the watermark back.
    pub fn idle_after(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Lets the run stop this source (a replicated lookup table is always read whole instead).
    pub fn stoppable(mut self, stop: Option<Arc<StopControl>>) -> Self {
        self.stop = stop;
        self
    }

    /// Whether the run asked this source to stop reading: it ends (drain), or answers `Idle`
    /// from now on (paused after the final checkpoint's barrier).
    fn stopping(&mut self) -> Option<Msg> {
        let stop = self.stop.as_ref()?;
        if stop.drain.load(Ordering::Relaxed) {
            self.done.iter_mut().for_each(|d| *d = true);
            return None;
        }
        let after = stop.pause_after.load(Ordering::Relaxed);
        (after != 0 && self.epoch >= after).then_some(Msg::Idle)
    }

    /// Aligns this instance with the others of its pipeline (see the module docs).
    pub fn aligned(mut self, align: Option<Alignment>) -> Self {
        self.align = align;
        self.publish();
        self
    }

    /// Tells the other instances how far this one has come.
    fn publish(&self) {
        if let Some(a) = &self.align {
            let wm = if self.finished { i64::MAX } else { self.combined() };
            a.clock[a.slot].store(wm, Ordering::Relaxed);
        }
    }

    /// The minimum watermark of the partitions still open and not idle; i64::MAX once every
    /// partition has ended; while every open partition is idle, the other instances' (below).
    fn combined(&self) -> i64 {
        let open = || (0..self.done.len()).filter(|&p| !self.done[p]);
        let Some(t) = self.idle_timeout else {
            return open().map(|p| self.part_wm[p]).min().unwrap_or(i64::MAX);
        };
        if open().next().is_none() {
            return i64::MAX;
        }
        let active = open().filter(|&p| self.last_rows[p].elapsed() < t).map(|p| self.part_wm[p]).min();
        active.unwrap_or_else(|| self.others_watermark())
    }

    /// Whether every partition this instance still reads has been idle for the idle timeout.
    fn all_idle(&self) -> bool {
        let Some(t) = self.idle_timeout else { return false };
        let mut open = (0..self.done.len()).filter(|&p| !self.done[p]).peekable();
        open.peek().is_some() && open.all(|p| self.last_rows[p].elapsed() >= t)
    }

    /// For an instance whose partitions are all idle: the slowest of the other instances of the
    /// source (what they published), so that this one does not hold event time back downstream
    /// either; its last watermark when there is none to follow (all idle, or all ended).
    fn others_watermark(&self) -> i64 {
        let Some(a) = &self.align else { return self.emitted_wm };
        let others = a.clock.iter().enumerate().filter(|(i, _)| *i != a.slot).map(|(_, c)| c.load(Ordering::Relaxed));
        match others.min() {
            Some(m) if m != i64::MAX => m.max(self.emitted_wm),
            _ => self.emitted_wm,
        }
    }

    fn maybe_watermark(&mut self) {
        if self.watermark.is_none() {
            return;
        }
        let wm = self.combined();
        self.publish();
        if wm > self.emitted_wm && wm != i64::MAX {
            self.emitted_wm = wm;
            self.pending.push_back(Msg::Watermark(wm));
        }
    }
}

/// The largest value of the WATERMARK expression over a batch's rows (None: all NULL).
fn batch_watermark(w: &Expr, batch: &Batch) -> Result<Option<i64>> {
    // `t` or `t - INTERVAL c` (nearly every WATERMARK clause): the maximum of t, shifted, with
    // no column built. The shift is monotone, so when the extremes of t shifted stay timestamps
    // every row's does; otherwise evaluating finds the row that leaves the range.
    let shifted = match &w.kind {
        ExprKind::Column(i) => Some((*i, 0)),
        ExprKind::Binary { op: BinOp::Sub, left, right } => match (&left.kind, &right.kind) {
            (ExprKind::Column(i), ExprKind::Literal(Value::Interval(c))) => Some((*i, *c)),
            _ => None,
        },
        _ => None,
    };
    if let Some((i, c)) = shifted {
        if let ColumnData::I64(v) = &batch.columns[i].data {
            let Some((lo, hi)) = min_max(v, batch.columns[i].validity.as_deref()) else { return Ok(None) };
            let shift = |t: i64| i128::from(t) - i128::from(c);
            if fits(shift(lo), DataType::Timestamp) && fits(shift(hi), DataType::Timestamp) {
                return Ok(Some(hi - c));
            }
        }
    }
    let c = eval(w, batch)?;
    Ok(c.i64s().iter().enumerate().filter(|(i, _)| c.is_valid(*i)).map(|(_, v)| *v).max())
}

impl Operator for SourceOp {
    fn next(&mut self) -> Result<Option<Msg>> {
        loop {
            if let Some(m) = self.pending.pop_front() {
                return Ok(Some(m));
            }
            if self.finished {
                return Ok(None);
            }
            if let Some(e) = &self.epochs {
                let want = e.load(Ordering::Relaxed);
                if want > self.epoch {
                    self.epoch = want;
                    return Ok(Some(Msg::Barrier(want)));
                }
            }
            if let Some(idle) = self.stopping() {
                return Ok(Some(idle));
            }
            // (Once every partition has ended, nothing is left to wait for: go on to the end.)
            // (An instance whose partitions are all idle reads only to see whether they woke;
            // holding it back would also keep its slot of the clock from following the others.)
            if !self.all_idle()
                && self.align.as_ref().is_some_and(|a| {
                    let wm = self.combined();
                    wm != i64::MAX && a.ahead(wm)
                })
            {
                return Ok(Some(Msg::Idle));
            }
            let n = self.done.len();
            let Some(p) = (0..n).map(|k| (self.next_part + k) % n).find(|p| !self.done[*p]) else {
                self.finished = true;
                self.publish();
                self.counters.skipped.store(self.reader.skipped(), Ordering::Relaxed);
                // The end of a bounded input: every window closes.
                self.pending.push_back(Msg::Watermark(i64::MAX));
                continue;
            };
            self.next_part = (p + 1) % n;
            let from = self.reader.position(p);
            match self.reader.next_batch(p, self.batch_size)? {
                None => {
                    self.done[p] = true;
                    self.maybe_watermark();
                }
                Some(batch) => {
                    if batch.num_rows > 0 && self.idle_timeout.is_some() {
                        self.last_rows[p] = Instant::now();
                    }
                    self.counters.last.record(p, from, self.reader.position(p));
                    self.counters.read.fetch_add(batch.num_rows as u64, Ordering::Relaxed);
                    self.counters.skipped.store(self.reader.skipped(), Ordering::Relaxed);
                    if let Some(w) = &self.watermark {
                        if let Some(m) = batch_watermark(w, &batch)? {
                            self.part_wm[p] = self.part_wm[p].max(m);
                        }
                    }
                    self.pending.push_back(Msg::Batch(batch));
                    self.maybe_watermark();
                }
            }
        }
    }

    fn snapshot(&mut self, e: &mut Enc) {
        e.bool(self.finished);
        e.i64(self.emitted_wm);
        e.len(self.next_part);
        e.len(self.done.len());
        for p in 0..self.done.len() {
            e.bool(self.done[p]);
            e.i64(self.part_wm[p]);
            let (offset, check) = if self.done[p] { (0, 0) } else { (self.reader.offset(p), self.reader.check(p)) };
            e.u64(offset);
            e.u64(check);
        }
    }

    fn restore(&mut self, d: &mut Dec) -> Result<()> {
        self.finished = d.bool()?;
        self.emitted_wm = d.i64()?;
        self.next_part = d.u64()? as usize;
        let n = d.u64()?;
        d.expect("the number of partitions", n, self.done.len() as u64)?;
        for p in 0..self.done.len() {
            let (done, wm, offset, check) = (d.bool()?, d.i64()?, d.u64()?, d.u64()?);
            self.done[p] = self.done[p] || done;
            self.part_wm[p] = wm;
            if !self.done[p] {
                self.reader.seek(p, offset)?;
                if self.reader.offset(p) != offset || self.reader.check(p) != check {
                    return Err(RuntimeError::Connector {
                        connector: self.reader.describe(p),
                        message: format!(
                            "the input changed since the checkpoint was taken: what the checkpoint had read of \
                             it (up to position {offset}: a byte offset for text files) is no longer the same, or \
                             the input is shorter. Restore the input, or run with --fresh to start over"
                        ),
                    });
                }
            }
        }
        self.next_part %= self.done.len().max(1);
        self.publish();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use darwin_columnar::column::Batch;
    use darwin_common::{DataType, Value};

    /// One partition of single-column batches (the column is the event time).
    struct Times(Vec<Vec<i64>>, usize);

    impl SourceReader for Times {
        fn partitions(&self) -> usize {
            1
        }
        fn next_batch(&mut self, _: usize, _: usize) -> Result<Option<Batch>> {
            let Some(ts) = self.0.get(self.1) else { return Ok(None) };
            self.1 += 1;
            let rows: Vec<Vec<Value>> = ts.iter().map(|t| vec![Value::BigInt(*t)]).collect();
            Ok(Some(Batch::from_rows(&rows, &[DataType::BigInt])))
        }
        fn offset(&self, _: usize) -> u64 {
            self.1 as u64
        }
        fn seek(&mut self, _: usize, offset: u64) -> Result<()> {
            self.1 = offset as usize;
            Ok(())
        }
    }

    fn source(times: Vec<Vec<i64>>, clock: &Arc<[AtomicI64]>, epochs: Option<Arc<AtomicU64>>) -> SourceOp {
        let reader = Box::new(Times(times, 0));
        let wm = Some(darwin_plan::Expr::column(0, DataType::BigInt));
        let op = SourceOp::new(reader, wm, 16, Default::default(), &|_| true, epochs.map(|e| (e, 0)));
        op.aligned(Some(Alignment { clock: clock.clone(), slot: 0, drift: 10 }))
    }

    /// An aligned source reads while it is at most `drift` ahead of the slowest worker's
    /// instance, then answers Idle (still starting epochs) until that one catches up, and
    /// publishes its own watermark (+infinity once it has ended).
    #[test]
    fn an_aligned_source_waits_for_the_slowest_worker() {
        let clock: Arc<[AtomicI64]> = (0..2).map(|_| AtomicI64::new(i64::MIN)).collect();
        let epochs = Arc::new(AtomicU64::new(0));
        let mut op = source(vec![vec![5, 3], vec![12], vec![30]], &clock, Some(epochs.clone()));
        let mut next = || op.next().unwrap();
        // The first batch may be read: nothing is known yet, so this instance is not ahead.
        clock[1].store(0, Ordering::Relaxed);
        assert!(matches!(next(), Some(Msg::Batch(b)) if b.num_rows == 2));
        assert!(matches!(next(), Some(Msg::Watermark(5))));
        assert_eq!(clock[0].load(Ordering::Relaxed), 5);
        // 5 is within 10 of worker 1's 0: read on; 12 is not.
        assert!(matches!(next(), Some(Msg::Batch(_))));
        assert!(matches!(next(), Some(Msg::Watermark(12))));
        for _ in 0..3 {
            assert!(matches!(next(), Some(Msg::Idle)));
        }
        // A barrier due is emitted while waiting.
        epochs.store(1, Ordering::Relaxed);
        assert!(matches!(next(), Some(Msg::Barrier(1))));
        assert!(matches!(next(), Some(Msg::Idle)));
        // Worker 1 catches up to 2: 12 is within 10 of it.
        clock[1].store(2, Ordering::Relaxed);
        assert!(matches!(next(), Some(Msg::Batch(_))));
        assert!(matches!(next(), Some(Msg::Watermark(30))));
        assert!(matches!(next(), Some(Msg::Idle)));
        // Worker 1's share ends: nothing holds this one back any more.
        clock[1].store(i64::MAX, Ordering::Relaxed);
        assert!(matches!(next(), Some(Msg::Watermark(i64::MAX))));
        assert!(next().is_none());
        assert_eq!(clock[0].load(Ordering::Relaxed), i64::MAX);
    }

    /// A worker whose share has ended (or that owns no partition) ends at once, however far
    /// behind the others are: it must not hold back their watermarks while it waits.
    #[test]
    fn an_ended_share_does_not_wait() {
        let clock: Arc<[AtomicI64]> = (0..2).map(|_| AtomicI64::new(i64::MIN)).collect();
        let wm = Some(darwin_plan::Expr::column(0, DataType::BigInt));
        let reader = Box::new(Times(vec![vec![1]], 0));
        let op = SourceOp::new(reader, wm, 16, Default::default(), &|_| false, None);
        let mut op = op.aligned(Some(Alignment { clock: clock.clone(), slot: 0, drift: 10 }));
        assert_eq!(clock[0].load(Ordering::Relaxed), i64::MAX);
        assert!(matches!(op.next().unwrap(), Some(Msg::Watermark(i64::MAX))));
        assert!(op.next().unwrap().is_none());
    }

    /// The watermark of a batch without building the expression's column equals the maximum
    /// of the evaluated column, with NULLs and times at the ends of the range (where `t - c`
    /// leaves the timestamp range: an error both ways).
    #[test]
    fn a_batch_watermark_equals_the_evaluated_maximum() {
        use darwin_plan::Expr;
        let t = Expr::column(0, DataType::Timestamp);
        let mut seed = 7u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..400 {
            let c = [0, 4_000, -4_000, i64::MAX, i64::MIN + 1][round % 5];
            let w = if round % 7 == 0 {
                t.clone()
            } else {
                Expr::binary(
                    BinOp::Sub,
                    t.clone(),
                    Expr::literal(Value::Interval(c), DataType::Interval),
                    DataType::Timestamp,
                )
            };
            let rows: Vec<Vec<Value>> = (0..(next() % 6))
                .map(|_| match next() % 5 {
                    0 => vec![Value::Null],
                    1 => vec![Value::Timestamp([i64::MIN, i64::MAX, i64::MIN + 3_000][(next() % 3) as usize])],
                    _ => vec![Value::Timestamp((next() % 100_000) as i64 - 50_000)],
                })
                .collect();
            let batch = Batch::from_rows(&rows, &[DataType::Timestamp]);
            // A shift that leaves the timestamp range is an error either way.
            let Ok(c) = eval(&w, &batch) else {
                assert!(batch_watermark(&w, &batch).is_err(), "{rows:?} {w:?}");
                continue;
            };
            let want = c.i64s().iter().enumerate().filter(|(i, _)| c.is_valid(*i)).map(|(_, v)| *v).max();
            assert_eq!(batch_watermark(&w, &batch).unwrap(), want, "{rows:?} {w:?}");
        }
    }

    /// The slowest instance never waits, so some worker can always go on.
    #[test]
    fn the_slowest_source_never_waits() {
        let clock: Arc<[AtomicI64]> = (0..2).map(|_| AtomicI64::new(i64::MIN)).collect();
        clock[1].store(1_000, Ordering::Relaxed);
        let mut op = source((0..50).map(|i| vec![i * 20]).collect(), &clock, None);
        let mut batches = 0;
        while let Some(m) = op.next().unwrap() {
            match m {
                Msg::Batch(_) => batches += 1,
                Msg::Idle => panic!("the slowest instance waited at {}", clock[0].load(Ordering::Relaxed)),
                _ => {}
            }
            if clock[0].load(Ordering::Relaxed) >= 990 {
                break;
            }
        }
        assert_eq!(batches, 50);
    }
}
