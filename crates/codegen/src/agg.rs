//! Rust for a window aggregate's update: loops over the batch that evaluate the group key and the
//! aggregates' arguments and filters, assign rows their windows with the window size as a
//! constant, skip late rows, and fold rows into their groups through the group table's typed
//! entry points (no key encoding, no per-window row lists). Runs of rows in one set of open
//! windows find their groups together and fold aggregate by aggregate; other rows, one by one.

use crate::expr::{self, comment_text};
use darwin_common::types::PhysicalType;
use darwin_plan::expr_to_string;
use darwin_plan::physical::{agg_kernel_input, GroupKey, WindowSpec};
use darwin_plan::{AggFunc, PhysNode, WindowKind};
use std::fmt::Write;

/// The kernel for a node accepted by `agg_kernel_key`, named `agg_{key}`.
pub fn agg_kernel(key: u64, path: &str, node: &PhysNode) -> String {
    let PhysNode::WindowAggregate { group, aggs, .. } = node else { unreachable!("a window aggregate") };
    let (input, spec) = agg_kernel_input(node).expect("a window aggregate");
    let spec = &spec;
    let schema = input.schema();
    let name = |i: usize| comment_text(&schema.fields[i].name);
    let show = |e: &darwin_plan::Expr| comment_text(&expr_to_string(e, schema));
    let mut out = String::new();
    let _ = writeln!(out, "// Plan node: WindowAggregate in {path}");
    let window = match spec {
        WindowSpec::Assign { window: WindowKind::Tumble { size }, time_col } => {
            format!("TUMBLE(size {size} ms) on {}", name(*time_col))
        }
        WindowSpec::Assign { window: WindowKind::Hop { slide, size }, time_col } => {
            format!("HOP(slide {slide} ms, size {size} ms) on {}", name(*time_col))
        }
        WindowSpec::Assign { window: WindowKind::Session { .. }, .. } => unreachable!("sessions have no kernel"),
        WindowSpec::Slices { .. } => unreachable!("the merge of slices has no kernel"),
        WindowSpec::Existing { start_col, end_col } => {
            format!("existing windows [{}, {}]", name(*start_col), name(*end_col))
        }
    };
    let _ = writeln!(out, "//   window:  {window}");
    let key_expr = group.iter().find_map(|k| if let GroupKey::Expr(e) = k { Some(e) } else { None });
    if let Some(e) = key_expr {
        let _ = writeln!(out, "//   group:   {}", show(e));
    }
    let list: Vec<String> = aggs
        .iter()
        .map(|a| {
            let arg = a.arg.as_ref().map_or("*".to_string(), &show);
            let distinct = if a.distinct { "DISTINCT " } else { "" };
            let filter = a.filter.as_ref().map_or(String::new(), |f| format!(" FILTER (WHERE {})", show(f)));
            format!("{:?}({distinct}{arg}){filter}", a.func).to_uppercase()
        })
        .collect();
    let _ = writeln!(out, "//   aggs:    {}", list.join(", "));

    let mut k = expr::Kernel::default();
    // Per row: the key (its errors at once: the interpreter evaluates keys over the whole batch
    // first), then each aggregate's argument and filter, whose errors count only if some row of
    // the batch reaches a window (the interpreter evaluates them per window), in aggregate order.
    let mut row = String::new();
    let key_var = match key_expr {
        Some(e) => {
            let v = k.expr(e);
            row.push_str(&std::mem::take(&mut k.body));
            Some(v)
        }
        None => None,
    };
    // A keyed aggregate's runs (below) find every row's group first (`groups_int`), then fold
    // each aggregate over the run, so neither the index nor an accumulator is matched and
    // reloaded per row; each closure holds the code of its key or argument.
    let key_code = row.clone();
    let mut batch_folds = String::new();
    let mut update = String::new();
    // Variables holding the deferred errors, in the order they count.
    let mut errors: Vec<String> = Vec::new();
    let group_of = match &key_var {
        Some(v) => format!("tab.group_int({v}.map(|x| x as i64))"),
        None => "tab.group_single()".into(),
    };
    let _ = writeln!(update, "{{\n            let g = {group_of};");
    // Without a key, a run of rows in one window folds into registers (`r{a}`), loaded from the
    // window's single group when the run starts and stored back when it ends. HOP rows visit
    // several windows in turn, so they keep the per-row path.
    let registers = key_expr.is_none() && !matches!(spec, WindowSpec::Assign { window: WindowKind::Hop { .. }, .. });
    let (mut regs, mut loads, mut stores, mut folds) = (String::new(), String::new(), String::new(), String::new());
    for (a, call) in aggs.iter().enumerate() {
        // COUNT needs only whether its argument is NULL.
        let count = call.func == AggFunc::Count;
        let seg_start = row.len();
        let arg = call.arg.as_ref().map(|e| deferred(&mut k, e, &format!("a{a}"), count, &mut row, &mut errors));
        let filter = call.filter.as_ref().map(|e| deferred(&mut k, e, &format!("f{a}"), false, &mut row, &mut errors));
        let seg = dedent(&row[seg_start..], 4);
        let mut conds: Vec<String> = Vec::new();
        if let Some(f) = &filter {
            conds.push(format!("{f} == Some(true)"));
        }
        let fold = match (&call.func, &call.arg) {
            (AggFunc::Count, _) => {
                if let Some(v) = &arg {
                    conds.push(format!("{v}.is_some()"));
                }
                format!("tab.count({a}, g)")
            }
            (_, Some(e)) if e.ty.physical() == PhysicalType::F64 => format!("tab.add_f64({a}, g, x)"),
            (_, _) => format!("tab.add_i64({a}, g, x as i64)?"),
        };
        // COUNT counts in an integer whatever its argument's type.
        let float = !count && call.arg.as_ref().is_some_and(|e| e.ty.physical() == PhysicalType::F64);
        let (rty, zero, x) =
            if float { ("(f64, i64)", "(0.0, 0)", "x") } else { ("(i64, i64)", "(0, 0)", "(x as i64)") };
        let kind = if float { "f64" } else { "i64" };
        let _ = writeln!(regs, "    let mut r{a}: {rty} = {zero};");
        let _ = writeln!(loads, "            r{a} = tab.load_{kind}({a}, g);");
        let _ = writeln!(stores, "                tab.store_{kind}({a}, 0, r{a});");
        let reg_fold = match call.func {
            AggFunc::Count => format!("r{a}.0 += 1"),
            // Integer sums are checked as the library's accumulators check them.
            AggFunc::Sum if float => format!("r{a} = (r{a}.0 + x, 1)"),
            AggFunc::Sum => format!("r{a} = (k::sum_i64(r{a}.0, {x}, false)?, 1)"),
            AggFunc::Avg if float => format!("r{a} = (r{a}.0 + x, r{a}.1 + 1)"),
            AggFunc::Avg => format!("r{a} = (k::sum_i64(r{a}.0, {x}, true)?, r{a}.1 + 1)"),
            AggFunc::Min | AggFunc::Max => {
                let cmp = if call.func == AggFunc::Max { ">" } else { "<" };
                format!("if r{a}.1 == 0 || {x} {cmp} r{a}.0 {{ r{a} = ({x}, 1); }}")
            }
        };
        let cond = conds.join(" && ");
        let (entry, value) = match (&call.func, &arg) {
            (AggFunc::Count, _) => ("count_rows", if conds.is_empty() { "true".to_string() } else { cond.clone() }),
            (_, Some(v)) => {
                let v = if float { v.clone() } else { format!("{v}.map(|x| x as i64)") };
                let entry = if float { "fold_f64" } else { "fold_i64" };
                (entry, if conds.is_empty() { v } else { format!("if {cond} {{ {v} }} else {{ None }}") })
            }
            (_, None) => unreachable!("only COUNT goes without an argument"),
        };
        // `fold_i64` checks integer sums (an overflow is an error); the others cannot fail.
        let check = if entry == "fold_i64" { "?" } else { "" };
        let _ = if seg.is_empty() && value == "true" {
            writeln!(batch_folds, "tab.{entry}({a}, &gids, at, |_| true){check};")
        } else {
            writeln!(batch_folds, "tab.{entry}({a}, &gids, at, |row| {{\n{seg}    {value}\n}}){check};")
        };
        for (out, fold) in [(&mut update, fold), (&mut folds, reg_fold)] {
            let _ = match (&call.func, &arg, conds.is_empty()) {
                (AggFunc::Count, _, true) | (_, None, true) => writeln!(out, "            {fold};"),
                (AggFunc::Count, _, false) | (_, None, false) => writeln!(out, "            if {cond} {{ {fold}; }}"),
                (_, Some(v), true) => writeln!(out, "            if let Some(x) = {v} {{ {fold}; }}"),
                (_, Some(v), false) => {
                    writeln!(out, "            if let (Some(x), true) = ({v}, {cond}) {{ {fold}; }}")
                }
            };
        }
    }
    update.push_str("        }");
    let batch_update = key_var.as_ref().map(|v| {
        format!(
            "tab.groups_int(at..upto, &mut gids, |row| {{\n{}    Ok::<_, darwin_exec::darwin_runtime::RuntimeError>({v}.map(|x| x as i64))\n}})?;\n{batch_folds}",
            dedent(&key_code, 4)
        )
    });
    // The table lookup and the registers' store and load happen only when the window changes.
    let table_update = if registers {
        format!(
            "if cur != Some((start, end)) {{\n            if let Some((s, e)) = cur {{\n                \
             let tab = st.table(s, e);\n{stores}            }}\n            cur = Some((start, end));\n            \
             let tab = st.table(start, end);\n            let g = tab.group_single();\n{loads}        }}\n{}",
            dedent(&folds, 4)
        )
    } else {
        format!("let tab = st.table(start, end);\n        {update}\n")
    };

    let _ = writeln!(
        out,
        "fn agg_{key:016x}(b: &Batch, st: &mut k::WindowTables) -> Result<()> {{\n    let n = b.num_rows;"
    );
    out.push_str(&k.prelude);
    if batch_update.is_some() {
        out.push_str("    let mut gids = std::mem::take(&mut st.row_groups);\n");
    }
    let fallible = !errors.is_empty();
    if fallible {
        out.push_str("    let mut reached = false;\n");
    }
    for e in &errors {
        let _ = writeln!(out, "    let mut {e}: Option<darwin_exec::darwin_runtime::error::RuntimeError> = None;");
    }
    // Only needed to decide whether deferred errors count.
    let reached = if fallible { "reached = true;\n        " } else { "" };
    let body = match spec {
        WindowSpec::Assign { window, time_col } => {
            let _ = writeln!(
                out,
                "    let dt = k::i64s(&b.columns[{time_col}]);\n    let vt = k::validity(&b.columns[{time_col}]);"
            );
            let head = "        if !vt.is_none_or(|m| m[row]) {\n            st.late += 1;\n            continue;\n        }\n        let ts = dt[row];\n";
            match window {
                WindowKind::Tumble { size } => {
                    // Rows mostly arrive in time order: a row inside the window of the row before
                    // it takes that window without a division (as the interpreter does).
                    out.push_str("    let (mut lo, mut hi) = (0i64, i64::MIN);\n");
                    format!(
                        "{head}        if !(lo <= ts && ts < hi) {{\n            lo = ts - ts.rem_euclid({size}i64);\n            \
                         hi = lo + {size}i64;\n        }}\n        let (start, end) = (lo, hi);\n        \
                         if end - 1 <= st.watermark {{\n            st.late += 1;\n            continue;\n        }}\n        \
                         {reached}{table_update}"
                    )
                }
                WindowKind::Hop { slide, size } => {
                    // A row late for some of its windows counts once. Windows are visited
                    // oldest first, the order the window tables' hint follows.
                    let (note, count) = ("a row late for some of them counts once", "u64::from(late > 0)");
                    format!(
                        "{head}        // every window of the row ({note})\n        let mut late = 0u64;\n        \
                         let last = ts - ts.rem_euclid({slide}i64);\n        let mut start = last;\n        \
                         while start - {slide}i64 > ts - {size}i64 {{\n            start -= {slide}i64;\n        }}\n        \
                         while start <= last && start > ts - {size}i64 {{\n            let end = start + {size}i64;\n            \
                         if end - 1 <= st.watermark {{\n                late += 1;\n            }} else {{\n                \
                         {}let tab = st.table(start, end);\n                {}\n            }}\n            \
                         start += {slide}i64;\n        }}\n        st.late += {count};\n",
                        reached.replace("\n        ", "\n                "),
                        update.replace("\n", "\n        ")
                    )
                }
                WindowKind::Session { .. } => unreachable!("sessions have no kernel"),
            }
        }
        WindowSpec::Existing { start_col, end_col } => {
            let _ = writeln!(
                out,
                "    let ds = k::i64s(&b.columns[{start_col}]);\n    let vs = k::validity(&b.columns[{start_col}]);\n    \
                 let de = k::i64s(&b.columns[{end_col}]);\n    let ve = k::validity(&b.columns[{end_col}]);"
            );
            format!(
                "        if !(vs.is_none_or(|m| m[row]) && ve.is_none_or(|m| m[row])) {{\n            st.late += 1;\n            \
                 continue;\n        }}\n        let (start, end) = (ds[row], de[row]);\n        \
                 if end - 1 <= st.watermark {{\n            st.late += 1;\n            continue;\n        }}\n        \
                 {reached}{table_update}"
            )
        }
        WindowSpec::Slices { .. } => unreachable!("the merge of slices has no kernel"),
    };
    if registers {
        out.push_str("    let mut cur: Option<(i64, i64)> = None;\n");
        out.push_str(&regs);
    }
    let general = format!("    for row in 0..n {{\n{row}{body}    }}\n");
    match spec {
        WindowSpec::Assign { window: WindowKind::Hop { slide, size }, .. } if batch_update.is_none() => {
            // Without a key: rows with one set of windows (rows in time order within a slide)
            // are folded window by window, with one table lookup per window and no per-row
            // window or lateness check, when all of those windows are open.
            let _ = write!(
                out,
                "    if let Some((first, last)) = k::hop_windows(dt, vt, {slide}i64, {size}i64, st.watermark) {{\n        \
                 {}let mut start = first;\n        while start <= last {{\n            \
                 let tab = st.table(start, start + {size}i64);\n            for row in 0..n {{\n{}                {}\n            \
                 }}\n            start += {slide}i64;\n        }}\n    }} else {{\n{}    }}\n",
                reached.replace("\n        ", "\n            "),
                indent(&row, 8),
                update.replace('\n', "\n        "),
                indent(&general, 4)
            );
        }
        _ if batch_update.is_some() || registers => {
            // The batch goes in runs of rows in one set of open windows (rows in time order
            // make one run, or a few where the batch crosses windows; the rows of a merged
            // slice or of one window's partial rows make one), with no per-row window or
            // lateness check. With a key, per run, one table lookup per window, the groups of
            // all its rows, then each aggregate folded over the run; without, the run folds
            // into the registers of its window. A row that starts no run (NULL time, late)
            // takes the per-row code alone.
            let batch = match &batch_update {
                Some(b) => b.clone(),
                None => format!(
                    "if cur != Some((start, end)) {{\n    if let Some((s, e)) = cur {{\n        \
                     let tab = st.table(s, e);\n{}    }}\n    cur = Some((start, end));\n    \
                     let tab = st.table(start, end);\n    let g = tab.group_single();\n{}}}\n\
                     for row in at..upto {{\n{}{}}}\n",
                    dedent(&stores, 8),
                    dedent(&loads, 8),
                    dedent(&row, 4),
                    dedent(&folds, 8)
                ),
            };
            let batch = batch.as_str();
            // The registers switch tables themselves, when the run's window is another.
            let table = |batch: &str| {
                if batch_update.is_none() {
                    batch.to_string()
                } else {
                    format!("let tab = st.table(start, end);\n{batch}")
                }
            };
            let (run, windows) = match spec {
                WindowSpec::Assign { window: WindowKind::Tumble { size }, .. } => (
                    format!("let Some((start, end, upto)) = k::tumble_run(dt, vt, at, {size}i64, st.watermark)"),
                    table(batch),
                ),
                WindowSpec::Assign { window: WindowKind::Hop { slide, size }, .. } => (
                    format!("let Some((first, last, upto)) = k::hop_run(dt, vt, at, {slide}i64, {size}i64, st.watermark)"),
                    format!(
                        "let mut start = first;\nwhile start <= last {{\n    let tab = st.table(start, start + {size}i64);\n{}    \
                         start += {slide}i64;\n}}\n",
                        indent(batch, 4)
                    ),
                ),
                WindowSpec::Existing { .. } => (
                    "let Some((start, end, upto)) = k::window_run(ds, vs, de, ve, at, st.watermark)".into(),
                    table(batch),
                ),
                WindowSpec::Assign { window: WindowKind::Session { .. }, .. } => unreachable!("sessions have no kernel"),
                WindowSpec::Slices { .. } => unreachable!("the merge of slices has no kernel"),
            };
            let one_row = general.replacen("for row in 0..n", "for row in at..at + 1", 1);
            let _ = write!(
                out,
                "    let mut at = 0usize;\n    while at < n {{\n        if {run} {{\n            {}{}            at = upto;\n        \
                 }} else {{\n{}            at += 1;\n        }}\n    }}\n",
                reached.replace("\n        ", "\n            "),
                indent(&windows, 12).trim_start(),
                indent(&one_row, 8)
            );
        }
        _ => out.push_str(&general),
    }
    if registers {
        let _ = write!(
            out,
            "    if let Some((s, e)) = cur {{\n        let tab = st.table(s, e);\n{}    }}\n",
            dedent(&stores, 8)
        );
    }
    if batch_update.is_some() {
        out.push_str("    st.row_groups = gids;\n");
    }
    if fallible {
        out.push_str("    if reached {\n");
        for r in &errors {
            let _ = writeln!(out, "        if let Some(e) = {r} {{\n            return Err(e);\n        }}");
        }
        out.push_str("    }\n");
    }
    out.push_str("    Ok(())\n}\n");
    out
}

