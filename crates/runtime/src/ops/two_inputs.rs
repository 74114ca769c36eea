//! Pulling from two inputs in turn, with each input's watermark; the operator's event time is
//! the smaller of the two. An exhausted input no longer holds the watermark back.
//!
//! With a `lead`, a local input (one that `may_hold` allows: a scan with filters and
//! projections, no exchange or shared sub-plan below it) whose watermark is more than that far
//! ahead of the other's, and of which the operator holds at least as many bytes as of the
//! other, is not pulled while the other still runs (and is not waiting at a barrier): its rows
//! could only pile up in the join's buffer until the other side catches up. Without it, Nexmark
//! q7's interval join on 2 workers buffered bids for minutes of event time while the
//! per-window maxima waited on the other worker; some runs grew to 4 GB and took 10x longer. A
//! small side may still run ahead (q7's maxima, a row per window). Only local inputs are held:
//! not pulling an exchange would also stop it draining what other workers send, and two
//! workers each holding back the input the other waits for deadlock (q8 did, one run in four).
//! The other input is always pulled, so holding a local one cannot stall the operator.
//!
//! Barriers are aligned here: once one input delivers the barrier of an epoch, it is not pulled
//! again until the other input delivers the same barrier (or ends), so the operator's state at
//! the barrier holds exactly the rows of both inputs before it.

use crate::error::Result;
use crate::operator::{Msg, Operator};
use darwin_columnar::codec::{Dec, Enc};

/// Which input of a two-input operator; as an index, `Left` is 0 and `Right` is 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The first input.
    Left,
    /// The second input.
    Right,
}

/// The two inputs of a join, pulled in turn, with their watermarks and barrier alignment (module docs).
pub struct TwoInputs {
    left: Box<dyn Operator>,
    right: Box<dyn Operator>,
    done: [bool; 2],
    wm: [i64; 2],
    /// The barrier an input has delivered while waiting for the other one.
    blocked: [Option<u64>; 2],
    turn: usize,
    lead: Option<i64>,
    may_hold: [bool; 2],
    /// Bytes the operator holds of each input (`set_buffered`).
    buffered: [usize; 2],
}

impl TwoInputs {
    /// Pulls `left` and `right` in turn, holding neither back (see [`TwoInputs::lead`]).
    pub fn new(left: Box<dyn Operator>, right: Box<dyn Operator>) -> Self {
        TwoInputs {
            left,
            right,
            done: [false; 2],
            wm: [i64::MIN; 2],
            blocked: [None; 2],
            turn: 0,
            lead: None,
            may_hold: [false; 2],
            buffered: [0; 2],
        }
    }

    /// Holds back a local input (`may_hold`: left, right) more than `lead` ms of event time
    /// ahead of the other (module docs).
    pub fn lead(mut self, lead: Option<i64>, may_hold: [bool; 2]) -> Self {
        self.lead = lead;
        self.may_hold = may_hold;
        self
    }

    /// Tells how many bytes the operator holds of each input (left, right).
    pub fn set_buffered(&mut self, buffered: [usize; 2]) {
        self.buffered = buffered;
    }

    /// Whether input `i` is too far ahead of the other one to be pulled now.
    fn held_back(&self, i: usize) -> bool {
        let o = 1 - i;
        self.lead.is_some_and(|lead| {
            self.may_hold[i]
                && !self.done[o]
                && self.blocked[o].is_none()
                && self.wm[i] > self.wm[o].saturating_add(lead)
                && self.buffered[i] >= self.buffered[o]
        })
    }

    /// The operator's event time: the smaller of the inputs' watermarks (an ended input counts as +infinity).
    pub fn watermark(&self) -> i64 {
        self.side_watermark(Side::Left).min(self.side_watermark(Side::Right))
    }

    /// The largest watermark input `side` has delivered (`i64::MIN` before any, `i64::MAX` once it has ended).
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
            if self.done[i] || self.blocked[i].is_some() || self.held_back(i) {
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

    /// Encodes which inputs have ended and their watermarks, as part of the operator's state.
    pub fn snapshot(&mut self, e: &mut Enc) {
        self.done.iter().for_each(|d| e.bool(*d));
        self.wm.iter().for_each(|w| e.i64(*w));
    }

    /// Restores what [`TwoInputs::snapshot`] wrote.
    pub fn restore(&mut self, d: &mut Dec) -> Result<()> {
        self.done = [d.bool()?, d.bool()?];
        self.wm = [d.i64()?, d.i64()?];
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// An input that plays a script; `pulls` counts how often it was asked.
    struct Script(VecDeque<Msg>, std::rc::Rc<std::cell::Cell<usize>>);

    impl Operator for Script {
        fn next(&mut self) -> Result<Option<Msg>> {
            self.1.set(self.1.get() + 1);
            Ok(self.0.pop_front())
        }
    }

    fn script(msgs: Vec<Msg>) -> (Box<dyn Operator>, std::rc::Rc<std::cell::Cell<usize>>) {
        let pulls = std::rc::Rc::new(std::cell::Cell::new(0));
        (Box::new(Script(msgs.into(), pulls.clone())), pulls)
    }

    /// A local input more than `lead` ahead, holding at least as many bytes as the other, is
    /// not pulled until the other catches up or ends; an input that may not be held (it has
    /// an exchange below it) and a small one are pulled however far ahead they are.
    #[test]
    fn a_local_input_that_runs_ahead_waits() {
        for (may_hold, buffered, held) in
            [([true, false], [100, 1], true), ([false, false], [100, 1], false), ([true, false], [1, 100], false)]
        {
            let (left, left_pulls) = script((0..10).map(|i| Msg::Watermark(i * 100)).collect());
            let (right, _) = script(vec![Msg::Watermark(0), Msg::Idle, Msg::Idle, Msg::Idle, Msg::Watermark(150)]);
            let mut t = TwoInputs::new(left, right).lead(Some(50), may_hold);
            t.set_buffered(buffered);
            let mut seen = vec![];
            while let Some((side, m)) = t.pull().unwrap() {
                if let Msg::Watermark(w) = m {
                    seen.push((side, w));
                }
                if seen.len() > 40 {
                    break;
                }
            }
            let left_before_right_150 =
                seen.iter().take_while(|s| **s != (Side::Right, 150)).filter(|(s, _)| *s == Side::Left).count();
            if held {
                // Left reaches 100 (> 0 + 50) and waits for right's 150; then 200 (> 150 + 50)
                // waits until the right input ends.
                assert_eq!(left_before_right_150, 2, "{seen:?}");
            } else {
                assert!(left_before_right_150 > 2, "{may_hold:?} {buffered:?}: {seen:?}");
            }
            // Every message of both inputs arrives in the end.
            assert_eq!(seen.iter().filter(|(s, _)| *s == Side::Left).count(), 11, "{seen:?}");
            assert!(left_pulls.get() >= 11);
        }
    }
}
