//! The physical plan: concrete operators, the decisions the planner recorded for them, and the
//! execution choices made for this machine. Built by `darwin_planner`; read by both executors,
//! the code generator and `darwin explain`, none of which recompute what is recorded here.

use crate::logical::{JoinType, WindowKind};
use crate::{AggCall, Expr, ExprKind, TableDef};
use darwin_common::Schema;
use serde::{Deserialize, Serialize};

/// Where a window aggregate's windows come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WindowSpec {
    /// Assigned by the operator from the input's time column.
    Assign {
        /// Window kind and durations.
        window: WindowKind,
        /// Index of the input's TIMESTAMP(3) time attribute the windows are assigned by.
        time_col: usize,
    },
    /// The input already carries window bounds (a window TVF or an upstream window aggregate).
    Existing {
        /// Index of the input's `window_start` column.
        start_col: usize,
        /// Index of the input's `window_end` column.
        end_col: usize,
    },
    /// The input's rows are partial aggregates of `slide`-long slices starting at `start_col`
    /// (a sliced HOP, `decompose::slice_hops`); each HOP window merges the slices it covers.
    Slices {
        /// The HOP's slide, and each slice's length, in ms of event time.
        slide: i64,
        /// The HOP window's length in ms (a whole number of slides).
        size: i64,
        /// Index of the input's column holding each slice's start (ms of event time).
        start_col: usize,
    },
}

/// How an exchange distributes rows over workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Partitioning {
    /// Rows with equal keys go to the same worker.
    Hash(Vec<Expr>),
    /// Every row goes to worker 0 (a single-writer sink, or state without keys).
    Gather,
    /// Every row goes to every worker: the small side of a join whose other side stays put.
    Broadcast,
}

/// One grouping key of a window aggregate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum GroupKey {
    /// A key computed from the input row (often a plain column).
    Expr(Expr),
    /// The start of the row's window (inclusive, ms of event time), output as `window_start`.
    WindowStart,
    /// The end of the row's window (exclusive, ms of event time), output as `window_end`.
    WindowEnd,
}

