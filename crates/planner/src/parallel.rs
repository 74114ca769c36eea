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
//!
//! A join over such aggregates (Nexmark q8: new persons joined with new sellers per window)
//! asks each input for rows hashed by its join keys and window start; the merge's exchange then
//! hashes by exactly those (a subset of its group keys is as good a partitioning for the
//! aggregate), and the join needs no exchange of its own: one repartitioning per side instead
//! of two.

use crate::decompose;
use darwin_common::{DataType, Schema};
use darwin_plan::logical::JoinType;
use darwin_plan::physical::{GroupKey, Partitioning, PhysNode, WindowSpec};
use darwin_plan::{AggCall, Expr, ExprKind, WindowKind};

/// Adds the exchanges a plan needs to run on `parallelism` workers (none for one worker).
/// `parallel_sink`: every worker writes its own part of the output (a blackhole, a directory of
/// part files); else rows are gathered to worker 0.
pub fn distribute(root: PhysNode, parallel_sink: bool, parallelism: usize) -> PhysNode {
    if parallelism <= 1 {
        return root;
    }
    let root = place(root, None);
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

/// Places the exchanges below `node`. `want`: the hash partitioning (over `node`'s columns) the
/// consumer would like; honoured where a two-phase aggregate can choose its exchange's keys.
fn place(node: PhysNode, want: Option<&[Expr]>) -> PhysNode {
    match node {
        PhysNode::Source { .. } | PhysNode::Exchange { .. } => node,
        PhysNode::WindowAggregate {
            input,
            spec: spec @ WindowSpec::Slices { .. },
            group,
            aggs,
            schema,
            partial,
            ..
        } => {
            // A sliced HOP: pre-aggregate slices per worker, bring every slice of a key to one
            // worker (hash by the keys alone), and merge them into windows there.
            let PhysNode::WindowAggregate {
                input: rows, spec: sspec, group: sgroup, aggs: saggs, schema: sschema, ..
            } = *input
            else {
                unreachable!("the merge of slices reads the slices' aggregate (decompose::slice_hops)")
            };
            let rows = place(*rows, None);
            let slices = PhysNode::WindowAggregate {
                input: Box::new(rows),
                spec: sspec,
                group: sgroup,
                aggs: saggs,
                schema: sschema,
                partial: true,
                kernel: None,
            };
            // The merge's keys are columns of the slices' rows.
            let keys = group.iter().filter_map(|k| if let GroupKey::Expr(e) = k { Some(e.clone()) } else { None });
            let moved = exchange(slices, hash_or_gather(keys.collect()));
            PhysNode::WindowAggregate { input: Box::new(moved), spec, group, aggs, schema, partial, kernel: None }
        }
        PhysNode::WindowAggregate { input, spec, group, aggs, schema, partial, .. } => {
            let input = place(*input, None);
            if let Some(two) = two_phase(&input, &spec, &group, &aggs, &schema, true, want) {
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
            PhysNode::WindowAggregate { input: Box::new(input), spec, group, aggs, schema, partial, kernel: None }
        }
        PhysNode::GlobalAggregate { input, group, aggs, schema } => {
            let input = exchange(place(*input, None), hash_or_gather(group.clone()));
            PhysNode::GlobalAggregate { input: Box::new(input), group, aggs, schema }
        }
        PhysNode::LookupJoin { .. } => {
            // The build side is read whole by every worker: only the stream (first input) is placed.
            let mut stream = true;
            node.map_inputs(&mut |input| if std::mem::take(&mut stream) { place(input, None) } else { input })
        }
        PhysNode::WindowJoin { .. } | PhysNode::IntervalJoin { .. } if broadcast_side(&node).is_some() => {
            // One input holds at most one row per window: copy it to every worker and leave the
            // other input where it is (placed for its own operators), instead of moving both.
            let small = broadcast_side(&node);
            let mut side = 0;
            node.map_inputs(&mut |input| {
                let placed = place(input, None);
                side += 1;
                if Some(side - 1) == small {
                    exchange(placed, Partitioning::Broadcast)
                } else {
                    placed
                }
            })
        }
        PhysNode::WindowJoin { .. } | PhysNode::IntervalJoin { .. } => {
            let mut sides = join_partitionings(&node).into_iter();
            node.map_inputs(&mut |input| {
                #[expect(clippy::expect_used, reason = "join_partitionings gives one partitioning per input")]
                let wanted = sides.next().expect("a join has two inputs");
                let keys = match &wanted {
                    Partitioning::Hash(k) => Some(k.as_slice()),
                    Partitioning::Gather | Partitioning::Broadcast => None,
                };
                let placed = place(input, keys);
                // Already hashed by exactly these keys (same order and types): both sides of
                // the join use the same hash, so rows that join are on the same worker.
                if keys.is_some_and(|k| partitioning_of(&placed).as_deref() == Some(k)) {
                    placed
                } else {
                    exchange(placed, wanted)
                }
            })
        }
        PhysNode::Calc { ref project, .. } => {
            // The wanted keys in the Calc's input columns, if each is a column passed through.
            let inner: Option<Vec<Expr>> = want.and_then(|w| {
                w.iter()
                    .map(|k| match (&k.kind, project) {
                        (ExprKind::Column(i), Some(p)) => match p.get(*i)?.kind {
                            ExprKind::Column(j) => Some(Expr::column(j, k.ty)),
                            _ => None,
                        },
                        (ExprKind::Column(_), None) => Some(k.clone()),
                        _ => None,
                    })
                    .collect()
            });
            node.map_inputs(&mut |input| place(input, inner.as_deref()))
        }
        PhysNode::WindowAssign { .. } => node.map_inputs(&mut |input| place(input, None)),
    }
}

/// The hash partitioning of a node's output, as expressions over its own columns, if the node
/// is (through filters, projections and window aggregates over carried windows) an exchange.
fn partitioning_of(node: &PhysNode) -> Option<Vec<Expr>> {
    let column = |k: &Expr| if let ExprKind::Column(j) = k.kind { Some(j) } else { None };
    match node {
        PhysNode::Exchange { partitioning: Partitioning::Hash(keys), .. } => Some(keys.clone()),
        PhysNode::Calc { input, project: None, .. } => partitioning_of(input),
        PhysNode::Calc { input, project: Some(p), .. } => partitioning_of(input)?
            .iter()
            .map(|k| {
                let j = column(k)?;
                let i = p.iter().position(|e| e.kind == ExprKind::Column(j))?;
                Some(Expr::column(i, k.ty))
            })
            .collect(),
        // Output column i is group key i.
        PhysNode::WindowAggregate { input, spec: WindowSpec::Existing { start_col, end_col }, group, .. } => {
            partitioning_of(input)?
                .iter()
                .map(|k| {
                    let j = column(k)?;
                    let i = group.iter().position(|g| match g {
                        GroupKey::Expr(e) => e.kind == ExprKind::Column(j),
                        GroupKey::WindowStart => *start_col == j,
                        GroupKey::WindowEnd => *end_col == j,
                    })?;
                    Some(Expr::column(i, k.ty))
                })
                .collect()
        }
        _ => None,
    }
}

/// How each input of a two-input join is distributed: rows that can join meet on one worker
/// (window joins also by window start; no keys means everything on worker 0).
fn join_partitionings(node: &PhysNode) -> [Partitioning; 2] {
    let with = |keys: &[Expr], extra: Option<usize>| {
        let mut k = keys.to_vec();
        k.extend(extra.map(|c| Expr::column(c, DataType::Timestamp)));
        hash_or_gather(k)
    };
    match node {
        PhysNode::WindowJoin { left_keys, right_keys, left_start, right_start, .. } => {
            [with(left_keys, Some(*left_start)), with(right_keys, Some(*right_start))]
        }
        PhysNode::IntervalJoin { left_keys, right_keys, .. } => [with(left_keys, None), with(right_keys, None)],
        other => unreachable!("not a two-input join: {other:?}"),
    }
}

/// The input of a join (0 left, 1 right) that holds at most one row per window: a window
/// aggregate grouped by nothing but its window, under filters and projections (Nexmark q5's
/// and q7's maximum per window). Copying it to every worker joins every row of the other input
/// where it already is. A left join's left input keeps its rows where they are (its unmatched
/// rows must come out once), so only its right input can be copied.
fn broadcast_side(node: &PhysNode) -> Option<usize> {
    fn one_per_window(n: &PhysNode) -> bool {
        match n {
            PhysNode::Calc { input, .. } => one_per_window(input),
            PhysNode::WindowAggregate { group, .. } => group.iter().all(|g| !matches!(g, GroupKey::Expr(_))),
            _ => false,
        }
    }
    let (left, right, left_outer) = match node {
        PhysNode::WindowJoin { left, right, join_type, .. } => (left, right, *join_type == JoinType::Left),
        PhysNode::IntervalJoin { left, right, .. } => (left, right, false),
        _ => return None,
    };
    if one_per_window(right) {
        Some(1)
    } else if !left_outer && one_per_window(left) {
        Some(0)
    } else {
        None
    }
}

/// Pre-aggregation per worker, an exchange of the partial rows, and a merge per window. The
/// exchange hashes by the group keys and, if `by_window`, the window start too.
fn two_phase(
    input: &PhysNode,
    spec: &WindowSpec,
    group: &[GroupKey],
    aggs: &[AggCall],
    schema: &Schema,
    by_window: bool,
    want: Option<&[Expr]>,
) -> Option<PhysNode> {
    if matches!(spec, WindowSpec::Assign { window: WindowKind::Session { .. }, .. }) {
        return None;
    }
    let split = decompose::split(aggs)?;
    let partial_schema = decompose::partial_schema(schema, group.len(), &split.partial_aggs, "partial");
    let start = group.iter().position(|k| *k == GroupKey::WindowStart)?;
    let end = group.iter().position(|k| *k == GroupKey::WindowEnd)?;
    let partial = PhysNode::WindowAggregate {
        input: Box::new(input.clone()),
        spec: spec.clone(),
        group: group.to_vec(),
        aggs: split.partial_aggs.clone(),
        schema: partial_schema.clone(),
        partial: true,
        kernel: None,
    };
    // Output column i of the aggregate (and of the partial rows) is group key i, so wanted keys
    // that are all group columns can partition the partial rows directly.
    let wanted = want.filter(|w| {
        !w.is_empty()
            && w.iter().all(|k| {
                matches!(k.kind, ExprKind::Column(i) if i < group.len() && partial_schema.fields[i].data_type == k.ty)
            })
    });
    let keys: Vec<Expr> = match wanted {
        Some(w) => w.to_vec(),
        None => {
            let mut keys: Vec<Expr> = group
                .iter()
                .enumerate()
                .filter(|(_, k)| matches!(k, GroupKey::Expr(_)))
                .map(|(i, _)| Expr::column(i, partial_schema.fields[i].data_type))
                .collect();
            if by_window {
                keys.push(Expr::column(start, DataType::Timestamp));
            }
            keys
        }
    };
    let moved = exchange(partial, hash_or_gather(keys));
    let spec = WindowSpec::Existing { start_col: start, end_col: end };
    Some(decompose::merge(moved, &partial_schema, group, spec, &split, aggs, schema))
}

/// The largest window (TUMBLE/HOP size, session gap, interval-join span) of a plan, in
/// event-time ms: the scale of the state its windows hold anyway, and so of the bound on how
/// far one input may run ahead of another (source instances, `alignment_drift`; a join's two
/// inputs, the runtime's `TwoInputs::lead`). None without event-time windows.
pub fn window_extent(roots: &[&PhysNode]) -> Option<i64> {
    fn walk(n: &PhysNode, extent: &mut Option<i64>) {
        let own = match n {
            PhysNode::WindowAssign { window, .. }
            | PhysNode::WindowAggregate { spec: WindowSpec::Assign { window, .. }, .. } => Some(match *window {
                WindowKind::Tumble { size } | WindowKind::Hop { size, .. } => size,
                WindowKind::Session { gap } => gap,
            }),
            PhysNode::WindowAggregate { spec: WindowSpec::Slices { size, .. }, .. } => Some(*size),
            PhysNode::IntervalJoin { lower, upper, .. } => Some(upper.saturating_sub(*lower)),
            _ => None,
        };
        if let Some(e) = own {
            *extent = Some(extent.map_or(e, |x| x.max(e)));
        }
        n.children().into_iter().for_each(|c| walk(c, extent));
    }
    let mut extent = None;
    roots.iter().for_each(|r| walk(r, &mut extent));
    extent.map(|e| e.max(1))
}

/// How far (event-time ms) an instance of a source may run ahead of the slowest source
/// instance of its pipeline (every worker's instance of every source) before it waits, or None
/// when nothing needs it: no event-time state, or no operator whose watermark is the minimum
/// over instances. Two places take such a minimum:
/// - behind an exchange (on several workers), the slowest sending worker's: a worker that runs
///   ahead fills windows that cannot close yet (Nexmark q5 on 2 workers held 100+ open windows
///   and 10x the memory of one worker);
/// - a join of two sources, its slower input's: on one worker a batch of Nexmark q8's persons
///   spans three times the event time of a batch of its auctions, so the persons ran ahead and
///   the join buffered them without bound (330 MB and 190 ms window latency after 1B events,
///   and growing).
///
/// The bound is twice the largest window (`window_extent`): a window aggregate's output is up
/// to a window behind its input, and a join of that output with raw rows (q7's bids with each
/// window's highest price) buffers nothing only when the aggregated side runs a window ahead.
/// With one window, q7 ran in lockstep and buffered every bid until its window closed: 8M
/// events/s instead of 24M.
pub fn alignment_drift(root: &PhysNode, parallelism: usize) -> Option<i64> {
    fn any(n: &PhysNode, f: &dyn Fn(&PhysNode) -> bool) -> bool {
        f(n) || n.children().into_iter().any(|c| any(c, f))
    }
    let exchange = parallelism > 1 && any(root, &|n| matches!(n, PhysNode::Exchange { .. }));
    let join = any(root, &|n| matches!(n, PhysNode::WindowJoin { .. } | PhysNode::IntervalJoin { .. }));
    let aligned = exchange || (join && event_time_sources(root) > 1);
    aligned.then(|| window_extent(&[root])).flatten().map(|w| w.saturating_mul(2))
}

/// The sources with a watermark a worker reads for a pipeline (a shared sub-plan's once).
fn event_time_sources(root: &PhysNode) -> usize {
    fn count(n: &PhysNode) -> usize {
        let own = matches!(n, PhysNode::Source { table, .. } if table.watermark.is_some());
        usize::from(own) + n.children().into_iter().map(count).sum::<usize>()
    }
    let repeated: usize = crate::share::shared_subplans(root).iter().map(|(n, times)| (times - 1) * count(n)).sum();
    count(root).saturating_sub(repeated)
}