/// `code` with `by` more spaces at the start of every line.
fn indent(code: &str, by: usize) -> String {
    code.lines().map(|l| format!("{:by$}{l}\n", "")).collect()
}

/// `code` with `by` fewer spaces at the start of every line.
fn dedent(code: &str, by: usize) -> String {
    code.lines().map(|l| format!("{}\n", l.get(by..).unwrap_or(""))).collect()
}

/// Emits `e` into the row code as `let {name} = ...`; an expression that can fail is evaluated in
/// a closure whose first error is kept in `err_{name}` (added to `errors`) instead of
/// returned at once. With `presence`, only whether the value is NULL is kept (`Option<()>`).
/// Returns `name`.
fn deferred(
    k: &mut expr::Kernel,
    e: &darwin_plan::Expr,
    name: &str,
    presence: bool,
    row: &mut String,
    errors: &mut Vec<String>,
) -> String {
    let v = k.expr(e);
    let code = std::mem::take(&mut k.body);
    let (ty, v) =
        if presence { ("Option<()>".to_string(), format!("{v}.map(|_| ())")) } else { (expr::option_type(e.ty), v) };
    if code.contains('?') || code.contains("return Err") {
        errors.push(format!("err_{name}"));
        let _ = writeln!(
            row,
            "        let {name}: {ty} = match (|| -> Result<{ty}> {{\n{}            Ok({v})\n        }})() {{\n            \
             Ok(x) => x,\n            Err(e) => {{\n                err_{name}.get_or_insert(e);\n                None\n            }}\n        }};",
            code.replace("\n        ", "\n            ").replacen("        ", "            ", 1)
        );
    } else {
        row.push_str(&code);
        let _ = writeln!(row, "        let {name}: {ty} = {v};");
    }
    name.to_string()
}
