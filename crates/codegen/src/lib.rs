//! Query compilation: the physical plan becomes a Rust crate specialised to the query, which
//! Darwin builds with the installed toolchain and runs.
//!
//! What is generated: for every filter/projection node of the plan, one kernel that runs the
//! predicate over typed column slices into a selection vector and then evaluates all projections
//! over the selected rows in one loop, expressions inlined as straight-line code on concrete
//! types (no expression trees, no per-value dispatch, no intermediate columns). The kernels are
//! registered with the runtime's builder, which instantiates the same operator library the
//! interpreter uses (DESIGN.md: one operator library, two instantiations). A Calc over a lookup
//! join is fused with the probe; a TUMBLE/HOP window aggregate with at most one integer key and
//! COUNT/SUM/MIN/MAX/AVG of numbers gets one loop from its input batch to its group tables
//! (window assignment with constant sizes, typed key lookup, typed accumulator updates). The
//! batch goes in runs of rows in one set of open windows, with no per-row window checks: with a
//! key, a run's groups are found together and each aggregate folds over the run; without, the
//! run folds in registers (a sliced HOP's slices are such an aggregate; their merge into windows
//! is the library's operator in both modes). The state those loops update is the library operator's own (group tables per window), so state,
//! windows firing and the checkpoint format are shared with the interpreter.
//!
//! How it runs: the generated crate is a small binary depending only on `darwin-exec` (runtime
//! and connectors, not the SQL front end or planner). It is run as a **child process** rather
//! than loaded into the `darwin` process because (1) Rust has no stable ABI: a dynamic library
//! built separately cannot safely share `Batch` or trait objects with the host, and loading one
//! needs `unsafe` in the host; (2) the generated crate can then `#![forbid(unsafe_code)]`;
//! (3) a fault in generated code cannot take the CLI down, and the parent reports it. The cost is
//! one process start (milliseconds) and passing the plan and results as JSON files.
//!
//! Caching: binaries are kept under the cache directory keyed by the plan fingerprint, Darwin's
//! version plus a hash of the runtime sources, and the CPU (they are built for `target-cpu=native`).
//! All queries share one cargo target directory, so the runtime crate is built once.

mod agg;
mod expr;
pub mod toolchain;

use darwin_plan::expr_to_string;
use darwin_plan::{PhysNode, PhysicalPlan, SinkTarget};
use std::collections::BTreeMap;
use std::fmt::Write;

pub use expr::comment_text;

/// What a generated binary serves: a query's run (it links `darwin-exec` only) or a benchmark
/// (the harness in `darwin-bench` runs inside it, with the query's kernels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Harness {
    /// A query's binary: serves `darwin run --mode compiled` through `darwin_exec::child::main`.
    Query,
    /// A benchmark's binary: runs `darwin_bench`'s harness with the query's kernels.
    Bench,
}

impl Harness {
    /// The crate whose `child::main` the binary runs.
    fn krate(self) -> &'static str {
        match self {
            Harness::Query => "darwin_exec",
            Harness::Bench => "darwin_bench",
        }
    }
}

/// Whether a table is read or written through Arrow (Parquet or Arrow files, the Arrow TCP
/// source): the generated crate then builds `darwin-exec` with its `arrow` feature, which most
/// queries do without (it is most of a cold build's time).
fn uses_arrow(t: &darwin_plan::TableDef) -> bool {
    matches!(t.option("format"), Some("parquet" | "arrow")) || t.connector == "arrow-tcp"
}

fn node_uses_arrow(n: &PhysNode) -> bool {
    matches!(n, PhysNode::Source { table, .. } if uses_arrow(table)) || n.children().into_iter().any(node_uses_arrow)
}

/// Whether any of the plans reads or writes a table through Arrow (see `uses_arrow`).
pub fn needs_arrow(plans: &[&PhysicalPlan]) -> bool {
    plans.iter().flat_map(|p| &p.pipelines).any(|pl| {
        matches!(&pl.sink, SinkTarget::Table(t) if uses_arrow(t))
            || node_uses_arrow(&pl.root)
            || pl.shared.iter().any(|s| node_uses_arrow(&s.node))
    })
}

