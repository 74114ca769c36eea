//! The physical plan: concrete operators, and the execution choices made for this machine.
//! Built from the logical plan by [`PhysicalPlan::from_logical`].

use crate::logical::{JoinKind, JoinType, LogicalPlan, WindowKind};
use crate::{AggCall, AggFunc, ConnectorCatalog, Expr, ExprKind, TableDef};
use darwin_common::{FieldRole, Schema};
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
            PhysNode::Calc { input, filter, project, schema } => {
                PhysNode::Calc { input: g(input), filter, project, schema }
            }
            PhysNode::WindowAssign { input, window, time_col, schema } => {
                PhysNode::WindowAssign { input: g(input), window, time_col, schema }
            }
            PhysNode::WindowAggregate { input, spec, group, aggs, schema, partial } => {
                PhysNode::WindowAggregate { input: g(input), spec, group, aggs, schema, partial }
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
}

/// Choices made for this machine, each with the reason shown by `darwin explain`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecSettings {
    pub parallelism: usize,
    pub batch_size: usize,
    pub memory_budget_bytes: u64,
    pub state_backend: String,
    pub executor: String,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhysicalPlan {
    pub pipelines: Vec<Pipeline>,
    pub settings: ExecSettings,
}

impl PhysicalPlan {
    pub fn from_logical(
        sinks: Vec<(SinkTarget, LogicalPlan)>,
        catalog: &dyn ConnectorCatalog,
        settings: ExecSettings,
    ) -> PhysicalPlan {
        let pipelines = sinks
            .into_iter()
            .map(|(sink, plan)| {
                let root = lower(crate::optimize::optimize(plan), catalog, settings.parallelism);
                let root = crate::prune::prune_sources(root, catalog);
                let root = crate::decompose::slice_hops(root);
                let root = crate::parallel::distribute(root, &sink, settings.parallelism);
                Pipeline { sink, root }
            })
            .collect();
        PhysicalPlan { pipelines, settings }
    }

    /// A stable 64-bit fingerprint (FNV-1a over the canonical JSON form) of the operators and
    /// their configuration; execution settings that do not change results are left out.
    pub fn fingerprint(&self) -> u64 {
        let json = serde_json::to_string(&self.pipelines).expect("plans always serialise");
        json.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
    }
}

/// Identifies a Calc node's work for compiled mode: FNV-1a over the canonical JSON of its
/// expressions (types included). Equal nodes get equal keys and share one generated kernel.
pub fn calc_key(filter: &Option<Expr>, project: &Option<Vec<Expr>>) -> u64 {
    let json = serde_json::to_string(&(filter, project)).expect("expressions always serialise");
    json.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

/// A Calc directly over an inner lookup join on one plain integer or string column without a
/// residual: compiled mode fuses the probe and the Calc into one loop over (stream row, table
/// row) pairs. Returns the key of that fused kernel.
pub fn fused_lookup_key(node: &PhysNode) -> Option<u64> {
    use darwin_common::types::PhysicalType as P;
    let PhysNode::Calc { input, filter, project, .. } = node else { return None };
    let PhysNode::LookupJoin { stream, join_type, stream_keys, table_keys, residual: None, .. } = &**input else {
        return None;
    };
    let ([sk], [tk]) = (&stream_keys[..], &table_keys[..]) else { return None };
    let plain = matches!((&sk.kind, &tk.kind), (ExprKind::Column(_), ExprKind::Column(_)));
    let typed = sk.ty.physical() == tk.ty.physical() && matches!(sk.ty.physical(), P::I64 | P::I32 | P::Str);
    if *join_type != JoinType::Inner || !plain || !typed {
        return None;
    }
    let json = serde_json::to_string(&("fused lookup", filter, project, stream_keys, table_keys, stream.schema()))
        .expect("expressions always serialise");
    Some(json.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3)))
}

/// A TUMBLE/HOP window aggregate (or one over existing windows) that compiled mode turns into one
/// generated loop from batch to group-table update: at most one integer group key besides the
/// window, and COUNT, or SUM/MIN/MAX/AVG of integers or doubles, without DISTINCT. Other
/// aggregates run the library's generic update in both modes. Returns the kernel's key.
pub fn agg_kernel_key(node: &PhysNode) -> Option<u64> {
    use darwin_common::types::PhysicalType as P;
    let PhysNode::WindowAggregate { group, aggs, .. } = node else { return None };
    let (input, spec) = agg_kernel_input(node)?;
    if matches!(spec, WindowSpec::Assign { window: WindowKind::Session { .. }, .. }) {
        return None;
    }
    let keys: Vec<&Expr> =
        group.iter().filter_map(|k| if let GroupKey::Expr(e) = k { Some(e) } else { None }).collect();
    let int = |e: &Expr| matches!(e.ty.physical(), P::I64 | P::I32);
    let keys_ok = match keys[..] {
        [] => true,
        [k] => int(k),
        _ => false,
    };
    let aggs_ok = aggs.iter().all(|a| {
        !a.distinct
            && match (&a.func, &a.arg) {
                (AggFunc::Count, _) => true,
                (_, Some(arg)) => matches!(arg.ty.physical(), P::I64 | P::I32 | P::F64),
                (_, None) => false,
            }
    });
    if !keys_ok || !aggs_ok {
        return None;
    }
    let json = serde_json::to_string(&("window aggregate", &spec, group, aggs, input.schema()))
        .expect("plans always serialise");
    Some(json.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3)))
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

