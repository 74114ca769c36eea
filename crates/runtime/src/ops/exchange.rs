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

use crate::column::Batch;
use crate::error::Result;
use crate::eval::eval;
use crate::keys::encode_row;
use crate::operator::{Msg, Operator};
use darwin_plan::physical::Partitioning;
use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError};

/// Packets an exchange inbox holds before its senders must wait.
pub const INBOX_CAPACITY: usize = 4;

/// What travels over an exchange channel, tagged with the sending worker.
pub enum Packet {
    Batch(Batch),
    Watermark(i64),
    End,
}

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
    scratch: Vec<u8>,
}

/// FxHash-style mixing of the encoded key: cheap, and good enough to spread keys over workers.
#[inline]
fn hash_bytes(b: &[u8]) -> u64 {
    let mut h = 0u64;
    for chunk in b.chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    h ^ (h >> 29)
}

impl ExchangeOp {
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
            scratch: Vec::new(),
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
        let n = self.senders.len();
        match &self.partitioning {
            Partitioning::Gather => self.send(0, Packet::Batch(batch)),
            Partitioning::Hash(keys) => {
                let cols = keys.iter().map(|k| eval(k, &batch)).collect::<Result<Vec<_>>>()?;
                let mut parts: Vec<Vec<u32>> = vec![Vec::new(); n];
                for i in 0..batch.num_rows {
                    self.scratch.clear();
                    encode_row(&cols, i, &mut self.scratch);
                    parts[(hash_bytes(&self.scratch) % n as u64) as usize].push(i as u32);
                }
                for (to, rows) in parts.into_iter().enumerate() {
                    if rows.len() == batch.num_rows {
                        self.send(to, Packet::Batch(batch));
                        break;
                    }
                    if !rows.is_empty() {
                        self.send(to, Packet::Batch(batch.take(&rows)));
                    }
                }
            }
        }
        Ok(())
    }

    fn watermark(&self) -> i64 {
        self.sender_wm.iter().zip(&self.sender_done).filter(|(_, d)| !**d).map(|(w, _)| *w).min().unwrap_or(i64::MAX)
    }

    /// Handles a packet from another worker; returns what to pass downstream, if anything.
    fn receive(&mut self, from: usize, p: Packet) -> Option<Msg> {
        match p {
            Packet::Batch(b) => return Some(Msg::Batch(b)),
            Packet::Watermark(w) => self.sender_wm[from] = self.sender_wm[from].max(w),
            Packet::End => self.sender_done[from] = true,
        }
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
        loop {
            match self.inbox.try_recv() {
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
            if self.input_done || !delivered {
                return Ok(Some(Msg::Idle));
            }
            match self.input.next()? {
                Some(Msg::Batch(b)) => self.route(b)?,
                Some(Msg::Watermark(w)) => (0..self.senders.len()).for_each(|to| self.send(to, Packet::Watermark(w))),
                Some(Msg::Idle) => return Ok(Some(Msg::Idle)),
                Some(m @ Msg::Barrier(_)) => return Ok(Some(m)),
                None => {
                    self.input_done = true;
                    (0..self.senders.len()).for_each(|to| self.send(to, Packet::End));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hash_spreads_small_keys() {
        let mut counts = [0usize; 2];
        for k in 0u64..1000 {
            counts[(super::hash_bytes(&k.to_le_bytes()) % 2) as usize] += 1;
        }
        assert!(counts[0] > 400 && counts[1] > 400, "{counts:?}");
    }
}