/// A physical operator with its inputs; a pipeline's operators form a tree rooted at the sink's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PhysNode {
    /// Moves rows between workers: by a hash of the keys, all to worker 0, or a copy to every worker.
    Exchange {
        /// The rows redistributed.
        input: Box<PhysNode>,
        /// Which worker each row goes to.
        partitioning: Partitioning,
        /// The input's columns, unchanged.
        schema: Schema,
    },
    /// Reads a table; its partitions are dealt out to the workers round-robin (a lookup join's table is
    /// read whole by every worker).
    Source {
        /// The table read; pruning may narrow its schema to the columns the query uses.
        table: TableDef,
        /// Number of partitions the table is read in (one per file for the filesystem connector).
        partitions: usize,
    },
    /// A fused filter and projection.
    Calc {
        /// The rows filtered and projected.
        input: Box<PhysNode>,
        /// Keeps the rows for which this is TRUE, over the input's columns; None keeps every row.
        filter: Option<Expr>,
        /// One expression per output column, over the input's columns, applied after the filter; None passes
        /// the input's columns through.
        project: Option<Vec<Expr>>,
        /// Output columns (the input's when `project` is None).
        schema: Schema,
        /// Compiled mode's generated loop for this node (its key); set by the planner's last pass.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kernel: Option<u64>,
        /// Over an inner lookup join on one plain integer or string key without a residual:
        /// the key of the kernel that fuses the join's probe with this node.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fused_probe: Option<u64>,
    },
    /// Materialises `window_start`, `window_end`, `window_time` (TUMBLE/HOP: one row per window).
    WindowAssign {
        /// The rows assigned to windows.
        input: Box<PhysNode>,
        /// Window kind and durations (TUMBLE or HOP; sessions are only assigned inside an aggregate).
        window: WindowKind,
        /// Index of the input's TIMESTAMP(3) time attribute the windows are assigned by.
        time_col: usize,
        /// The input's columns, then `window_start`, `window_end` and `window_time`.
        schema: Schema,
    },
    /// Output: the group keys in order, then the aggregates. `partial`: phase 1 of a two-phase
    /// aggregate (a merge follows), which may pass rows through as one-row partials when
    /// aggregating them does not reduce them.
    WindowAggregate {
        /// The rows aggregated.
        input: Box<PhysNode>,
        /// Where each row's windows come from.
        spec: WindowSpec,
        /// Grouping keys in output order; `WindowStart` and `WindowEnd` stand for the row's window bounds.
        group: Vec<GroupKey>,
        /// The aggregates, output after the keys in this order.
        aggs: Vec<AggCall>,
        /// Output columns: one per group key, then one per aggregate.
        schema: Schema,
        /// True for phase 1 of a two-phase aggregate: it emits partial aggregates for a merge downstream.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        partial: bool,
        /// Compiled mode's generated update loop (its key), where the aggregate has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kernel: Option<u64>,
    },
    /// A GROUP BY without a window: emits its result once, when the input ends.
    GlobalAggregate {
        /// The rows aggregated.
        input: Box<PhysNode>,
        /// GROUP BY expressions over the input's columns; empty for a single group.
        group: Vec<Expr>,
        /// The aggregates, output after the keys in this order.
        aggs: Vec<AggCall>,
        /// Output columns: the group keys, then one per aggregate.
        schema: Schema,
    },
    /// Joins a stream with a bounded table that is read whole first (every worker reads all of it).
    LookupJoin {
        /// The probing input (the join's left side); its rows keep their event time.
        stream: Box<PhysNode>,
        /// The bounded build input (the join's right side), loaded into memory before the stream is probed.
        table: Box<PhysNode>,
        /// INNER, or LEFT to keep stream rows without a match (table columns NULL).
        join_type: JoinType,
        /// Equality keys over the stream's columns, paired by position with `table_keys`.
        stream_keys: Vec<Expr>,
        /// Equality keys over the table's columns.
        table_keys: Vec<Expr>,
        /// The rest of the join condition, over stream-then-table columns; None when there is none.
        residual: Option<Expr>,
        /// Stream columns, then table columns.
        schema: Schema,
    },
    /// Joins rows of two windowed inputs in the same window (equal start and end) with equal keys; a
    /// window's pairs are emitted once the smaller of the two input watermarks reaches its end - 1 ms.
    WindowJoin {
        /// Left windowed input.
        left: Box<PhysNode>,
        /// Right windowed input.
        right: Box<PhysNode>,
        /// INNER, or LEFT to keep left rows without a match in their window (right columns NULL).
        join_type: JoinType,
        /// Index of the left input's `window_start` column.
        left_start: usize,
        /// Index of the left input's `window_end` column.
        left_end: usize,
        /// Index of the right input's `window_start` column.
        right_start: usize,
        /// Index of the right input's `window_end` column.
        right_end: usize,
        /// Equality keys over the left input's columns (besides the window), paired by position with `right_keys`.
        left_keys: Vec<Expr>,
        /// Equality keys over the right input's columns.
        right_keys: Vec<Expr>,
        /// The rest of the join condition, over left-then-right columns; None when there is none.
        residual: Option<Expr>,
        /// Left columns, then right columns.
        schema: Schema,
    },
    /// Inner join of two streams on equal keys where `right_time + lower <= left_time <= right_time + upper`.
    IntervalJoin {
        /// Left input.
        left: Box<PhysNode>,
        /// Right input.
        right: Box<PhysNode>,
        /// Index of the left input's TIMESTAMP(3) time column.
        left_time: usize,
        /// Index of the right input's TIMESTAMP(3) time column.
        right_time: usize,
        /// Smallest allowed `left_time - right_time`, in ms (inclusive; may be negative).
        lower: i64,
        /// Largest allowed `left_time - right_time`, in ms (inclusive).
        upper: i64,
        /// Equality keys over the left input's columns, paired by position with `right_keys`; may be empty.
        left_keys: Vec<Expr>,
        /// Equality keys over the right input's columns.
        right_keys: Vec<Expr>,
        /// The rest of the join condition, over left-then-right columns; None when there is none.
        residual: Option<Expr>,
        /// Left columns, then right columns.
        schema: Schema,
    },
}

impl PhysNode {
    /// The columns this node outputs.
    pub fn schema(&self) -> &Schema {
        match self {
            PhysNode::Source { table, .. } => &table.schema,
            PhysNode::Exchange { schema, .. }
            | PhysNode::Calc { schema, .. }
            | PhysNode::WindowAssign { schema, .. }
            | PhysNode::WindowAggregate { schema, .. }
            | PhysNode::GlobalAggregate { schema, .. }
            | PhysNode::LookupJoin { schema, .. }
            | PhysNode::WindowJoin { schema, .. }
            | PhysNode::IntervalJoin { schema, .. } => schema,
        }
    }

    /// Whether this sub-plan runs on its worker alone: a scan with filters, projections and
    /// window assignment, with no exchange and no shared sub-plan (those are aggregates or
    /// joins) below it. A join may hold back such an input when it runs ahead (the runtime's
    /// `TwoInputs`); not pulling any other input could stop an exchange that other workers wait on.
    pub fn runs_locally(&self) -> bool {
        matches!(self, PhysNode::Source { .. } | PhysNode::Calc { .. } | PhysNode::WindowAssign { .. })
            && self.children().into_iter().all(PhysNode::runs_locally)
    }

