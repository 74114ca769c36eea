//! Adaptive pre-aggregation. Phase 1 of a two-phase window aggregate pays off only when a
//! worker's rows share groups (YSB: a hundred campaigns per window). When nearly every row is
//! a group of its own (Nexmark q8: each new person once), pre-aggregating builds a hash table
//! per window only to send every row on anyway. So the phase watches its first rows; if they
//! make almost as many groups as rows, it stops aggregating and passes each later row on as a
//! one-row partial (COUNT 1 or 0, SUM/MIN/MAX the value), which the merge phase takes like any
//! other partial row. Results are the same either way; windows already open still fire.

use crate::error::Result;
use darwin_columnar::column::{Batch, Column, ColumnData};
use darwin_columnar::eval::{eval, eval_mask};
use darwin_plan::{AggCall, AggFunc};

/// The share of groups per row above which aggregating does not reduce enough to pay (Trino
/// decides alike, at 0.8 after 100,000 rows: the plan's `preagg_probe_rows`).
const MAX_GROUPS_PER_ROW: f64 = 0.8;

/// The mode of a pre-aggregating phase: still watching, aggregating, or passing rows on.
#[derive(Debug, Default)]
pub struct Probe {
    /// Rows watched before deciding; 0 passes rows through from the first batch whatever they
    /// reduce to (`SET 'darwin.preagg.probe-rows' = '0'`, so tests over small inputs exercise
    /// that mode).
    probe_rows: u64,
    rows: u64,
    groups: u64,
    decided: bool,
    /// Decided to pass rows on as one-row partials instead of aggregating them.
    pub pass_through: bool,
}

impl Probe {
    /// Watches `probe_rows` rows before deciding (0: decides on the first rows, for passing through).
    pub fn new(probe_rows: u64) -> Probe {
        Probe { probe_rows, ..Probe::default() }
    }

    /// Counts a batch's rows and the groups they created; decides once enough were seen.
    /// Aggregates whose one-row partial is not computed here never pass through.
    pub fn observe(&mut self, rows: usize, new_groups: usize, aggs: &[AggCall]) {
        if self.decided {
            return;
        }
        self.rows += rows as u64;
        self.groups += new_groups as u64;
        let probe = self.probe_rows;
        if self.rows > 0 && self.rows >= probe {
            self.decided = true;
            let poor = probe == 0 || self.groups as f64 > MAX_GROUPS_PER_ROW * self.rows as f64;
            self.pass_through = poor && aggs.iter().all(passes_through);
        }
    }

    /// Whether the phase is still watching (has not decided yet).
    pub fn watching(&self) -> bool {
        !self.decided
    }
}

/// Phase-1 aggregates are COUNT, SUM, MIN and MAX (not DISTINCT; AVG is split into SUM and
/// COUNT by the planner).
fn passes_through(a: &AggCall) -> bool {
    !a.distinct && matches!(a.func, AggFunc::Count | AggFunc::Sum | AggFunc::Min | AggFunc::Max)
}

/// Each row's partial value of aggregate `a`, as the aggregate over that row alone gives it:
/// COUNT 1 or 0, SUM/MIN/MAX the argument (NULL where the FILTER rejects the row).
pub fn one_row_partial(a: &AggCall, batch: &Batch) -> Result<Column> {
    let n = batch.num_rows;
    let keep = a.filter.as_ref().map(|f| eval_mask(f, batch)).transpose()?;
    let kept = |i: usize| keep.as_ref().is_none_or(|k| k[i]);
    Ok(match (a.func, &a.arg) {
        (AggFunc::Count, None) => Column::new(ColumnData::I64((0..n).map(|i| i64::from(kept(i))).collect()), None),
        (AggFunc::Count, Some(arg)) => {
            let c = eval(arg, batch)?;
            Column::new(ColumnData::I64((0..n).map(|i| i64::from(kept(i) && c.is_valid(i))).collect()), None)
        }
        (_, Some(arg)) => {
            let c = eval(&arg.clone().cast(a.ty), batch)?;
            match &keep {
                None => c,
                Some(k) => {
                    let valid = (0..n).map(|i| k[i] && c.is_valid(i)).collect();
                    Column::new(c.data, Some(valid))
                }
            }
        }
        (f, None) => unreachable!("{f:?} without an argument"),
    })
}
