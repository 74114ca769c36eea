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
    Assign { window: WindowKind, time_col: usize },
    /// The input already carries window bounds (a window TVF or an upstream window aggregate).
    Existing { start_col: usize, end_col: usize },
    /// The input's rows are partial aggregates of `slide`-long slices starting at `start_col`
    /// (a sliced HOP, `decompose::slice_hops`); each HOP window merges the slices it covers.
    Slices { slide: i64, size: i64, start_col: usize },
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
    Expr(Expr),
    WindowStart,
    WindowEnd,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PhysNode {
    /// Moves rows between workers: by a hash of the keys, or all to worker 0.
    Exchange {
        input: Box<PhysNode>,
        partitioning: Partitioning,
        schema: Schema,
    },
    Source {
        table: TableDef,
        partitions: usize,
    },
    /// A fused filter and projection.
    Calc {
        input: Box<PhysNode>,
        filter: Option<Expr>,
        project: Option<Vec<Expr>>,
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
        input: Box<PhysNode>,
        window: WindowKind,
        time_col: usize,
        schema: Schema,
    },
    /// Output: the group keys in order, then the aggregates. `partial`: phase 1 of a two-phase
    /// aggregate (a merge follows), which may pass rows through as one-row partials when
    /// aggregating them does not reduce them.
    WindowAggregate {
        input: Box<PhysNode>,
        spec: WindowSpec,
        group: Vec<GroupKey>,
        aggs: Vec<AggCall>,
        schema: Schema,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        partial: bool,
        /// Compiled mode's generated update loop (its key), where the aggregate has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kernel: Option<u64>,
    },
    /// A GROUP BY without a window: emits its result once, when the input ends.
    GlobalAggregate {
        input: Box<PhysNode>,
        group: Vec<Expr>,
        aggs: Vec<AggCall>,
        schema: Schema,
    },
    LookupJoin {
        stream: Box<PhysNode>,
        table: Box<PhysNode>,
        join_type: JoinType,
        stream_keys: Vec<Expr>,
        table_keys: Vec<Expr>,
        residual: Option<Expr>,
        schema: Schema,
    },
    WindowJoin {
        left: Box<PhysNode>,
        right: Box<PhysNode>,
        join_type: JoinType,
        left_start: usize,
        left_end: usize,
        right_start: usize,
        right_end: usize,
        left_keys: Vec<Expr>,
        right_keys: Vec<Expr>,
        residual: Option<Expr>,
        schema: Schema,
    },
    IntervalJoin {
        left: Box<PhysNode>,
        right: Box<PhysNode>,
        left_time: usize,
        right_time: usize,
        lower: i64,
        upper: i64,
        left_keys: Vec<Expr>,
        right_keys: Vec<Expr>,
        residual: Option<Expr>,
        schema: Schema,
    },
}

impl PhysNode {
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

    /// Whether the operator keeps state across batches (and so needs a state backend).
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
pub enum SinkTarget {
    Table(TableDef),
    /// A bare SELECT: rows are printed with a header.
    Stdout {
        schema: Schema,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    pub sink: SinkTarget,
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
    pub node: PhysNode,
    pub readers: usize,
}

/// Choices made for this machine, each with the reason shown by `darwin explain`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecSettings {
    pub parallelism: usize,
    pub batch_size: usize,
    pub executor: Executor,
    /// Rows the first phase of a two-phase window aggregate watches before it decides whether
    /// aggregating reduces its rows enough to pay (0: pass rows on from the start).
    pub preagg_probe_rows: u64,
    /// What a worker with nothing to do does.
    pub idle: IdlePolicy,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhysicalPlan {
    pub pipelines: Vec<Pipeline>,
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
    #[expect(clippy::expect_used, reason = "plans are plain data with string-keyed maps: serialising them cannot fail")]
    pub fn fingerprint(&self) -> u64 {
        let json = serde_json::to_string(&(&self.pipelines, self.join_lead)).expect("plans always serialise");
        darwin_common::hash::fnv1a(json.as_bytes())
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
