//! Human-readable plan trees for `darwin explain`.

use darwin_common::value::format_interval;
use darwin_common::Schema;
use darwin_plan::logical::{JoinKind, LogicalPlan, WindowKind};
use darwin_plan::physical::{GroupKey, Partitioning, PhysNode, PhysicalPlan, SharedPlan, SinkTarget, WindowSpec};
use darwin_plan::{expr_to_string, AggCall, AggFunc, Executor, Expr};
use std::fmt::Write;

fn agg_to_string(a: &AggCall, schema: &Schema) -> String {
    let name = match a.func {
        AggFunc::Count => "COUNT",
        AggFunc::Sum => "SUM",
        AggFunc::Min => "MIN",
        AggFunc::Max => "MAX",
        AggFunc::Avg => "AVG",
    };
    let arg = a.arg.as_ref().map_or("*".to_string(), |e| expr_to_string(e, schema));
    let mut s = format!("{name}({}{arg})", if a.distinct { "DISTINCT " } else { "" });
    if let Some(f) = &a.filter {
        let _ = write!(s, " FILTER (WHERE {})", expr_to_string(f, schema));
    }
    s
}

fn window_to_string(w: &WindowKind) -> String {
    match w {
        WindowKind::Tumble { size } => format!("TUMBLE(size {})", format_interval(*size)),
        WindowKind::Hop { slide, size } => {
            format!("HOP(slide {}, size {})", format_interval(*slide), format_interval(*size))
        }
        WindowKind::Session { gap } => format!("SESSION(gap {})", format_interval(*gap)),
    }
}

fn names(schema: &Schema) -> String {
    schema.fields.iter().map(|f| format!("{}: {}", f.name, f.data_type)).collect::<Vec<_>>().join(", ")
}

fn list(exprs: &[Expr], schema: &Schema) -> String {
    exprs.iter().map(|e| expr_to_string(e, schema)).collect::<Vec<_>>().join(", ")
}

/// The bound logical plan as an indented tree, one node per line, for `darwin explain`.
pub fn logical_to_string(plan: &LogicalPlan) -> String {
    let mut out = String::new();
    logical_rec(plan, 0, &mut out);
    out
}

