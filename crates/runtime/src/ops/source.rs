//! The source operator: reads the partitions of a source round-robin, tracks a watermark per
//! partition (the running maximum of the WATERMARK expression) and emits their minimum. An
//! exhausted partition stops holding the watermark back; when all are exhausted the operator
//! emits a final watermark at +infinity.
//!
//! With checkpoints on, the source starts each epoch: when the coordinator asks for a new epoch,
//! it emits that epoch's barrier between two batches. Its state at the barrier is the replay
//! offset and watermark of each partition.

use crate::checkpoint::codec::{Dec, Enc};
use crate::error::Result;
use crate::eval::eval;
use crate::operator::{Msg, Operator, SourceCounters, SourceReader};
use darwin_plan::Expr;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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
        }
    }

    fn combined(&self) -> i64 {
        self.part_wm.iter().zip(&self.done).filter(|(_, d)| !**d).map(|(w, _)| *w).min().unwrap_or(i64::MAX)
    }

    fn maybe_watermark(&mut self) {
        if self.watermark.is_none() {
            return;
        }
        let wm = self.combined();
        if wm > self.emitted_wm && wm != i64::MAX {
            self.emitted_wm = wm;
            self.pending.push_back(Msg::Watermark(wm));
        }
    }
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
            let n = self.done.len();
            let Some(p) = (0..n).map(|k| (self.next_part + k) % n).find(|p| !self.done[*p]) else {
                self.finished = true;
                self.counters.skipped.store(self.reader.skipped(), Ordering::Relaxed);
                // The end of a bounded input: every window closes.
                self.pending.push_back(Msg::Watermark(i64::MAX));
                continue;
            };
            self.next_part = (p + 1) % n;
            match self.reader.next_batch(p, self.batch_size)? {
                None => {
                    self.done[p] = true;
                    self.maybe_watermark();
                }
                Some(batch) => {
                    self.counters.read.fetch_add(batch.num_rows as u64, Ordering::Relaxed);
                    self.counters.skipped.store(self.reader.skipped(), Ordering::Relaxed);
                    if let Some(w) = &self.watermark {
                        let c = eval(w, &batch)?;
                        let max = c.i64s().iter().enumerate().filter(|(i, _)| c.is_valid(*i)).map(|(_, v)| *v).max();
                        if let Some(m) = max {
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
            e.u64(if self.done[p] { 0 } else { self.reader.offset(p) });
        }
    }

    fn restore(&mut self, d: &mut Dec) -> Result<()> {
        self.finished = d.bool()?;
        self.emitted_wm = d.i64()?;
        self.next_part = d.u64()? as usize;
        let n = d.u64()?;
        d.expect("the number of partitions", n, self.done.len() as u64)?;
        for p in 0..self.done.len() {
            let (done, wm, offset) = (d.bool()?, d.i64()?, d.u64()?);
            self.done[p] = self.done[p] || done;
            self.part_wm[p] = wm;
            if !self.done[p] {
                self.reader.seek(p, offset)?;
            }
        }
        self.next_part %= self.done.len().max(1);
        Ok(())
    }
}
