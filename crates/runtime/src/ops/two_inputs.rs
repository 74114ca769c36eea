//! Pulling from two inputs in turn, with each input's watermark; the operator's event time is
//! the smaller of the two. An exhausted input no longer holds the watermark back.
//!
//! Barriers are aligned here: once one input delivers the barrier of an epoch, it is not pulled
//! again until the other input delivers the same barrier (or ends), so the operator's state at
//! the barrier holds exactly the rows of both inputs before it.

use crate::checkpoint::codec::{Dec, Enc};
use crate::error::Result;
use crate::operator::{Msg, Operator};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
}

pub struct TwoInputs {
    left: Box<dyn Operator>,
    right: Box<dyn Operator>,
    done: [bool; 2],
    wm: [i64; 2],
    /// The barrier an input has delivered while waiting for the other one.
    blocked: [Option<u64>; 2],
    turn: usize,
}

impl TwoInputs {
    pub fn new(left: Box<dyn Operator>, right: Box<dyn Operator>) -> Self {
        TwoInputs { left, right, done: [false; 2], wm: [i64::MIN; 2], blocked: [None; 2], turn: 0 }
    }

    pub fn watermark(&self) -> i64 {
        self.side_watermark(Side::Left).min(self.side_watermark(Side::Right))
    }

    pub fn side_watermark(&self, side: Side) -> i64 {
        let i = side as usize;
        if self.done[i] {
            i64::MAX
        } else {
            self.wm[i]
        }
    }

    /// The barrier, once every input still running has delivered it.
    fn aligned(&mut self) -> Option<(Side, Msg)> {
        let epoch = self.blocked[0].or(self.blocked[1])?;
        if (0..2).all(|i| self.done[i] || self.blocked[i].is_some()) {
            self.blocked = [None; 2];
            return Some((Side::Left, Msg::Barrier(epoch)));
        }
        None
    }

    /// The next message of either input; None once both are exhausted. `Idle` when the inputs
    /// that may be pulled are idle (or one waits at a barrier for the other).
    pub fn pull(&mut self) -> Result<Option<(Side, Msg)>> {
        if let Some(b) = self.aligned() {
            return Ok(Some(b));
        }
        for _ in 0..2 {
            let i = self.turn;
            self.turn = 1 - self.turn;
            if self.done[i] || self.blocked[i].is_some() {
                continue;
            }
            let op = if i == 0 { &mut self.left } else { &mut self.right };
            let side = if i == 0 { Side::Left } else { Side::Right };
            match op.next()? {
                Some(Msg::Watermark(w)) => {
                    self.wm[i] = self.wm[i].max(w);
                    return Ok(Some((side, Msg::Watermark(w))));
                }
                Some(Msg::Idle) => {}
                Some(Msg::Barrier(e)) => {
                    self.blocked[i] = Some(e);
                    if let Some(b) = self.aligned() {
                        return Ok(Some(b));
                    }
                }
                Some(m) => return Ok(Some((side, m))),
                None => {
                    self.done[i] = true;
                    return Ok(Some((side, Msg::Watermark(i64::MAX))));
                }
            }
        }
        Ok(if self.done == [true; 2] { None } else { Some((Side::Left, Msg::Idle)) })
    }

    pub fn snapshot(&mut self, e: &mut Enc) {
        self.done.iter().for_each(|d| e.bool(*d));
        self.wm.iter().for_each(|w| e.i64(*w));
    }

    pub fn restore(&mut self, d: &mut Dec) -> Result<()> {
        self.done = [d.bool()?, d.bool()?];
        self.wm = [d.i64()?, d.i64()?];
        Ok(())
    }
}
