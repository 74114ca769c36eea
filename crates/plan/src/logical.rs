//! The logical plan the binder produces: relational operators with event-time annotations.

use crate::{AggCall, Expr, TableDef};
use darwin_common::Schema;
use serde::{Deserialize, Serialize};

/// An event-time window. Durations are in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowKind {
    /// TUMBLE: back-to-back windows of `size`, aligned to the epoch; each row falls in exactly one.
    Tumble {
        /// Window length in ms.
        size: i64,
    },
    /// HOP: windows of `size` starting every `slide` (`size` is a whole multiple of `slide`); a row falls in
    /// `size / slide` of them.
    Hop {
        /// Time between the starts of consecutive windows, in ms.
        slide: i64,
        /// Window length in ms.
        size: i64,
    },
    /// SESSION: per key, rows at most `gap` apart share a window, which ends `gap` after its last row.
    Session {
        /// The inactivity in ms that closes a session.
        gap: i64,
    },
}

/// Which rows a join keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinType {
    /// Only pairs of rows that match.
    Inner,
    /// Also each left row without a match, once, with the right columns NULL (lookup and window joins only).
    Left,
}

/// How a join between two inputs is executed; decided by the binder from the inputs and the
/// join condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum JoinKind {
    /// The right input is bounded and has no event time: it is loaded into memory first, and the
    /// left stream probes it (keeping its event-time attribute).
    Lookup,
    /// Both inputs are windowed; rows join within the same window (equal start and end).
    Window {
        /// Index of the left input's `window_start` column.
        left_start: usize,
        /// Index of the left input's `window_end` column.
        left_end: usize,
        /// Index of the right input's `window_start` column.
        right_start: usize,
        /// Index of the right input's `window_end` column.
        right_end: usize,
    },
    /// `right_time + lower <= left_time <= right_time + upper` (milliseconds).
    Interval {
        /// Index of the left input's TIMESTAMP(3) time column.
        left_time: usize,
        /// Index of the right input's TIMESTAMP(3) time column.
        right_time: usize,
        /// Smallest allowed `left_time - right_time`, in ms (inclusive; may be negative).
        lower: i64,
        /// Largest allowed `left_time - right_time`, in ms (inclusive).
        upper: i64,
    },
}

/// A node of the logical plan; its output columns are `schema()`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LogicalPlan {
    /// Reads every row of a table, with the table's declared columns.
    Scan {
        /// The table read.
        table: TableDef,
    },
    /// Keeps the rows for which `predicate` is TRUE (FALSE and NULL drop the row).
    Filter {
        /// The node whose rows are filtered; the output has its columns.
        input: Box<LogicalPlan>,
        /// A BOOLEAN expression over the input's columns.
        predicate: Expr,
    },
    /// Computes one output column per expression (a SELECT list).
    Project {
        /// The node whose rows are projected.
        input: Box<LogicalPlan>,
        /// One expression per output column, over the input's columns.
        exprs: Vec<Expr>,
        /// Output columns: one per expression, with its name and type; roles pass through plain column references.
        schema: Schema,
    },
    /// A window table-valued function: appends `window_start`, `window_end`, `window_time`.
    WindowTvf {
        /// The node whose rows are assigned to windows.
        input: Box<LogicalPlan>,
        /// Window kind and durations.
        window: WindowKind,
        /// Index of the input's time attribute (a TIMESTAMP(3) column) the windows are assigned by.
        time_col: usize,
        /// Only for SESSION: the PARTITION BY columns.
        partition_by: Vec<usize>,
        /// The input's columns, then `window_start`, `window_end` and `window_time`.
        schema: Schema,
    },
    /// GROUP BY. Output: group keys, then (for a group window) window start and end, then aggregates.
    Aggregate {
        /// The node whose rows are grouped.
        input: Box<LogicalPlan>,
        /// GROUP BY expressions over the input's columns; empty for a single global group.
        group: Vec<Expr>,
        /// `GROUP BY TUMBLE(ts, ...)`-style window on input column `time_col`.
        window: Option<(WindowKind, usize)>,
        /// The aggregate calls, in output order.
        aggs: Vec<AggCall>,
        /// Output columns: the group keys, the window bounds (group window only), then one per aggregate.
        schema: Schema,
    },
    /// Output: left columns then right columns. `residual` is over that concatenation.
    Join {
        /// Left input; the stream side of a lookup join.
        left: Box<LogicalPlan>,
        /// Right input; the bounded table of a lookup join.
        right: Box<LogicalPlan>,
        /// How the join runs (lookup, window or interval).
        kind: JoinKind,
        /// INNER or LEFT (interval joins are inner only).
        join_type: JoinType,
        /// Equi-join keys over the left input's columns, paired by position with `right_keys`.
        left_keys: Vec<Expr>,
        /// Equi-join keys over the right input's columns.
        right_keys: Vec<Expr>,
        /// The rest of the ON condition, over left-then-right columns; None when the keys are the whole condition.
        residual: Option<Expr>,
        /// Left columns, then right columns (a lookup table's columns lose their event-time roles).
        schema: Schema,
    },
}