    /// How many operators of this sub-plan keep state across batches (and so need a state backend).
    pub fn stateful_operators(&self) -> usize {
        let own = usize::from(!matches!(
            self,
            PhysNode::Source { .. } | PhysNode::Calc { .. } | PhysNode::WindowAssign { .. } | PhysNode::Exchange { .. }
        ));
        own + self.children().iter().map(|c| c.stateful_operators()).sum::<usize>()
    }

    /// The node with each input replaced by `f(input)`, called in `children()` order (a join's
    /// left input first).
    pub fn map_inputs(self, f: &mut dyn FnMut(PhysNode) -> PhysNode) -> PhysNode {
        let mut g = |b: Box<PhysNode>| Box::new(f(*b));
        match self {
            PhysNode::Source { .. } => self,
            PhysNode::Exchange { input, partitioning, schema } => {
                PhysNode::Exchange { input: g(input), partitioning, schema }
            }
            PhysNode::Calc { input, filter, project, schema, kernel, fused_probe } => {
                PhysNode::Calc { input: g(input), filter, project, schema, kernel, fused_probe }
            }
            PhysNode::WindowAssign { input, window, time_col, schema } => {
                PhysNode::WindowAssign { input: g(input), window, time_col, schema }
            }
            PhysNode::WindowAggregate { input, spec, group, aggs, schema, partial, kernel } => {
                PhysNode::WindowAggregate { input: g(input), spec, group, aggs, schema, partial, kernel }
            }
            PhysNode::GlobalAggregate { input, group, aggs, schema } => {
                PhysNode::GlobalAggregate { input: g(input), group, aggs, schema }
            }
            PhysNode::LookupJoin { stream, table, join_type, stream_keys, table_keys, residual, schema } => {
                let stream = g(stream);
                let table = g(table);
                PhysNode::LookupJoin { stream, table, join_type, stream_keys, table_keys, residual, schema }
            }
            PhysNode::WindowJoin {
                left,
                right,
                join_type,
                left_start,
                left_end,
                right_start,
                right_end,
                left_keys,
                right_keys,
                residual,
                schema,
            } => {
                let left = g(left);
                let right = g(right);
                PhysNode::WindowJoin {
                    left,
                    right,
                    join_type,
                    left_start,
                    left_end,
                    right_start,
                    right_end,
                    left_keys,
                    right_keys,
                    residual,
                    schema,
                }
            }
            PhysNode::IntervalJoin {
                left,
                right,
                left_time,
                right_time,
                lower,
                upper,
                left_keys,
                right_keys,
                residual,
                schema,
            } => {
                let left = g(left);
                let right = g(right);
                PhysNode::IntervalJoin {
                    left,
                    right,
                    left_time,
                    right_time,
                    lower,
                    upper,
                    left_keys,
                    right_keys,
                    residual,
                    schema,
                }
            }
        }
    }

    /// The node's direct inputs: none for a source, left (or stream) first for a join.
    pub fn children(&self) -> Vec<&PhysNode> {
        match self {
            PhysNode::Source { .. } => vec![],
            PhysNode::Calc { input, .. }
            | PhysNode::Exchange { input, .. }
            | PhysNode::WindowAssign { input, .. }
            | PhysNode::WindowAggregate { input, .. }
            | PhysNode::GlobalAggregate { input, .. } => vec![input],
            PhysNode::LookupJoin { stream, table, .. } => vec![stream, table],
            PhysNode::WindowJoin { left, right, .. } | PhysNode::IntervalJoin { left, right, .. } => {
                vec![left, right]
            }
        }
    }
}

/// Where a pipeline's rows go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[expect(clippy::large_enum_variant, reason = "one per pipeline, made once when planning")]
pub enum SinkTarget {
    /// An `INSERT INTO` a declared table, written through its connector.
    Table(TableDef),
    /// A bare SELECT: rows are printed with a header.
    Stdout {
        /// Columns of the query's result, printed as the header.
        schema: Schema,
    },
}

/// The plan of one statement: the operator tree that feeds one sink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// Where the rows go.
    pub sink: SinkTarget,
    /// The operator whose output rows go to the sink.
    pub root: PhysNode,
    /// Sub-plans that occur more than once in `root` (an aggregate or join both sides of a join
    /// read): each is computed once per worker and read by every occurrence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared: Vec<SharedPlan>,
    /// How far (event-time ms) an instance of one of this pipeline's sources may run ahead of
    /// the slowest before it waits; None where nothing takes a minimum of watermarks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alignment_drift: Option<i64>,
}

impl Pipeline {
    /// A pipeline whose decisions are yet to be made (`darwin_planner` makes them).
    pub fn new(sink: SinkTarget, root: PhysNode) -> Pipeline {
        Pipeline { sink, root, shared: Vec::new(), alignment_drift: None }
    }

