//! One operator's output read by several consumers in the same worker: a sub-plan that occurs
//! more than once in a plan (`darwin_plan::share`) is built and run once. Each reader gets every
//! message, in order; a message waits in a reader's queue until that reader asks for it.
//!
//! A reader that runs ahead is told `Idle` once another reader is `LAG` messages behind, so the
//! operator above them (a join pulls its inputs in turn) serves the one behind: otherwise one
//! side's queue grows without bound and holds back its watermark. No reader waits for ever:
//! the one behind has messages, and a join blocked at a barrier pulls the side that has not
//! delivered it, which is the one behind. Barriers pass through every queue in order, so a
//! reader's state at a barrier holds exactly the rows before it; the tee itself has no state
//! to checkpoint (the shared operators below it have theirs, taken once).

use crate::error::Result;
use crate::operator::{Msg, Operator};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// How far (in messages) a reader may run ahead of the slowest one.
const LAG: usize = 16;

/// One operator's output shared by several [`TeeReader`]s (module docs).
pub struct Tee {
    input: Box<dyn Operator>,
    /// Per reader: messages it has not taken yet.
    queues: Vec<VecDeque<Msg>>,
    ended: bool,
}

/// One reader of a [`Tee`].
pub struct TeeReader {
    tee: Rc<RefCell<Tee>>,
    id: usize,
}

impl Tee {
    /// A tee over `input`, without readers yet (added with [`Tee::reader`]).
    pub fn new(input: Box<dyn Operator>) -> Rc<RefCell<Tee>> {
        Rc::new(RefCell::new(Tee { input, queues: Vec::new(), ended: false }))
    }

    /// A new reader; all readers are added before the first message is pulled.
    pub fn reader(tee: &Rc<RefCell<Tee>>) -> TeeReader {
        let mut t = tee.borrow_mut();
        t.queues.push(VecDeque::new());
        TeeReader { tee: tee.clone(), id: t.queues.len() - 1 }
    }
}

impl Operator for TeeReader {
    fn next(&mut self) -> Result<Option<Msg>> {
        let mut t = self.tee.borrow_mut();
        if let Some(m) = t.queues[self.id].pop_front() {
            return Ok(Some(m));
        }
        if t.ended {
            return Ok(None);
        }
        if t.queues.iter().any(|q| q.len() >= LAG) {
            return Ok(Some(Msg::Idle));
        }
        // The input is below the tee, never one of its readers: no reader is re-entered.
        match t.input.next()? {
            None => {
                t.ended = true;
                Ok(None)
            }
            Some(Msg::Idle) => Ok(Some(Msg::Idle)),
            Some(mut m) => {
                let id = self.id;
                for (i, q) in t.queues.iter_mut().enumerate() {
                    if i != id {
                        // Readers get the batch's buffers by reference, not a copy each.
                        let copy = match &mut m {
                            Msg::Batch(b) => Msg::Batch(b.share()),
                            other => other.clone(),
                        };
                        q.push_back(copy);
                    }
                }
                Ok(Some(m))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use darwin_columnar::column::Batch;
    use darwin_common::{DataType, Value};

    use crate::testing::Script;

    /// Every reader sees every message in order, however their pulls interleave; idle
    /// answers reach only the reader that asked; no queue grows past the lag bound.
    #[test]
    fn every_reader_gets_every_message_in_order() {
        let batch = |i: i64| Msg::Batch(Batch::from_rows(&[vec![Value::BigInt(i)]], &[DataType::BigInt]));
        let mut script: Vec<Msg> = vec![batch(1), Msg::Idle, Msg::Watermark(5), batch(2), Msg::Barrier(1)];
        script.extend((3..60).map(batch));
        let want: Vec<Msg> = script.iter().filter(|m| !matches!(m, Msg::Idle)).cloned().collect();
        let mut rnd = darwin_common::xorshift(0x7ee0_0000_0000_0001u64);
        for _ in 0..50 {
            let tee = Tee::new(Box::new(Script(script.clone().into())));
            let mut readers: Vec<TeeReader> = (0..3).map(|_| Tee::reader(&tee)).collect();
            let mut got: Vec<Vec<Msg>> = vec![Vec::new(); 3];
            let mut ended = [false; 3];
            let mut max_queue = 0;
            while ended.contains(&false) {
                // Reader 0 is asked most: it runs ahead until told to wait.
                let r = [0, 0, 0, 0, 1, 2][(rnd() % 6) as usize];
                max_queue = max_queue.max(tee.borrow().queues.iter().map(VecDeque::len).max().unwrap_or(0));
                match readers[r].next().unwrap() {
                    None => ended[r] = true,
                    Some(Msg::Idle) => {}
                    Some(m) => got[r].push(m),
                }
            }
            assert!(got.iter().all(|g| *g == want), "{got:?}");
            assert!(max_queue <= LAG, "a queue grew to {max_queue}");
        }
    }
}
