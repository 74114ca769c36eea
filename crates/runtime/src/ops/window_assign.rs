//! Window TVF for TUMBLE and HOP: appends window_start, window_end and window_time to every row
//! (one copy of the row per window for HOP). Rows without a time are dropped and counted.

use crate::error::Result;
use crate::operator::{Counters, Msg, Operator};
use darwin_columnar::column::{Batch, Column, ColumnData};
use darwin_plan::WindowKind;
use std::sync::Arc;

/// TUMBLE or HOP window assignment (module docs): each row once per window it falls in, with the window's
/// start, end and time appended.
pub struct WindowAssignOp {
    input: Box<dyn Operator>,
    window: WindowKind,
    time_col: usize,
    counters: Arc<Counters>,
    /// A batch whose copies did not fit in one output batch, and where to go on: its row and
    /// that row's window.
    partial: Option<(Batch, usize, usize)>,
}

/// The most rows of one output batch: a HOP row is copied into `size / slide` windows, so a
/// batch's copies go out in parts of at most this many rows instead of all at once.
const OUT_ROWS: usize = 1 << 16;

impl WindowAssignOp {
    /// Assigns windows of `window` by the event-time column `time_col`; rows without a time are counted late
    /// in `counters`.
    pub fn new(input: Box<dyn Operator>, window: WindowKind, time_col: usize, counters: Arc<Counters>) -> Self {
        WindowAssignOp { input, window, time_col, counters, partial: None }
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
        let (batch, row, win) = match self.partial.take() {
            Some(p) => p,
            None => {
                let Some(msg) = self.input.next()? else {
                    return Ok(None);
                };
                let Msg::Batch(batch) = msg else {
                    return Ok(Some(msg));
                };
                (batch, 0, 0)
            }
        };
        self.assign(batch, row, win)
    }
}

impl WindowAssignOp {
    /// The copies of `batch`'s rows from row `row`, window `win` on, up to `OUT_ROWS` of them;
    /// the rest is kept for the next call.
    fn assign(&mut self, batch: Batch, mut row: usize, mut win: usize) -> Result<Option<Msg>> {
        let tcol = &batch.columns[self.time_col];
        let ts = tcol.i64s();
        let mut idx = Vec::with_capacity(batch.num_rows.min(OUT_ROWS));
        let (mut starts, mut ends) = (Vec::with_capacity(idx.capacity()), Vec::with_capacity(idx.capacity()));
        let mut wins = Vec::new();
        let mut dropped = 0;
        while row < ts.len() && idx.len() < OUT_ROWS {
            if !tcol.is_valid(row) {
                dropped += 1;
                row += 1;
                continue;
            }
            windows_of(ts[row], self.window, &mut wins);
            let take = (wins.len() - win).min(OUT_ROWS - idx.len());
            for (s, e) in &wins[win..win + take] {
                idx.push(row as u32);
                starts.push(*s);
                ends.push(*e);
            }
            win += take;
            if win == wins.len() {
                (row, win) = (row + 1, 0);
            }
        }
        self.counters.add_late(dropped);
        if idx.is_empty() {
            return Ok(crate::operator::absorbed());
        }
        let mut out = batch.take(&idx);
        if row < ts.len() {
            self.partial = Some((batch, row, win));
        }
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
    use crate::testing::Script;
    use darwin_common::{DataType, Value};

    /// A HOP row in 200,000 windows: its copies go out in parts of at most `OUT_ROWS` rows, in
    /// order, each window once, and the watermark behind them all.
    #[test]
    fn many_windows_per_row_go_out_in_parts() {
        let types = [DataType::BigInt, DataType::Timestamp];
        let rows: Vec<Vec<Value>> =
            [(1, 0), (2, 7), (3, 7)].iter().map(|&(k, t)| vec![Value::BigInt(k), Value::Timestamp(t)]).collect();
        let mut rows_with_null = rows.clone();
        rows_with_null.insert(1, vec![Value::BigInt(9), Value::Null]);
        let msgs = vec![Msg::Batch(Batch::from_rows(&rows_with_null, &types)), Msg::Watermark(7)];
        let window = WindowKind::Hop { slide: 1, size: 200_000 };
        let counters = Arc::new(Counters::default());
        let mut op = WindowAssignOp::new(Box::new(Script(msgs.into())), window, 1, counters.clone());
        let (mut got, mut parts) = (Vec::new(), 0);
        while let Some(m) = op.next().unwrap() {
            match m {
                Msg::Batch(b) => {
                    assert!(b.num_rows <= OUT_ROWS);
                    parts += 1;
                    let (k, s) = (b.columns[0].i64s(), b.columns[2].i64s());
                    got.extend(k.iter().zip(s.iter()).map(|(k, s)| (*k, *s)));
                }
                Msg::Watermark(w) => {
                    assert_eq!((w, got.len()), (7, 600_000), "the watermark comes after every copy");
                }
                _ => {}
            }
        }
        let mut want = Vec::new();
        let mut wins = Vec::new();
        for (k, t) in [(1, 0), (2, 7), (3, 7)] {
            windows_of(t, window, &mut wins);
            want.extend(wins.iter().map(|(s, _)| (k, *s)));
        }
        assert_eq!(got, want);
        assert!(parts >= 600_000 / OUT_ROWS);
        assert_eq!(counters.late(), 1, "the row without a time is counted");
    }
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
