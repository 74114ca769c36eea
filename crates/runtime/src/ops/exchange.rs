//! The exchange: the only place rows cross workers. Each worker's exchange partitions its local
//! input (by a hash of the keys, or all to worker 0) into per-worker channels, and returns what
//! the other workers sent it. Watermarks go to every worker; a worker's output watermark is the
//! minimum over the senders still running. When nothing has arrived yet it answers `Idle`
//! instead of blocking, so a worker never waits inside one exchange while another worker waits
//! for it in a second exchange.
//!
//! Channels are bounded: when a target's inbox is full, the packets for it wait here and the
//! exchange stops pulling its input until they are delivered (backpressure), while it keeps
//! draining its own inbox. Memory between workers stays bounded, and so does queueing delay.
//!
//! Barriers are aligned: a barrier from the input goes to every worker, and the exchange then
//! stops pulling its input; on the receiving side, packets from a sender that has delivered the
//! barrier are held back until every sender still running has delivered it. Then the barrier
//! goes downstream and the input is pulled again. At that moment no row after the barrier has
//! entered or left this exchange, so its state is the epoch's (aligned checkpoints: nothing in
//! flight needs saving).

use crate::error::Result;
use crate::operator::{Msg, Operator};
use crate::ops::partition_hash::{hash_columns, worker_of};
use darwin_columnar::codec::{Dec, Enc};
use darwin_columnar::column::{Batch, Column};
use darwin_columnar::eval::eval;
use darwin_plan::physical::Partitioning;
use darwin_plan::ExprKind;
use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError};

/// Packets an exchange inbox holds before its senders must wait. With 4, Nexmark q5 on 2
/// workers idled 15-19% per worker waiting at full inboxes, at a p50 window latency of 5 ms;
/// with 16, 0-10% and 1 ms, at the same throughput (64 was no better).
pub const INBOX_CAPACITY: usize = 16;

/// What travels over an exchange channel, tagged with the sending worker.
pub enum Packet {
    /// Rows routed to the receiving worker.
    Batch(Batch),
    /// The sender's watermark (ms of event time).
    Watermark(i64),
    /// The barrier of an epoch, delivered by the sender's input.
    Barrier(u64),
    /// The sender's input has ended; nothing more comes from it.
    End,
}

/// One worker's end of an exchange (module docs): routes its input's rows to the workers by its partitioning
/// and returns what the workers routed to it.
pub struct ExchangeOp {
    input: Box<dyn Operator>,
    partitioning: Partitioning,
    me: usize,
    senders: Vec<SyncSender<(usize, Packet)>>,
    inbox: Receiver<(usize, Packet)>,
    /// Per target: packets waiting for room in its inbox, in order.
    pending: Vec<VecDeque<Packet>>,
    sender_wm: Vec<i64>,
    sender_done: Vec<bool>,
    input_done: bool,
    emitted_wm: i64,
    hashes: Vec<u64>,
    /// Per target: the rows of the batch being routed (kept to reuse their allocations).
    parts: Vec<Vec<u32>>,
    /// Barrier alignment: the barrier each sender has delivered, the packets held back behind
    /// it, and the barrier this exchange forwarded from its input (not pulled again until the
    /// barrier is aligned).
    sender_barrier: Vec<Option<u64>>,
    held: VecDeque<(usize, Packet)>,
    replay: VecDeque<(usize, Packet)>,
    forwarded: Option<u64>,
    after_barrier: Option<Msg>,
}

impl ExchangeOp {
    /// The exchange of worker `me`: `senders[w]` reaches worker `w`'s inbox (one per worker, this one's included),
    /// and `inbox` receives the packets sent to this worker.
    pub fn new(
        input: Box<dyn Operator>,
        partitioning: Partitioning,
        me: usize,
        senders: Vec<SyncSender<(usize, Packet)>>,
        inbox: Receiver<(usize, Packet)>,
    ) -> Self {
        let n = senders.len();
        ExchangeOp {
            input,
            partitioning,
            me,
            pending: (0..n).map(|_| VecDeque::new()).collect(),
            senders,
            inbox,
            sender_wm: vec![i64::MIN; n],
            sender_done: vec![false; n],
            input_done: false,
            emitted_wm: i64::MIN,
            hashes: Vec::new(),
            parts: vec![Vec::new(); n],
            sender_barrier: vec![None; n],
            held: VecDeque::new(),
            replay: VecDeque::new(),
            forwarded: None,
            after_barrier: None,
        }
    }

