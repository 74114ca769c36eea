//! The checkpointing wrapper of a stateful operator: it captures the operator's state when the
//! operator passes a barrier and when it ends, and sends it to the checkpoint coordinator.

use crate::error::Result;
use crate::operator::{Msg, Operator};
use darwin_checkpoint::Event;
use darwin_columnar::codec::{Dec, Enc};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;

/// Wraps a stateful operator: sends its state when it passes a barrier and when it ends.
pub struct Checkpointed<O> {
    inner: O,
    worker: usize,
    op: usize,
    events: Sender<Event>,
    /// The coordinator's last complete checkpoint (0: none), which a snapshot may refer to.
    durable: Arc<AtomicU64>,
    ended: bool,
    /// Bytes the last snapshot encoded (not those it referred to).
    last_bytes: usize,
}

impl<O: Operator> Checkpointed<O> {
    /// Wraps `inner`, operator `op` of worker `worker` (its position in the worker's build order), sending its
    /// states on `events`; `durable` is the coordinator's last complete checkpoint (0: none).
    pub fn new(inner: O, worker: usize, op: usize, events: Sender<Event>, durable: Arc<AtomicU64>) -> Self {
        Checkpointed { inner, worker, op, events, durable, ended: false, last_bytes: 0 }
    }

    fn send(&mut self, epoch: Option<u64>) {
        let t = std::time::Instant::now();
        // A final state is kept by the coordinator for every later checkpoint, so it must not
        // refer to one (which retention deletes).
        let durable = match (epoch, self.durable.load(Ordering::Acquire)) {
            (None, _) | (_, 0) => None,
            (_, d) => Some(d),
        };
        // Sized by the last snapshot's new bytes: a large state grows little between
        // checkpoints, and growing the buffer by doubling would copy it (and fault its pages
        // in) again.
        let mut e = Enc::for_checkpoint(epoch, durable, self.last_bytes + self.last_bytes / 4);
        self.inner.snapshot(&mut e);
        self.last_bytes = e.buf.len();
        let bytes = e.finish();
        let capture = t.elapsed();
        // The coordinator only goes away when the run is over.
        let _ = self.events.send(Event::State { worker: self.worker, op: self.op, epoch, bytes, capture });
    }
}

impl<O: Operator> Operator for Checkpointed<O> {
    fn next(&mut self) -> Result<Option<Msg>> {
        let m = self.inner.next()?;
        match &m {
            Some(Msg::Barrier(e)) => self.send(Some(*e)),
            None if !self.ended => {
                self.ended = true;
                self.send(None);
            }
            _ => {}
        }
        Ok(m)
    }

    fn snapshot(&mut self, enc: &mut Enc) {
        self.inner.snapshot(enc)
    }

    fn restore(&mut self, dec: &mut Dec) -> Result<()> {
        self.inner.restore(dec)
    }
}