fn lower(plan: LogicalPlan, catalog: &dyn ConnectorCatalog, parallelism: usize) -> PhysNode {
    let rec = |p: LogicalPlan| Box::new(lower(p, catalog, parallelism));
    match plan {
        LogicalPlan::Scan { table } => {
            let partitions = catalog.partitions(&table, parallelism);
            PhysNode::Source { table, partitions }
        }
        LogicalPlan::Filter { input, predicate } => {
            let schema = input.schema().clone();
            PhysNode::Calc { input: rec(*input), filter: Some(predicate), project: None, schema }
        }
        LogicalPlan::Project { input, exprs, schema } => match *input {
            LogicalPlan::Filter { input, predicate } => {
                PhysNode::Calc { input: rec(*input), filter: Some(predicate), project: Some(exprs), schema }
            }
            other => PhysNode::Calc { input: rec(other), filter: None, project: Some(exprs), schema },
        },
        LogicalPlan::WindowTvf { input, window, time_col, schema, .. } => {
            // SESSION windows only exist inside an aggregate; the binder rejects other uses.
            PhysNode::WindowAssign { input: rec(*input), window, time_col, schema }
        }
        LogicalPlan::Aggregate { input, group, window: Some((window, time_col)), aggs, schema } => {
            let mut keys: Vec<GroupKey> = group.into_iter().map(GroupKey::Expr).collect();
            keys.push(GroupKey::WindowStart);
            keys.push(GroupKey::WindowEnd);
            PhysNode::WindowAggregate {
                input: rec(*input),
                spec: WindowSpec::Assign { window, time_col },
                group: keys,
                aggs,
                schema,
                partial: false,
            }
        }
        LogicalPlan::Aggregate { input, group, window: None, aggs, schema } => {
            lower_aggregate(*input, group, aggs, schema, catalog, parallelism)
        }
        LogicalPlan::Join { left, right, kind, join_type, left_keys, right_keys, residual, schema } => match kind {
            JoinKind::Lookup => PhysNode::LookupJoin {
                stream: rec(*left),
                table: rec(*right),
                join_type,
                stream_keys: left_keys,
                table_keys: right_keys,
                residual,
                schema,
            },
            JoinKind::Window { left_start, left_end, right_start, right_end } => PhysNode::WindowJoin {
                left: rec(*left),
                right: rec(*right),
                join_type,
                left_start,
                left_end,
                right_start,
                right_end,
                left_keys,
                right_keys,
                residual,
                schema,
            },
            JoinKind::Interval { left_time, right_time, lower, upper } => PhysNode::IntervalJoin {
                left: rec(*left),
                right: rec(*right),
                left_time,
                right_time,
                lower,
                upper,
                left_keys,
                right_keys,
                residual,
                schema,
            },
        },
    }
}

/// A GROUP BY whose keys include a window start and end becomes a window aggregate; where the
/// windows come straight from a window TVF, the assignment is fused into the aggregate (no
/// materialised window columns, no duplicated rows for HOP).
fn lower_aggregate(
    input: LogicalPlan,
    group: Vec<Expr>,
    aggs: Vec<AggCall>,
    schema: Schema,
    catalog: &dyn ConnectorCatalog,
    parallelism: usize,
) -> PhysNode {
    let in_schema = input.schema().clone();
    let role_of = |e: &Expr| e.as_column().map(|c| in_schema.fields[c].role);
    let start = group.iter().position(|e| role_of(e) == Some(FieldRole::WindowStart));
    let end = group.iter().position(|e| role_of(e) == Some(FieldRole::WindowEnd));
    let (Some(start), Some(end)) = (start, end) else {
        let input = Box::new(lower(input, catalog, parallelism));
        return PhysNode::GlobalAggregate { input, group, aggs, schema };
    };
    let keys = |group: Vec<Expr>| -> Vec<GroupKey> {
        group
            .into_iter()
            .enumerate()
            .map(|(i, e)| match i {
                _ if i == start => GroupKey::WindowStart,
                _ if i == end => GroupKey::WindowEnd,
                _ => GroupKey::Expr(e),
            })
            .collect()
    };
    if let LogicalPlan::WindowTvf { input: tvf_input, window, time_col, .. } = &input {
        let n = tvf_input.schema().len();
        let other_keys_ok =
            group.iter().enumerate().all(|(i, e)| i == start || i == end || e.columns().iter().all(|c| *c < n));
        let aggs_ok =
            aggs.iter().all(|a| a.arg.iter().chain(a.filter.iter()).all(|e| e.columns().iter().all(|c| *c < n)));
        if other_keys_ok && aggs_ok {
            let (window, time_col) = (*window, *time_col);
            let LogicalPlan::WindowTvf { input: tvf_input, .. } = input else { unreachable!() };
            return PhysNode::WindowAggregate {
                input: Box::new(lower(*tvf_input, catalog, parallelism)),
                spec: WindowSpec::Assign { window, time_col },
                group: keys(group),
                aggs,
                schema,
                partial: false,
            };
        }
    }
    let start_col = group[start].as_column().expect("window start key is a column");
    let end_col = group[end].as_column().expect("window end key is a column");
    PhysNode::WindowAggregate {
        input: Box::new(lower(input, catalog, parallelism)),
        spec: WindowSpec::Existing { start_col, end_col },
        group: keys(group),
        aggs,
        schema,
        partial: false,
    }
}

/// True when an expression is a plain reference to a column (used by explain).
pub fn is_plain_column(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Column(_))
}
