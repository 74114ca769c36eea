//! The message loop shared by operators that hold rows until the watermark closes their
//! windows (window, session and slice-merge aggregates): batches go in, each new watermark
//! fires the windows it closes and then passes on behind their rows, and the end of the input
//! fires everything.

use crate::error::Result;
use crate::operator::{Msg, Operator};
use darwin_columnar::column::Batch;
use std::collections::VecDeque;

/// What the loop needs of such an operator.
pub(crate) trait Windowed {
    fn input(&mut self) -> &mut dyn Operator;
    /// Messages ready to go out, in order.
    fn pending(&mut self) -> &mut VecDeque<Msg>;
    /// Whether the input has ended (everything fired).
    fn done(&mut self) -> &mut bool;
    /// The largest watermark seen.
    fn watermark(&mut self) -> &mut i64;
    fn add(&mut self, batch: Batch) -> Result<()>;
    /// Fires the windows the watermark `wm` closes, their rows into `pending`. False if it
    /// stopped early to bound the rows pending (output is streamed, never held whole): the loop
    /// sends them and calls again with the same `wm` before it reads more input.
    fn fire(&mut self, wm: i64) -> Result<bool>;
    /// The watermark of a firing that stopped early.
    fn unfinished(&mut self) -> &mut Option<i64>;
    /// Whether a batch taken in ends the call (`absorbed`) instead of pulling on until
    /// something fires.
    const YIELD_AFTER_BATCH: bool = false;
}

/// `Operator::next` of a windowed operator.
pub(crate) fn next<W: Windowed>(op: &mut W) -> Result<Option<Msg>> {
    loop {
        if let Some(m) = op.pending().pop_front() {
            return Ok(Some(m));
        }
        if let Some(wm) = op.unfinished().take() {
            fire(op, wm)?;
            continue;
        }
        if *op.done() {
            return Ok(None);
        }
        match op.input().next()? {
            None => {
                *op.done() = true;
                fire(op, i64::MAX)?;
            }
            Some(Msg::Batch(b)) => {
                op.add(b)?;
                if W::YIELD_AFTER_BATCH {
                    return Ok(crate::operator::absorbed());
                }
            }
            Some(Msg::Watermark(w)) => {
                if w > *op.watermark() {
                    *op.watermark() = w;
                    fire(op, w)?;
                } else {
                    op.pending().push_back(Msg::Watermark(w));
                }
            }
            Some(m @ (Msg::Barrier(_) | Msg::Idle)) => return Ok(Some(m)),
        }
    }
}

/// Fires what `wm` closes, or a part of it; the watermark goes out behind the last part (the
/// end of the input, `i64::MAX`, sends none).
fn fire<W: Windowed>(op: &mut W, wm: i64) -> Result<()> {
    if !op.fire(wm)? {
        *op.unfinished() = Some(wm);
    } else if wm != i64::MAX {
        op.pending().push_back(Msg::Watermark(wm));
    }
    Ok(())
}