impl LogicalPlan {
    /// The columns this node outputs.
    pub fn schema(&self) -> &Schema {
        match self {
            LogicalPlan::Scan { table } => &table.schema,
            LogicalPlan::Filter { input, .. } => input.schema(),
            LogicalPlan::Project { schema, .. }
            | LogicalPlan::WindowTvf { schema, .. }
            | LogicalPlan::Aggregate { schema, .. }
            | LogicalPlan::Join { schema, .. } => schema,
        }
    }

    /// Whether any source below has a watermark (the relation is a stream with event time).
    pub fn has_event_time(&self) -> bool {
        match self {
            LogicalPlan::Scan { table } => table.watermark.is_some(),
            LogicalPlan::Filter { input, .. }
            | LogicalPlan::Project { input, .. }
            | LogicalPlan::WindowTvf { input, .. }
            | LogicalPlan::Aggregate { input, .. } => input.has_event_time(),
            LogicalPlan::Join { left, right, .. } => left.has_event_time() || right.has_event_time(),
        }
    }

    /// The node with each input replaced by `f(input)`.
    pub fn map_inputs(self, f: &mut dyn FnMut(LogicalPlan) -> LogicalPlan) -> LogicalPlan {
        let mut g = |b: Box<LogicalPlan>| Box::new(f(*b));
        match self {
            LogicalPlan::Scan { .. } => self,
            LogicalPlan::Filter { input, predicate } => LogicalPlan::Filter { input: g(input), predicate },
            LogicalPlan::Project { input, exprs, schema } => LogicalPlan::Project { input: g(input), exprs, schema },
            LogicalPlan::WindowTvf { input, window, time_col, partition_by, schema } => {
                LogicalPlan::WindowTvf { input: g(input), window, time_col, partition_by, schema }
            }
            LogicalPlan::Aggregate { input, group, window, aggs, schema } => {
                LogicalPlan::Aggregate { input: g(input), group, window, aggs, schema }
            }
            LogicalPlan::Join { left, right, kind, join_type, left_keys, right_keys, residual, schema } => {
                let left = g(left);
                let right = g(right);
                LogicalPlan::Join { left, right, kind, join_type, left_keys, right_keys, residual, schema }
            }
        }
    }

    /// The tables this plan reads.
    pub fn scans(&self) -> Vec<&TableDef> {
        match self {
            LogicalPlan::Scan { table } => vec![table],
            LogicalPlan::Filter { input, .. }
            | LogicalPlan::Project { input, .. }
            | LogicalPlan::WindowTvf { input, .. }
            | LogicalPlan::Aggregate { input, .. } => input.scans(),
            LogicalPlan::Join { left, right, .. } => {
                let mut v = left.scans();
                v.extend(right.scans());
                v
            }
        }
    }
}
