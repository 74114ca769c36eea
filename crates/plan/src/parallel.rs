//! Placement of exchanges for parallel execution. Every worker runs the whole operator tree over
//! its share of the source partitions (shared nothing). Rows cross workers only at exchanges,
//! which the planner puts in front of each keyed stateful operator (hash by its keys, so each
//! key's state lives on one worker) and in front of single-writer sinks (gather to worker 0).
//! The build side of a lookup join is read whole by every worker (it is small and bounded), so
//! it needs no exchange.

use crate::physical::{GroupKey, Partitioning, PhysNode, SinkTarget, WindowSpec};
use crate::Expr;

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
            let mut keys: Vec<Expr> =
                group.iter().filter_map(|k| if let GroupKey::Expr(e) = k { Some(e.clone()) } else { None }).collect();
            // Windows carried by the input partition by their start too; assigned TUMBLE/HOP
            // windows are only known after the exchange, sessions need all rows of a key.
            if let WindowSpec::Existing { start_col, .. } = &spec {
                keys.push(Expr::column(*start_col, darwin_common::DataType::Timestamp));
            }
            let input = exchange(place(*input), hash_or_gather(keys));
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
