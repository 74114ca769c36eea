//! Window TVF for TUMBLE and HOP: appends window_start, window_end and window_time to every row
//! (one copy of the row per window for HOP). Rows without a time are dropped and counted.

use crate::error::Result;
use crate::operator::{Counters, Msg, Operator};
use darwin_columnar::column::{Column, ColumnData};
use darwin_plan::WindowKind;
use std::sync::Arc;

/// TUMBLE or HOP window assignment (module docs): each row once per window it falls in, with the window's
/// start, end and time appended.
pub struct WindowAssignOp {
    input: Box<dyn Operator>,
    window: WindowKind,
    time_col: usize,
    counters: Arc<Counters>,
}

impl WindowAssignOp {
    /// Assigns windows of `window` by the event-time column `time_col`; rows without a time are counted late
    /// in `counters`.
    pub fn new(input: Box<dyn Operator>, window: WindowKind, time_col: usize, counters: Arc<Counters>) -> Self {
        WindowAssignOp { input, window, time_col, counters }
    }
}

/// Start of the last window (of `slide` alignment) that contains `ts`.
#[inline]
pub fn last_window_start(ts: i64, slide: i64) -> i64 {
    ts - ts.rem_euclid(slide)
}

/// The windows `(start, end)` a timestamp belongs to.
pub fn windows_of(ts: i64, window: WindowKind, out: &mut Vec<(i64, i64)>) {
    out.clear();
    match window {
        WindowKind::Tumble { size } => {
            let s = last_window_start(ts, size);
            out.push((s, s + size));
        }
        WindowKind::Hop { slide, size } => {
            let mut s = last_window_start(ts, slide);
            while s > ts - size {
                out.push((s, s + size));
                s -= slide;
            }
            out.reverse();
        }
        WindowKind::Session { gap } => out.push((ts, ts + gap)),
    }
}

impl Operator for WindowAssignOp {
    fn next(&mut self) -> Result<Option<Msg>> {
        let Some(msg) = self.input.next()? else {
            return Ok(None);
        };
        let Msg::Batch(batch) = msg else {
            return Ok(Some(msg));
        };
        let tcol = &batch.columns[self.time_col];
        let ts = tcol.i64s();
        let mut idx = Vec::with_capacity(batch.num_rows);
        let (mut starts, mut ends) = (Vec::with_capacity(batch.num_rows), Vec::with_capacity(batch.num_rows));
        let mut wins = Vec::new();
        let mut dropped = 0;
        for (i, t) in ts.iter().enumerate() {
            if !tcol.is_valid(i) {
                dropped += 1;
                continue;
            }
            windows_of(*t, self.window, &mut wins);
            for (s, e) in &wins {
                idx.push(i as u32);
                starts.push(*s);
                ends.push(*e);
            }
        }
        self.counters.add_late(dropped);
        if idx.is_empty() {
            return Ok(crate::operator::absorbed());
        }
        let mut out = batch.take(&idx);
        let times: Vec<i64> = ends.iter().map(|e| e - 1).collect();
        out.columns.push(Column::new(ColumnData::I64(starts.into()), None));
        out.columns.push(Column::new(ColumnData::I64(ends.into()), None));
        out.columns.push(Column::new(ColumnData::I64(times.into()), None));
        Ok(Some(Msg::Batch(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn windows_cover_each_timestamp() {
        let mut w = Vec::new();
        windows_of(12_345, WindowKind::Tumble { size: 10_000 }, &mut w);
        assert_eq!(w, vec![(10_000, 20_000)]);
        windows_of(12_345, WindowKind::Hop { slide: 2_000, size: 6_000 }, &mut w);
        assert_eq!(w, vec![(8_000, 14_000), (10_000, 16_000), (12_000, 18_000)]);
        // Negative times (before 1970) align the same way.
        windows_of(-1, WindowKind::Tumble { size: 1_000 }, &mut w);
        assert_eq!(w, vec![(-1_000, 0)]);
        // A timestamp on a boundary starts a window and is not in the one that ends there.
        windows_of(4_000, WindowKind::Hop { slide: 2_000, size: 4_000 }, &mut w);
        assert_eq!(w, vec![(2_000, 6_000), (4_000, 8_000)]);
    }
}
