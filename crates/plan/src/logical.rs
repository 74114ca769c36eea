//! The logical plan the binder produces: relational operators with event-time annotations.

use crate::{AggCall, Expr, TableDef};
use darwin_common::Schema;
use serde::{Deserialize, Serialize};

/// An event-time window. Durations are in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowKind {
    Tumble { size: i64 },
    Hop { slide: i64, size: i64 },
    Session { gap: i64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinType {
    Inner,
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
    Window { left_start: usize, left_end: usize, right_start: usize, right_end: usize },
    /// `right_time + lower <= left_time <= right_time + upper` (milliseconds).
    Interval { left_time: usize, right_time: usize, lower: i64, upper: i64 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LogicalPlan {
    Scan {
        table: TableDef,
    },
    Filter {
        input: Box<LogicalPlan>,
        predicate: Expr,
    },
    Project {
        input: Box<LogicalPlan>,
        exprs: Vec<Expr>,
        schema: Schema,
    },
    /// A window table-valued function: appends `window_start`, `window_end`, `window_time`.
    WindowTvf {
        input: Box<LogicalPlan>,
        window: WindowKind,
        time_col: usize,
        /// Only for SESSION: the PARTITION BY columns.
        partition_by: Vec<usize>,
        schema: Schema,
    },
    /// GROUP BY. Output: group keys, then (for a group window) window start and end, then aggregates.
    Aggregate {
        input: Box<LogicalPlan>,
        group: Vec<Expr>,
        /// `GROUP BY TUMBLE(ts, ...)`-style window on input column `time_col`.
        window: Option<(WindowKind, usize)>,
        aggs: Vec<AggCall>,
        schema: Schema,
    },
    /// Output: left columns then right columns. `residual` is over that concatenation.
    Join {
        left: Box<LogicalPlan>,
        right: Box<LogicalPlan>,
        kind: JoinKind,
        join_type: JoinType,
        left_keys: Vec<Expr>,
        right_keys: Vec<Expr>,
        residual: Option<Expr>,
        schema: Schema,
    },
}

impl LogicalPlan {
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
