//! Lowering: each logical operator becomes the physical operator that runs it. Later passes
//! (pruning, slicing, distribution, decisions) refine the result.

use darwin_common::{FieldRole, Schema};
use darwin_plan::logical::{JoinKind, LogicalPlan};
use darwin_plan::physical::{GroupKey, PhysNode, WindowSpec};
use darwin_plan::{AggCall, ConnectorCatalog, Expr};

/// A filter and projection node, its kernel decided later.
pub(crate) fn calc(input: Box<PhysNode>, filter: Option<Expr>, project: Option<Vec<Expr>>, schema: Schema) -> PhysNode {
    PhysNode::Calc { input, filter, project, schema, kernel: None, fused_probe: None }
}

pub(crate) fn lower(plan: LogicalPlan, catalog: &dyn ConnectorCatalog, parallelism: usize) -> PhysNode {
    let rec = |p: LogicalPlan| Box::new(lower(p, catalog, parallelism));
    match plan {
        LogicalPlan::Scan { table } => {
            let partitions = catalog.partitions(&table, parallelism);
            PhysNode::Source { table, partitions }
        }
        LogicalPlan::Filter { input, predicate } => {
            let schema = input.schema().clone();
            calc(rec(*input), Some(predicate), None, schema)
        }
        LogicalPlan::Project { input, exprs, schema } => match *input {
            LogicalPlan::Filter { input, predicate } => calc(rec(*input), Some(predicate), Some(exprs), schema),
            other => calc(rec(other), None, Some(exprs), schema),
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
                kernel: None,
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
                kernel: None,
            };
        }
    }
    #[expect(clippy::expect_used, reason = "start and end were found as columns by their roles above")]
    let start_col = group[start].as_column().expect("window start key is a column");
    #[expect(clippy::expect_used, reason = "start and end were found as columns by their roles above")]
    let end_col = group[end].as_column().expect("window end key is a column");
    PhysNode::WindowAggregate {
        input: Box::new(lower(input, catalog, parallelism)),
        spec: WindowSpec::Existing { start_col, end_col },
        group: keys(group),
        aggs,
        schema,
        partial: false,
        kernel: None,
    }
}
