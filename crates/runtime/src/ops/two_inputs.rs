//! Pulling from two inputs in turn, with each input's watermark; the operator's event time is
//! the smaller of the two. An exhausted input no longer holds the watermark back.

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
    turn: usize,
}

impl TwoInputs {
    pub fn new(left: Box<dyn Operator>, right: Box<dyn Operator>) -> Self {
        TwoInputs { left, right, done: [false; 2], wm: [i64::MIN; 2], turn: 0 }
    }

    pub fn watermark(&self) -> i64 {
        let w = |i: usize| if self.done[i] { i64::MAX } else { self.wm[i] };
        w(0).min(w(1))
    }

    pub fn side_watermark(&self, side: Side) -> i64 {
        let i = side as usize;
        if self.done[i] {
            i64::MAX
        } else {
            self.wm[i]
        }
    }

    /// The next message of either input; None once both are exhausted. `Idle` only when both
    /// inputs are idle (or one is idle and the other exhausted).
    pub fn pull(&mut self) -> Result<Option<(Side, Msg)>> {
        let mut idle = false;
        for _ in 0..2 {
            let i = self.turn;
            self.turn = 1 - self.turn;
            if self.done[i] {
                continue;
            }
            let op = if i == 0 { &mut self.left } else { &mut self.right };
            let side = if i == 0 { Side::Left } else { Side::Right };
            match op.next()? {
                Some(Msg::Watermark(w)) => {
                    self.wm[i] = self.wm[i].max(w);
                    return Ok(Some((side, Msg::Watermark(w))));
                }
                Some(Msg::Idle) => idle = true,
                Some(m) => return Ok(Some((side, m))),
                None => {
                    self.done[i] = true;
                    return Ok(Some((side, Msg::Watermark(i64::MAX))));
                }
            }
        }
        Ok(if idle { Some((Side::Left, Msg::Idle)) } else { None })
    }
}