fn logical_rec(plan: &LogicalPlan, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match plan {
        LogicalPlan::Scan { table } => {
            let wm = table
                .watermark
                .as_ref()
                .map(|w| {
                    format!(
                        ", watermark {} AS {}",
                        table.schema.fields[w.column].name,
                        expr_to_string(&w.expr, &table.schema)
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(out, "{pad}Scan {} [{}] ({}{wm})", table.name, table.connector, names(&table.schema));
        }
        LogicalPlan::Filter { input, predicate } => {
            let _ = writeln!(out, "{pad}Filter {}", expr_to_string(predicate, input.schema()));
            logical_rec(input, depth + 1, out);
        }
        LogicalPlan::Project { input, exprs, schema } => {
            let items: Vec<String> = exprs
                .iter()
                .zip(&schema.fields)
                .map(|(e, f)| format!("{} AS {}", expr_to_string(e, input.schema()), f.name))
                .collect();
            let _ = writeln!(out, "{pad}Project {}", items.join(", "));
            logical_rec(input, depth + 1, out);
        }
        LogicalPlan::WindowTvf { input, window, time_col, .. } => {
            let _ = writeln!(
                out,
                "{pad}WindowTvf {} on {}",
                window_to_string(window),
                input.schema().fields[*time_col].name
            );
            logical_rec(input, depth + 1, out);
        }
        LogicalPlan::Aggregate { input, group, window, aggs, .. } => {
            let s = input.schema();
            let w = window
                .map(|(k, t)| format!(" window {} on {}", window_to_string(&k), s.fields[t].name))
                .unwrap_or_default();
            let a: Vec<String> = aggs.iter().map(|a| agg_to_string(a, s)).collect();
            let _ = writeln!(out, "{pad}Aggregate group [{}]{w} aggs [{}]", list(group, s), a.join(", "));
            logical_rec(input, depth + 1, out);
        }
        LogicalPlan::Join { left, right, kind, join_type, left_keys, right_keys, residual, schema } => {
            let _ = writeln!(
                out,
                "{pad}Join {:?} {} keys [{}] = [{}]{}",
                join_type,
                join_kind_to_string(kind, left.schema(), right.schema()),
                list(left_keys, left.schema()),
                list(right_keys, right.schema()),
                residual.as_ref().map(|r| format!(" residual {}", expr_to_string(r, schema))).unwrap_or_default()
            );
            logical_rec(left, depth + 1, out);
            logical_rec(right, depth + 1, out);
        }
    }
}

fn join_kind_to_string(kind: &JoinKind, l: &Schema, r: &Schema) -> String {
    match kind {
        JoinKind::Lookup => "lookup (right side loaded into memory)".into(),
        JoinKind::Window { .. } => "window (same window_start/window_end)".into(),
        JoinKind::Interval { left_time, right_time, lower, upper } => format!(
            "interval ({} between {} + {} and {} + {})",
            l.fields[*left_time].name,
            r.fields[*right_time].name,
            format_interval(*lower),
            r.fields[*right_time].name,
            format_interval(*upper)
        ),
    }
}

/// The physical plan as an indented tree per pipeline, with shared sub-plans marked, for `darwin explain`.
pub fn physical_to_string(plan: &PhysicalPlan) -> String {
    let mut out = String::new();
    for (i, p) in plan.pipelines.iter().enumerate() {
        let target = match &p.sink {
            SinkTarget::Table(t) => format!("{} [{}]", t.name, t.connector),
            SinkTarget::Stdout { .. } => "stdout (SELECT)".into(),
        };
        let _ = writeln!(out, "Pipeline {} -> {target}", i + 1);
        phys_rec(&p.root, 1, &Shared { nodes: &p.shared, shown: std::cell::RefCell::new(Vec::new()) }, &mut out);
    }
    out
}

/// The pipeline's shared sub-plans, and those already printed (later readers refer to them).
struct Shared<'a> {
    nodes: &'a [SharedPlan],
    shown: std::cell::RefCell<Vec<usize>>,
}

fn phys_rec(node: &PhysNode, depth: usize, shared: &Shared, out: &mut String) {
    let pad = "  ".repeat(depth);
    if let Some(k) = shared.nodes.iter().position(|s| s.node == *node) {
        if shared.shown.borrow().contains(&k) {
            let _ = writeln!(out, "{pad}Shared #{}: reads the sub-plan above (computed once)", k + 1);
            return;
        }
        shared.shown.borrow_mut().push(k);
        let readers = shared.nodes[k].readers;
        let _ = writeln!(
            out,
            "{pad}Shared #{} (this sub-plan occurs {readers} times: computed once, read {readers} times)",
            k + 1
        );
        return phys_node(node, depth + 1, shared, out);
    }
    phys_node(node, depth, shared, out)
}

fn phys_node(node: &PhysNode, depth: usize, shared: &Shared, out: &mut String) {
    let pad = "  ".repeat(depth);
    let line = match node {
        PhysNode::Exchange { input, partitioning, .. } => match partitioning {
            Partitioning::Hash(keys) => {
                format!("Exchange hash [{}] (rows with equal keys meet on one worker)", list(keys, input.schema()))
            }
            Partitioning::Gather => "Exchange gather (all rows to worker 0)".to_string(),
            Partitioning::Broadcast => {
                "Exchange broadcast (one row per window, copied to every worker: the join's other input does not move)"
                    .to_string()
            }
        },
        PhysNode::Source { table, partitions } => {
            let wm = if table.watermark.is_some() { "per-partition watermarks, min-combined" } else { "no watermark" };
            let cols: Vec<&str> = table.schema.fields.iter().map(|f| f.name.as_str()).collect();
            let skips = if table.ranges.is_empty() {
                String::new()
            } else {
                format!(" skips row groups by statistics unless {}", ranges(&table.ranges))
            };
            format!(
                "Source {} [{}] reads [{}] partitions={partitions} ({wm}){skips}",
                table.name,
                table.connector,
                cols.join(", ")
            )
        }
        PhysNode::Calc { input, filter, project, .. } => {
            let s = input.schema();
            let f = filter.as_ref().map(|f| format!(" filter {}", expr_to_string(f, s))).unwrap_or_default();
            let p = project.as_ref().map(|p| format!(" project [{}]", list(p, s))).unwrap_or_default();
            if f.is_empty() && p.is_empty() {
                "Calc (renames columns)".to_string()
            } else {
                format!("Calc{f}{p}")
            }
        }
        PhysNode::WindowAssign { input, window, time_col, .. } => {
            format!("WindowAssign {} on {}", window_to_string(window), input.schema().fields[*time_col].name)
        }
        PhysNode::WindowAggregate { input, spec, group, aggs, schema, partial, .. } => {
            let phase = match schema.fields.last().map(|f| f.name.as_str()) {
                _ if *partial => {
                    "phase 1 of 2: pre-aggregates this worker's rows per window, or passes them on as they \
                     come if that does not reduce them;"
                }
                Some(n) if n.starts_with("merged$") => "merges partial rows when the window closes;",
                Some(n) if n.starts_with("slice$") => "HOP slices: each row aggregated once, per slide;",
                _ => "",
            };
            let s = input.schema();
            let spec_kind = spec;
            let spec = match spec {
                WindowSpec::Assign { window, time_col } => format!("{} on {}", window_to_string(window), s.fields[*time_col].name),
                WindowSpec::Existing { start_col, end_col } => {
                    format!("existing windows [{}, {}]", s.fields[*start_col].name, s.fields[*end_col].name)
                }
                WindowSpec::Slices { slide, size, start_col } => format!(
                    "{} of slices starting at {}",
                    window_to_string(&WindowKind::Hop { slide: *slide, size: *size }),
                    s.fields[*start_col].name
                ),
            };
            let keys: Vec<String> = group
                .iter()
                .map(|k| match k {
                    GroupKey::Expr(e) => expr_to_string(e, s),
                    GroupKey::WindowStart => "window_start".into(),
                    GroupKey::WindowEnd => "window_end".into(),
                })
                .collect();
            let a: Vec<String> = aggs.iter().map(|a| agg_to_string(a, s)).collect();
            let state = match spec_kind {
                WindowSpec::Slices { .. } => {
                    "one hash table of keys for every open window, each slice's partial values in an array by \
                     key; a window adds up its slices when the watermark passes its end, and slices no open \
                     window covers are freed"
                }
                _ => "hash table per window, freed when the watermark passes its end",
            };
            format!(
                "WindowAggregate {spec} group [{}] aggs [{}] ({phase}{}{state})",
                keys.join(", "),
                a.join(", "),
                if phase.is_empty() { "" } else { " " }
            )
        }
        PhysNode::GlobalAggregate { input, group, aggs, .. } => {
            let s = input.schema();
            let a: Vec<String> = aggs.iter().map(|a| agg_to_string(a, s)).collect();
            format!("GlobalAggregate group [{}] aggs [{}] (emits once, when the input ends)", list(group, s), a.join(", "))
        }
        PhysNode::LookupJoin { stream, table, join_type, stream_keys, table_keys, .. } => format!(
            "LookupJoin {:?} [{}] = [{}] (build side loaded into a hash table before the stream starts)",
            join_type,
            list(stream_keys, stream.schema()),
            list(table_keys, table.schema())
        ),
        PhysNode::WindowJoin { left, right, join_type, left_keys, right_keys, .. } => format!(
            "WindowJoin {:?} [{}] = [{}] (rows buffered per window, joined and freed when the watermark passes the window end{})",
            join_type,
            list(left_keys, left.schema()),
            list(right_keys, right.schema()),
            held_back(left, right)
        ),
        PhysNode::IntervalJoin { left, right, left_time, right_time, lower, upper, left_keys, right_keys, .. } => format!(
            "IntervalJoin [{}] = [{}] {} between {} + {} and + {} (rows freed once no partner can arrive, rows that \
             cannot meet a later row of the other side not buffered{})",
            list(left_keys, left.schema()),
            list(right_keys, right.schema()),
            left.schema().fields[*left_time].name,
            right.schema().fields[*right_time].name,
            format_interval(*lower),
            format_interval(*upper),
            held_back(left, right)
        ),
    };
    let _ = writeln!(out, "{pad}{line}");
    for c in node.children() {
        phys_rec(c, depth + 1, shared, out);
    }
}

/// What a join says about holding back an input that runs ahead (`PhysNode::runs_locally`).
fn held_back(left: &PhysNode, right: &PhysNode) -> &'static str {
    match (left.runs_locally(), right.runs_locally()) {
        (true, true) => "; an input more than the largest window ahead of the other, and buffered more, waits",
        (true, false) => "; the left input waits while it is more than the largest window ahead and buffered more",
        (false, true) => "; the right input waits while it is more than the largest window ahead and buffered more",
        (false, false) => "",
    }
}

/// The text `darwin explain` prints: the logical plans, the physical plan, and the choices made
/// for this machine with their reasons.
pub fn explain(logical: &[(SinkTarget, LogicalPlan)], physical: &PhysicalPlan) -> String {
    let mut out = String::from("== Logical plan ==\n");
    for (i, (sink, plan)) in logical.iter().enumerate() {
        let name = match sink {
            SinkTarget::Table(t) => t.name.clone(),
            SinkTarget::Stdout { .. } => "stdout".into(),
        };
        out.push_str(&format!("Sink {} -> {name}\n", i + 1));
        for line in logical_to_string(plan).lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out.push_str("\n== Physical plan ==\n");
    out.push_str(&physical_to_string(physical));
    out.push_str(&format!("\n== Choices for this machine ==\nplan fingerprint: {:016x}\n", physical.fingerprint()));
    for r in &physical.settings.reasons {
        out.push_str(&format!("- {r}\n"));
    }
    out.push_str(&decisions(physical));
    out
}

/// The recorded decisions that span the plan, as explain's last lines.
fn decisions(physical: &PhysicalPlan) -> String {
    let mut out = String::new();
    let shared: usize = physical.pipelines.iter().map(|p| p.shared.len()).sum();
    if shared > 0 {
        out.push_str(&format!(
            "- shared sub-plans: {shared} (an aggregate or join that occurs more than once is computed once per \
             worker and its output handed to each reader; repeated plain scans are not shared, so their readers \
             need not advance in lockstep)\n"
        ));
    }
    if let Some(d) = physical.pipelines.iter().filter_map(|p| p.alignment_drift).max() {
        out.push_str(&format!(
            "- source alignment: an instance of a source (on any worker, or another source of the query) waits \
             while its watermark is more than {d} ms (twice the largest window) ahead of the slowest, so operators whose \
             watermark is the minimum of several inputs (behind exchanges, joins) hold a bounded number of windows \
             and rows\n"
        ));
    }
    if physical.settings.executor != Executor::Interpreted {
        let mut k = KernelCount::default();
        physical.pipelines.iter().for_each(|p| k.count(&p.root));
        out.push_str(&format!(
            "- compiled code: {} filter/projection node(s) become generated loops, {} of them fused with \
             the probe of the lookup join below; {} window aggregate(s) get a generated update loop (window \
             assignment, typed keys and accumulators, into the operator's own group tables) (`darwin explain \
             --code`); the other {} node(s) (sources, exchanges, window assignment, joins, session and other \
             aggregates) run the runtime's operator library, instantiated with those loops\n",
            k.calc, k.fused, k.aggs, k.other
        ));
    }
    out
}

/// Nodes by what compiled mode generates for them.
#[derive(Default)]
struct KernelCount {
    calc: usize,
    fused: usize,
    aggs: usize,
    other: usize,
}

impl KernelCount {
    fn count(&mut self, n: &PhysNode) {
        match n {
            PhysNode::Calc { fused_probe, .. } => {
                self.calc += 1;
                self.fused += usize::from(fused_probe.is_some());
            }
            PhysNode::WindowAggregate { kernel: Some(_), .. } => self.aggs += 1,
            _ => self.other += 1,
        }
        n.children().into_iter().for_each(|c| self.count(c));
    }
}

/// Column ranges as conditions: `price > 1000 AND t <= 2023-01-01 00:00:10.000`.
fn ranges(ranges: &[darwin_plan::ColumnRange]) -> String {
    let mut parts = Vec::new();
    for r in ranges {
        if let Some((v, inc)) = &r.lo {
            parts.push(format!("{} {} {}", r.column, if *inc { ">=" } else { ">" }, v));
        }
        if let Some((v, inc)) = &r.hi {
            parts.push(format!("{} {} {}", r.column, if *inc { "<=" } else { "<" }, v));
        }
    }
    parts.join(" AND ")
}