/// The generated crate's main source for a set of plans (a script's plan, or a benchmark's
/// measured and checking plans).
pub fn generate(plans: &[&PhysicalPlan], harness: Harness) -> String {
    let mut kernels: BTreeMap<u64, String> = BTreeMap::new();
    for plan in plans {
        for (p, pipeline) in plan.pipelines.iter().enumerate() {
            let sink = match &pipeline.sink {
                SinkTarget::Table(t) => format!("sink table {}", t.name),
                SinkTarget::Stdout { .. } => "SELECT to stdout".into(),
            };
            collect(&pipeline.root, &format!("pipeline {p} ({})", comment_text(&sink)), &mut kernels);
        }
    }
    let fingerprints: Vec<String> = plans.iter().map(|p| format!("{:#018x}", p.fingerprint())).collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "//! Generated by Darwin {} from the physical plan(s) {}. Do not edit: regenerated on demand.\n\
         #![forbid(unsafe_code)]\n\
         #![allow(unused_variables, unused_mut, clippy::all)]\n\n\
         use darwin_exec::darwin_runtime::kernels::{{self as k, Kernels}};\n\
         use darwin_exec::darwin_columnar::column::StrVec;\n\
         use darwin_exec::darwin_runtime::{{Batch, Column, Result}};\n\
         use darwin_exec::darwin_common::{{DataType, Value}};\n\
         use darwin_exec::darwin_plan::Func;\n\n\
         /// The plans this binary was generated for; the runner refuses any other.\n\
         const FINGERPRINTS: &[u64] = &[{}];\n\n\
         fn main() {{\n    let mut kernels = Kernels::compiled();",
        env!("CARGO_PKG_VERSION"),
        fingerprints.join(", "),
        fingerprints.join(", ")
    );
    for (key, code) in &kernels {
        let kind = ["probe", "agg", "calc"]
            .into_iter()
            .find(|kind| code.contains(&format!("fn {kind}_{key:016x}")))
            .expect("every kernel is named after its kind");
        let _ = writeln!(out, "    kernels.add_{kind}({key:#x}, {kind}_{key:016x});");
    }
    let _ = writeln!(out, "    std::process::exit({}::child::main(FINGERPRINTS, kernels));\n}}", harness.krate());
    for code in kernels.values() {
        out.push('\n');
        out.push_str(code);
    }
    out
}

fn collect(node: &PhysNode, path: &str, kernels: &mut BTreeMap<u64, String>) {
    // The planner decided which nodes get kernels and keyed them (`darwin_planner::decide`).
    if let PhysNode::WindowAggregate { kernel: Some(key), .. } = node {
        kernels.entry(*key).or_insert_with(|| agg::agg_kernel(*key, path, node));
    }
    if let PhysNode::Calc { input, filter, project, kernel, fused_probe, .. } = node {
        if let Some(key) = *kernel {
            kernels.entry(key).or_insert_with(|| calc_kernel(key, path, input.schema(), filter, project));
        }
        if let Some(key) = *fused_probe {
            kernels.entry(key).or_insert_with(|| probe_kernel(key, path, node));
        }
    }
    for c in node.children() {
        collect(c, path, kernels);
    }
}