    fn send(&mut self, to: usize, p: Packet) {
        self.pending[to].push_back(p);
        self.flush_target(to);
    }

    fn flush_target(&mut self, to: usize) {
        while let Some(p) = self.pending[to].pop_front() {
            match self.senders[to].try_send((self.me, p)) {
                Ok(()) => {}
                Err(TrySendError::Full((_, p))) => {
                    self.pending[to].push_front(p);
                    return;
                }
                // That worker has failed; its error is reported by the driver.
                Err(TrySendError::Disconnected(_)) => self.pending[to].clear(),
            }
        }
    }

    /// Tries to deliver waiting packets; true when none are left.
    fn flush(&mut self) -> bool {
        for to in 0..self.pending.len() {
            self.flush_target(to);
        }
        self.pending.iter().all(VecDeque::is_empty)
    }

    fn route(&mut self, batch: Batch) -> Result<()> {
        // Work even when every row goes to another worker and this round returns `Idle`.
        crate::operator::note_work();
        let n = self.senders.len();
        match &self.partitioning {
            Partitioning::Gather => self.send(0, Packet::Batch(batch)),
            Partitioning::Broadcast => {
                let mut batch = batch;
                for to in 1..n {
                    // Every worker reads the same buffers (copied only by one that writes).
                    self.send(to, Packet::Batch(batch.share()));
                }
                self.send(0, Packet::Batch(batch));
            }
            Partitioning::Hash(keys) => {
                // Key columns are read in place; only computed keys are evaluated.
                let computed = keys
                    .iter()
                    .map(|k| match k.kind {
                        ExprKind::Column(_) => Ok(None),
                        _ => eval(k, &batch).map(Some),
                    })
                    .collect::<darwin_columnar::Result<Vec<_>>>()?;
                let cols: Vec<&Column> = keys
                    .iter()
                    .zip(&computed)
                    .map(|(k, c)| match (&k.kind, c) {
                        (_, Some(c)) => c,
                        (ExprKind::Column(i), None) => &batch.columns[*i],
                        (_, None) => unreachable!("computed above"),
                    })
                    .collect();
                hash_columns(&cols, batch.num_rows, &mut self.hashes);
                let mut parts = std::mem::take(&mut self.parts);
                parts.iter_mut().for_each(Vec::clear);
                for (i, h) in self.hashes.iter().enumerate() {
                    parts[worker_of(*h, n as u64)].push(i as u32);
                }
                for (to, rows) in parts.iter().enumerate() {
                    if rows.len() == batch.num_rows {
                        self.send(to, Packet::Batch(batch));
                        break;
                    }
                    if !rows.is_empty() {
                        self.send(to, Packet::Batch(batch.take(rows)));
                    }
                }
                self.parts = parts;
            }
        }
        Ok(())
    }

    fn watermark(&self) -> i64 {
        self.sender_wm.iter().zip(&self.sender_done).filter(|(_, d)| !**d).map(|(w, _)| *w).min().unwrap_or(i64::MAX)
    }

    /// Handles a packet from another worker; returns what to pass downstream, if anything.
    fn receive(&mut self, from: usize, p: Packet) -> Option<Msg> {
        if self.sender_barrier[from].is_some() {
            self.held.push_back((from, p));
            return None;
        }
        match p {
            Packet::Batch(b) => return Some(Msg::Batch(b)),
            Packet::Watermark(w) => self.sender_wm[from] = self.sender_wm[from].max(w),
            Packet::End => self.sender_done[from] = true,
            Packet::Barrier(e) => self.sender_barrier[from] = Some(e),
        }
        if let Some(m) = self.try_align() {
            return Some(m);
        }
        self.advance_watermark()
    }