    /// The sink's name as the run summary shows it.
    pub fn sink_name(&self) -> &str {
        match &self.sink {
            SinkTarget::Table(t) => &t.name,
            SinkTarget::Stdout { .. } => "stdout",
        }
    }
}

/// A sub-plan computed once and read `readers` times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedPlan {
    /// The sub-plan, computed once per worker.
    pub node: PhysNode,
    /// How many occurrences in the pipeline's `root` read it.
    pub readers: usize,
}

/// Choices made for this machine, each with the reason shown by `darwin explain`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecSettings {
    /// Number of workers; each runs every pipeline over its share of the source partitions.
    pub parallelism: usize,
    /// The most rows a source puts in one batch.
    pub batch_size: usize,
    /// Which executor runs the plan.
    pub executor: Executor,
    /// Rows the first phase of a two-phase window aggregate watches before it decides whether
    /// aggregating reduces its rows enough to pay (0: pass rows on from the start).
    pub preagg_probe_rows: u64,
    /// What a worker with nothing to do does.
    pub idle: IdlePolicy,
    /// One sentence per choice saying why it was made, in the order `darwin explain` prints them.
    pub reasons: Vec<String>,
}

impl Default for ExecSettings {
    fn default() -> Self {
        ExecSettings {
            parallelism: 1,
            batch_size: DEFAULT_BATCH_SIZE,
            executor: Executor::Interpreted,
            preagg_probe_rows: DEFAULT_PREAGG_PROBE_ROWS,
            idle: IdlePolicy::Spin,
            reasons: Vec::new(),
        }
    }
}

/// Rows per batch unless the user says otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 4096;

/// Rows a pre-aggregating phase watches before deciding (Trino decides alike after 100,000).
pub const DEFAULT_PREAGG_PROBE_ROWS: u64 = 100_000;

/// Which executor runs a query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Executor {
    /// Vectorised batches through the operator library; starts at once.
    #[default]
    Interpreted,
    /// The plan compiled to native code (a generated crate run as a child process).
    Compiled,
    /// Compiled when a Rust toolchain is present, else the interpreter (and says so).
    Auto,
}

impl Executor {
    /// The executor's name as the command line spells it (`interpreted`, `compiled`, `auto`).
    pub fn name(self) -> &'static str {
        match self {
            Executor::Interpreted => "interpreted",
            Executor::Compiled => "compiled",
            Executor::Auto => "auto",
        }
    }
}

impl std::fmt::Display for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Executor {
    type Err = String;
    fn from_str(s: &str) -> Result<Executor, String> {
        match s {
            "interpreted" => Ok(Executor::Interpreted),
            "compiled" => Ok(Executor::Compiled),
            "auto" => Ok(Executor::Auto),
            o => Err(format!("unknown mode '{o}'; use interpreted, compiled or auto")),
        }
    }
}

/// What a worker does while it waits for rows from other workers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdlePolicy {
    /// Spin briefly, then yield the core, and sleep only after a long wait: a short sleep
    /// costs ~60 us on Linux, far more than a batch takes.
    #[default]
    Spin,
    /// Sleep at once. For counting work with callgrind, which runs threads one at a time: a
    /// spinning worker would count its polling as work.
    Sleep,
}

/// What a run executes: one pipeline per sink, and the execution settings for this machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhysicalPlan {
    /// One per sink (each INSERT INTO or bare SELECT of the script), in script order.
    pub pipelines: Vec<Pipeline>,
    /// The execution settings; not part of the `fingerprint`.
    pub settings: ExecSettings,
    /// How far (event-time ms) one input of a window or interval join may run ahead of the
    /// other, when it runs on its worker alone (the largest window of the plan); None
    /// without event-time windows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_lead: Option<i64>,
}

impl PhysicalPlan {
    /// A stable 64-bit fingerprint (FNV-1a over the canonical JSON form) of the operators, their
    /// configuration and the planner's decisions; execution settings that do not change results
    /// or state are left out.
    pub fn fingerprint(&self) -> u64 {
        crate::canonical_hash(&(&self.pipelines, self.join_lead))
    }
}

/// What a window aggregate's generated update reads: its input node and the windows of that
/// input's rows. None for the merge of slices (one table of keys for all its windows; the
/// library's operator in both modes).
pub fn agg_kernel_input(node: &PhysNode) -> Option<(&PhysNode, WindowSpec)> {
    let PhysNode::WindowAggregate { input, spec, .. } = node else { return None };
    if matches!(spec, WindowSpec::Slices { .. }) {
        return None;
    }
    Some((input, spec.clone()))
}

/// True when an expression is a plain reference to a column (used by explain).
pub fn is_plain_column(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Column(_))
}