/// A Calc over an inner lookup join on one integer or string column, fused into one function:
/// probe every stream row into (stream row, table row) pairs, then the Calc's filter and
/// projections over the pairs, reading the stream batch and the table directly (the join's
/// output is never materialised).
fn probe_kernel(key: u64, path: &str, node: &PhysNode) -> String {
    let PhysNode::Calc { input, filter, project, .. } = node else { unreachable!("a fused Calc") };
    let PhysNode::LookupJoin { stream, table, stream_keys, .. } = &**input else { unreachable!("over a lookup join") };
    let (ns, nt) = (stream.schema().len(), table.schema().len());
    let darwin_plan::ExprKind::Column(ki) = stream_keys[0].kind else { unreachable!("a plain key column") };
    let kty = stream_keys[0].ty;
    let schema = input.schema();
    let mut out = String::new();
    let _ = writeln!(out, "// Plan nodes: Calc over LookupJoin in {path}, fused");
    let _ = writeln!(out, "//   probe:   {}", comment_text(&expr_to_string(&stream_keys[0], stream.schema())));
    if let Some(f) = filter {
        let _ = writeln!(out, "//   filter:  {}", comment_text(&expr_to_string(f, schema)));
    }
    if let Some(p) = project {
        let list: Vec<String> = p.iter().map(|e| expr_to_string(e, schema)).collect();
        let _ = writeln!(out, "//   project: {}", comment_text(&list.join(", ")));
    }
    let probe = if kty.physical() == darwin_common::types::PhysicalType::Str {
        "index.rows_str(kd.get(row))".to_string()
    } else {
        "index.rows_int(kd[row] as i64)".to_string()
    };
    let _ = writeln!(
        out,
        "fn probe_{key:016x}(s: Batch, t: &Batch, index: &k::JoinIndex) -> Result<Batch> {{\n    \
         let n = s.num_rows;\n    \
         // probe: (stream row, table row) pairs in stream order, as the generic join emits them\n    \
         let kd = k::{}(&s.columns[{ki}]);\n    \
         let kv = k::validity(&s.columns[{ki}]);\n    \
         let mut li: Vec<u32> = Vec::with_capacity(n);\n    \
         let mut ri: Vec<u32> = Vec::with_capacity(n);\n    \
         for row in 0..n {{\n        \
         if kv.is_none_or(|m| m[row]) {{\n            \
         for &r in {probe} {{\n                li.push(row as u32);\n                ri.push(r);\n            }}\n        }}\n    }}",
        expr::view_of(kty)
    );
    if let Some(f) = filter {
        let mut k = expr::Kernel::over_join(ns);
        let v = k.expr(f);
        out.push_str("    // filter\n");
        out.push_str(&k.prelude);
        out.push_str("    let mut keep: Vec<usize> = Vec::with_capacity(li.len());\n    for p in 0..li.len() {\n");
        out.push_str("        let (sr, tr) = (li[p] as usize, ri[p] as usize);\n");
        out.push_str(&k.body);
        let _ = writeln!(out, "        if {v} == Some(true) {{ keep.push(p); }}\n    }}");
        out.push_str("    let (li, ri): (Vec<u32>, Vec<u32>) = keep.iter().map(|p| (li[*p], ri[*p])).unzip();\n");
    }
    out.push_str("    let m = li.len();\n");
    let gather = |i: usize| {
        if i < ns {
            format!("s.columns[{i}].take(&li)")
        } else {
            format!("t.columns[{}].take(&ri)", i - ns)
        }
    };
    let Some(project) = project else {
        let all: Vec<String> = (0..ns + nt).map(gather).collect();
        let _ = writeln!(out, "    Ok(Batch::new(vec![{}], m))\n}}", all.join(", "));
        return out;
    };
    let head = "    for p in 0..m {\n        let (sr, tr) = (li[p] as usize, ri[p] as usize);\n";
    let finishes = projection(&mut expr::Kernel::over_join(ns), project, &gather, head, &mut out);
    let _ = writeln!(out, "    Ok(Batch::new(vec![{}], m))\n}}", finishes.join(", "));
    out
}

/// The projection phase of both kernel kinds: plain column references become `plain(i)` (a
/// gather or a move), computed ones a typed output column each, all filled in one loop that
/// starts with `head`. Returns the output columns' expressions in order.
/// The input column a projection outputs unchanged: a column, or a cast of one that keeps every
/// stored value (to its own type, between BIGINT and TIMESTAMP, or to a DECIMAL of the same
/// scale, like an INSERT's cast of `0.908 * price` to the sink's DECIMAL(23, 3)). The
/// interpreter's casts of these keep the values too (`eval::cast`'s factor is 1).
fn moved_column(e: &darwin_plan::Expr) -> Option<usize> {
    use darwin_common::DataType::{BigInt, Decimal, Timestamp};
    use darwin_plan::ExprKind;
    match &e.kind {
        ExprKind::Column(i) => Some(*i),
        ExprKind::Cast(inner) => {
            let same = match (inner.ty, e.ty) {
                (from, to) if from == to => true,
                (BigInt | Timestamp, BigInt | Timestamp) => true,
                (from @ Decimal { .. }, to @ Decimal { .. }) => from.scale() == to.scale(),
                _ => false,
            };
            if same {
                moved_column(inner)
            } else {
                None
            }
        }
        _ => None,
    }
}

