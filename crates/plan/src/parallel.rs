//! Placement of exchanges for parallel execution. Every worker runs the whole operator tree over
//! its share of the source partitions (shared nothing). Rows cross workers only at exchanges,
//! which the planner puts in front of each keyed stateful operator (hash by its keys, so each
//! key's state lives on one worker) and in front of single-writer sinks (gather to worker 0).
//! The build side of a lookup join is read whole by every worker (it is small and bounded), so
//! it needs no exchange.
//!
//! Window aggregates whose aggregates can be merged (COUNT, SUM, MIN, MAX, and AVG of integers
//! or doubles, none DISTINCT) run in two phases instead: each worker pre-aggregates its own rows
//! per window, and only those partial rows cross workers to be merged when the window closes.
//! At most one row per group, window and worker moves instead of every input row, so it is
//! chosen whenever it applies; sessions, DISTINCT and decimal averages repartition rows.

use crate::physical::{GroupKey, Partitioning, PhysNode, SinkTarget, WindowSpec};
use crate::{AggCall, AggFunc, BinOp, Expr, ExprKind, WindowKind};
use darwin_common::{DataType, Field, Schema};

/// Adds the exchanges a plan needs to run on `parallelism` workers (none for one worker).
pub fn distribute(root: PhysNode, sink: &SinkTarget, parallelism: usize) -> PhysNode {
    if parallelism <= 1 {
        return root;
    }
    let root = place(root);
    let parallel_sink = matches!(sink, SinkTarget::Table(t) if t.connector == "blackhole");
    if parallel_sink {
        root
    } else {
        exchange(root, Partitioning::Gather)
    }
}

fn exchange(input: PhysNode, partitioning: Partitioning) -> PhysNode {
    let schema = input.schema().clone();
    PhysNode::Exchange { input: Box::new(input), partitioning, schema }
}

fn hash_or_gather(keys: Vec<Expr>) -> Partitioning {
    if keys.is_empty() {
        Partitioning::Gather
    } else {
        Partitioning::Hash(keys)
    }
}