    /// The barrier, once every sender still running has delivered it and this exchange has
    /// delivered its own to every worker (a consumer that waits at a barrier stops pulling this
    /// exchange, so nothing may be left to flush that other workers need for the same barrier).
    fn try_align(&mut self) -> Option<Msg> {
        let e = self.sender_barrier.iter().flatten().next().copied()?;
        let all = (0..self.senders.len()).all(|s| self.sender_done[s] || self.sender_barrier[s].is_some());
        if !all || !self.pending.iter().all(VecDeque::is_empty) {
            return None;
        }
        // Release the held packets (they come after the barrier) and the input.
        self.sender_barrier.iter_mut().for_each(|b| *b = None);
        self.replay.extend(self.held.drain(..));
        self.forwarded = None;
        // A watermark this packet advanced goes right after the barrier.
        self.after_barrier = self.advance_watermark();
        Some(Msg::Barrier(e))
    }

    fn advance_watermark(&mut self) -> Option<Msg> {
        let wm = self.watermark();
        if wm > self.emitted_wm && wm != i64::MAX {
            self.emitted_wm = wm;
            return Some(Msg::Watermark(wm));
        }
        None
    }
}

impl Operator for ExchangeOp {
    fn next(&mut self) -> Result<Option<Msg>> {
        if let Some(m) = self.after_barrier.take() {
            return Ok(Some(m));
        }
        loop {
            let packet = match self.replay.pop_front() {
                Some(p) => Ok(p),
                None => self.inbox.try_recv(),
            };
            match packet {
                Ok((from, p)) => {
                    if let Some(m) = self.receive(from, p) {
                        return Ok(Some(m));
                    }
                    continue;
                }
                Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => {}
            }
            let delivered = self.flush();
            if self.sender_done.iter().all(|d| *d) && delivered {
                return Ok(None);
            }
            if let Some(m) = self.try_align() {
                return Ok(Some(m));
            }
            if self.input_done || !delivered || self.forwarded.is_some() {
                return Ok(Some(Msg::Idle));
            }
            match self.input.next()? {
                Some(Msg::Batch(b)) => self.route(b)?,
                Some(Msg::Watermark(w)) => (0..self.senders.len()).for_each(|to| self.send(to, Packet::Watermark(w))),
                Some(Msg::Idle) => return Ok(Some(Msg::Idle)),
                Some(Msg::Barrier(e)) => {
                    self.forwarded = Some(e);
                    (0..self.senders.len()).for_each(|to| self.send(to, Packet::Barrier(e)));
                }
                None => {
                    self.input_done = true;
                    (0..self.senders.len()).for_each(|to| self.send(to, Packet::End));
                }
            }
        }
    }

    fn snapshot(&mut self, e: &mut Enc) {
        self.encode(e);
    }

    fn restore(&mut self, d: &mut Dec) -> Result<()> {
        self.decode(d)
    }
}

impl ExchangeOp {
    /// The receiving side's progress (the sending side has nothing in flight at a barrier).
    fn encode(&self, e: &mut Enc) {
        e.bool(self.input_done);
        e.i64(self.emitted_wm);
        e.len(self.sender_wm.len());
        for (w, d) in self.sender_wm.iter().zip(&self.sender_done) {
            e.i64(*w);
            e.bool(*d);
        }
    }

    fn decode(&mut self, d: &mut Dec) -> Result<()> {
        self.input_done = d.bool()?;
        self.emitted_wm = d.i64()?;
        let n = d.u64()?;
        d.expect("the number of workers", n, self.sender_wm.len() as u64)?;
        for s in 0..self.sender_wm.len() {
            self.sender_wm[s] = d.i64()?;
            self.sender_done[s] = d.bool()?;
        }
        Ok(())
    }
}