fn projection(
    k: &mut expr::Kernel,
    project: &[darwin_plan::Expr],
    plain: &dyn Fn(usize) -> String,
    head: &str,
    out: &mut String,
) -> Vec<String> {
    let (mut decls, mut pushes, mut finishes) = (String::new(), String::new(), Vec::new());
    for (j, e) in project.iter().enumerate() {
        if let Some(i) = moved_column(e) {
            finishes.push(plain(i));
            continue;
        }
        let v = k.expr(e);
        let (decl, push, finish) = expr::output_column(j, e);
        decls.push_str(&decl);
        let _ = writeln!(pushes, "        {}", push.replace("{X}", &v));
        finishes.push(finish);
    }
    if !pushes.is_empty() {
        out.push_str("    // project\n");
        out.push_str(&k.prelude);
        out.push_str(&decls);
        out.push_str(head);
        out.push_str(&k.body);
        out.push_str(&pushes);
        out.push_str("    }\n");
    }
    finishes
}

fn calc_kernel(
    key: u64,
    path: &str,
    schema: &darwin_common::Schema,
    filter: &Option<darwin_plan::Expr>,
    project: &Option<Vec<darwin_plan::Expr>>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "// Plan node: Calc in {path}");
    if let Some(f) = filter {
        let _ = writeln!(out, "//   filter:  {}", comment_text(&expr_to_string(f, schema)));
    }
    if let Some(p) = project {
        let list: Vec<String> = p.iter().map(|e| expr_to_string(e, schema)).collect();
        let _ = writeln!(out, "//   project: {}", comment_text(&list.join(", ")));
    }
    let _ = writeln!(out, "fn calc_{key:016x}(b: Batch) -> Result<Batch> {{\n    let n = b.num_rows;");
    // Phase 1: the predicate over all rows into a selection vector (as the interpreter's mask).
    let mut sel = expr::Kernel::default();
    let select = match filter {
        Some(f) => {
            let v = sel.expr(f);
            let _ = writeln!(sel.body, "        if {v} == Some(true) {{ sel.push(row as u32); }}");
            true
        }
        None => false,
    };
    if select {
        out.push_str("    // filter\n");
        out.push_str(&sel.prelude);
        out.push_str("    let mut sel: Vec<u32> = Vec::with_capacity(n);\n    for row in 0..n {\n");
        out.push_str(&sel.body);
        out.push_str("    }\n");
    }
    // Phase 2: projections over the selected rows (all rows without a filter), fused into one
    // loop; plain columns are gathered whole, or moved when there is no filter.
    let Some(project) = project else {
        out.push_str(if select {
            "    if sel.len() == n {\n        return Ok(b);\n    }\n    Ok(b.take(&sel))\n}\n"
        } else {
            "    Ok(b)\n}\n"
        });
        return out;
    };
    out.push_str(if select { "    let m = sel.len();\n" } else { "    let m = n;\n" });
    let plain = |i: usize| {
        let uses = project.iter().filter(|p| moved_column(p) == Some(i)).count();
        match (select, uses) {
            (true, _) => format!("b.columns[{i}].take(&sel)"),
            (false, 1) => format!("cols[{i}].take().expect(\"each column moves once\")"),
            (false, _) => format!("cols[{i}].clone().expect(\"present\")"),
        }
    };
    let head = if select { "    for &r in &sel {\n        let row = r as usize;\n" } else { "    for row in 0..n {\n" };
    let finishes = projection(&mut expr::Kernel::default(), project, &plain, head, &mut out);
    if !select {
        out.push_str("    let mut cols: Vec<Option<Column>> = b.columns.into_iter().map(Some).collect();\n");
    }
    let _ = writeln!(out, "    Ok(Batch::new(vec![{}], m))\n}}", finishes.join(", "));
    out
}