fn place(node: PhysNode) -> PhysNode {
    match node {
        PhysNode::Source { .. } | PhysNode::Exchange { .. } => node,
        PhysNode::Calc { input, filter, project, schema } => {
            PhysNode::Calc { input: Box::new(place(*input)), filter, project, schema }
        }
        PhysNode::WindowAssign { input, window, time_col, schema } => {
            PhysNode::WindowAssign { input: Box::new(place(*input)), window, time_col, schema }
        }
        PhysNode::WindowAggregate { input, spec, group, aggs, schema } => {
            let input = place(*input);
            if let Some(two) = two_phase(&input, &spec, &group, &aggs, &schema) {
                return two;
            }
            let mut keys: Vec<Expr> =
                group.iter().filter_map(|k| if let GroupKey::Expr(e) = k { Some(e.clone()) } else { None }).collect();
            // Windows carried by the input partition by their start too; sessions need all
            // rows of a key on one worker.
            if let WindowSpec::Existing { start_col, .. } = &spec {
                keys.push(Expr::column(*start_col, DataType::Timestamp));
            }
            let input = exchange(input, hash_or_gather(keys));
            PhysNode::WindowAggregate { input: Box::new(input), spec, group, aggs, schema }
        }
        PhysNode::GlobalAggregate { input, group, aggs, schema } => {
            let input = exchange(place(*input), hash_or_gather(group.clone()));
            PhysNode::GlobalAggregate { input: Box::new(input), group, aggs, schema }
        }
        PhysNode::LookupJoin { stream, table, join_type, stream_keys, table_keys, residual, schema } => {
            PhysNode::LookupJoin {
                stream: Box::new(place(*stream)),
                table,
                join_type,
                stream_keys,
                table_keys,
                residual,
                schema,
            }
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
            let ts = darwin_common::DataType::Timestamp;
            let mut lk = left_keys.clone();
            lk.push(Expr::column(left_start, ts));
            let mut rk = right_keys.clone();
            rk.push(Expr::column(right_start, ts));
            PhysNode::WindowJoin {
                left: Box::new(exchange(place(*left), Partitioning::Hash(lk))),
                right: Box::new(exchange(place(*right), Partitioning::Hash(rk))),
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
        } => PhysNode::IntervalJoin {
            left: Box::new(exchange(place(*left), hash_or_gather(left_keys.clone()))),
            right: Box::new(exchange(place(*right), hash_or_gather(right_keys.clone()))),
            left_time,
            right_time,
            lower,
            upper,
            left_keys,
            right_keys,
            residual,
            schema,
        },
    }
}

/// The partial aggregates an aggregate is computed from, and how they merge.
fn partials(a: &AggCall) -> Option<Vec<AggCall>> {
    if a.distinct {
        return None;
    }
    let arg_ty = a.arg.as_ref().map(|e| e.ty);
    Some(match a.func {
        AggFunc::Count | AggFunc::Sum | AggFunc::Min | AggFunc::Max => vec![a.clone()],
        AggFunc::Avg => {
            let sum_ty = match arg_ty? {
                DataType::Int | DataType::BigInt => DataType::BigInt,
                DataType::Double => DataType::Double,
                _ => return None,
            };
            let arg = a.arg.clone()?.cast(sum_ty);
            vec![
                AggCall {
                    func: AggFunc::Sum,
                    arg: Some(arg.clone()),
                    distinct: false,
                    filter: a.filter.clone(),
                    ty: sum_ty,
                },
                AggCall {
                    func: AggFunc::Count,
                    arg: Some(arg),
                    distinct: false,
                    filter: a.filter.clone(),
                    ty: DataType::BigInt,
                },
            ]
        }
    })
}

/// Pre-aggregation per worker, an exchange of the partial rows, and a merge per window.
fn two_phase(
    input: &PhysNode,
    spec: &WindowSpec,
    group: &[GroupKey],
    aggs: &[AggCall],
    schema: &Schema,
) -> Option<PhysNode> {
    if matches!(spec, WindowSpec::Assign { window: WindowKind::Session { .. }, .. }) {
        return None;
    }
    let parts: Vec<Vec<AggCall>> = aggs.iter().map(partials).collect::<Option<_>>()?;
    let partial_aggs: Vec<AggCall> = parts.iter().flatten().cloned().collect();
    // Partial output: the group keys in place, then the partial aggregates.
    let mut fields: Vec<Field> = schema.fields[..group.len()].to_vec();
    fields.extend(partial_aggs.iter().enumerate().map(|(i, a)| Field::new(format!("partial${i}"), a.ty)));
    let partial_schema = Schema::new(fields);
    let ts = DataType::Timestamp;
    let start = group.iter().position(|k| *k == GroupKey::WindowStart)?;
    let end = group.iter().position(|k| *k == GroupKey::WindowEnd)?;
    let partial = PhysNode::WindowAggregate {
        input: Box::new(input.clone()),
        spec: spec.clone(),
        group: group.to_vec(),
        aggs: partial_aggs.clone(),
        schema: partial_schema.clone(),
    };
    let col = |i: usize| Expr::column(i, partial_schema.fields[i].data_type);
    let mut keys: Vec<Expr> =
        group.iter().enumerate().filter(|(_, k)| matches!(k, GroupKey::Expr(_))).map(|(i, _)| col(i)).collect();
    keys.push(Expr::column(start, ts));
    let moved = exchange(partial, Partitioning::Hash(keys));
    let final_group: Vec<GroupKey> = group
        .iter()
        .enumerate()
        .map(|(i, k)| match k {
            GroupKey::Expr(_) => GroupKey::Expr(col(i)),
            other => other.clone(),
        })
        .collect();
    // Merging: counts and sums add up, minima and maxima of partials are the overall ones.
    let merge_aggs: Vec<AggCall> = partial_aggs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let func = match p.func {
                AggFunc::Count | AggFunc::Sum => AggFunc::Sum,
                f => f,
            };
            AggCall { func, arg: Some(col(group.len() + i)), distinct: false, filter: None, ty: p.ty }
        })
        .collect();
    let mut merged_fields: Vec<Field> = schema.fields[..group.len()].to_vec();
    merged_fields.extend(merge_aggs.iter().enumerate().map(|(i, a)| Field::new(format!("merged${i}"), a.ty)));
    let merged_schema = Schema::new(merged_fields);
    let merged = PhysNode::WindowAggregate {
        input: Box::new(moved),
        spec: WindowSpec::Existing { start_col: start, end_col: end },
        group: final_group,
        aggs: merge_aggs,
        schema: merged_schema.clone(),
    };
    if parts.iter().all(|p| p.len() == 1) {
        // Same layout as the one-phase aggregate: rename the columns only.
        return Some(PhysNode::Calc { input: Box::new(merged), filter: None, project: None, schema: schema.clone() });
    }
    // AVG = merged sum / merged count, in the aggregate's own type.
    let m = |i: usize| Expr::column(i, merged_schema.fields[i].data_type);
    let mut project: Vec<Expr> = (0..group.len()).map(m).collect();
    let mut at = group.len();
    for (a, p) in aggs.iter().zip(&parts) {
        if p.len() == 1 {
            project.push(m(at));
        } else {
            let (sum, count) = (m(at), m(at + 1));
            let div_ty = sum.ty;
            let quotient = Expr::binary(BinOp::Div, sum, count.cast(div_ty), div_ty);
            project.push(Expr { kind: ExprKind::Cast(Box::new(quotient)), ty: a.ty });
        }
        at += p.len();
    }
    Some(PhysNode::Calc { input: Box::new(merged), filter: None, project: Some(project), schema: schema.clone() })
}
