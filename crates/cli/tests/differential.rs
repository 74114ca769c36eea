//! Differential tests: random tables and randomly generated queries over the supported grammar,
//! run by the engine (with random batch sizes and several source partitions) and by the
//! reference evaluator; the results must be equal as multisets. Inputs are in event-time order
//! per partition with a watermark delay, so no record is late and batch semantics apply.
//! A failure prints the seed, the query and both results.

use darwin_common::{DataType, Value};
use darwin_connectors::Registry;
use darwin_plan::{SinkTarget, TableDef};
use darwin_reference::Row;
use darwin_runtime::{Batch, ConnectorFactory, SinkWriter, SourceReader};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const BASE: i64 = 1_704_067_200_000; // 2024-01-01 00:00:00

struct Capture {
    rows: Arc<Mutex<Vec<Row>>>,
}

struct CaptureSink {
    types: Vec<DataType>,
    rows: Arc<Mutex<Vec<Row>>>,
}

impl SinkWriter for CaptureSink {
    fn write(&mut self, batch: &Batch) -> darwin_runtime::Result<()> {
        let mut rows = self.rows.lock().expect("not poisoned");
        for i in 0..batch.num_rows {
            rows.push(batch.row(i, &self.types));
        }
        Ok(())
    }
    fn finish(&mut self) -> darwin_runtime::Result<()> {
        Ok(())
    }
}

impl ConnectorFactory for Capture {
    fn open_source(&self, table: &TableDef, partitions: usize) -> darwin_runtime::Result<Box<dyn SourceReader>> {
        Registry.open_source(table, partitions)
    }
    fn open_sink(
        &self,
        target: &SinkTarget,
        _: &darwin_runtime::SinkContext,
    ) -> darwin_runtime::Result<Box<dyn SinkWriter>> {
        let schema = match target {
            SinkTarget::Stdout { schema } => schema.clone(),
            SinkTarget::Table(t) => t.schema.clone(),
        };
        Ok(Box::new(CaptureSink { types: schema.types(), rows: self.rows.clone() }))
    }
}

struct Data {
    tables: HashMap<String, Vec<Row>>,
    dir: PathBuf,
}

fn csv_value(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Str(s) if s.is_empty() => "\"\"".into(),
        Value::Timestamp(t) => darwin_common::time::format_timestamp(*t),
        other => other.to_string(),
    }
}

/// Writes a table as CSV files, split into `parts` files (partitions), each in time order.
fn write_table(dir: &Path, name: &str, rows: &[Row], parts: usize) {
    let tdir = dir.join(name);
    std::fs::create_dir_all(&tdir).expect("temp dir");
    let mut files = vec![String::new(); parts];
    for (i, r) in rows.iter().enumerate() {
        let line: Vec<String> = r.iter().map(csv_value).collect();
        files[i % parts].push_str(&(line.join(",") + "\n"));
    }
    for (p, text) in files.iter().enumerate() {
        std::fs::write(tdir.join(format!("part-{p}.csv")), text).expect("write");
    }
}

fn gen_data(rng: &mut StdRng, dir: &Path) -> Data {
    let mut tables = HashMap::new();
    let strs = ["a", "b", "ab", "ba", ""];
    // Some tables hold INT values at the edges of the type, so sums and arithmetic overflow:
    // both sides must then fail alike, or agree on a value that fits. (Not BIGINT: a running
    // BIGINT sum over values of both signs near the limits may fail in one order and not in
    // another, a documented weakness.)
    let edge = rng.gen_bool(0.2);
    let int = [i32::MAX, i32::MIN, i32::MAX - 1, -1, 0, 1];
    for (name, n) in [("t", rng.gen_range(0..70)), ("w", rng.gen_range(0..50))] {
        let mut ts = BASE + rng.gen_range(0..20) * 250;
        let mut rows = Vec::new();
        for _ in 0..n {
            // Quarter-second steps: window and interval boundaries are hit exactly and often.
            ts += rng.gen_range(0..10) * 250;
            let k = if rng.gen_bool(0.1) { Value::Null } else { Value::BigInt(rng.gen_range(0..5)) };
            let v = if rng.gen_bool(0.1) { Value::Null } else { Value::Int(rng.gen_range(-20..20)) };
            let v = if edge && rng.gen_bool(0.3) { Value::Int(int[rng.gen_range(0..int.len())]) } else { v };
            let s = if rng.gen_bool(0.1) { Value::Null } else { Value::Str(strs[rng.gen_range(0..strs.len())].into()) };
            rows.push(vec![k, v, s, Value::Timestamp(ts)]);
        }
        write_table(dir, name, &rows, rng.gen_range(1..=3));
        tables.insert(name.to_string(), rows);
    }
    let mut u = Vec::new();
    for k in 0..5 {
        for _ in 0..rng.gen_range(0..3) {
            u.push(vec![Value::BigInt(k), Value::Str(format!("n{}", rng.gen_range(0..4)))]);
        }
    }
    write_table(dir, "u", &u, 1);
    tables.insert("u".into(), u);
    Data { tables, dir: dir.to_path_buf() }
}

fn ddl(d: &Data) -> String {
    let p = |n: &str| d.dir.join(n).display().to_string();
    format!(
        "CREATE TABLE t (k BIGINT, v INT, s VARCHAR, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv');\n\
         CREATE TABLE w (k BIGINT, v INT, s VARCHAR, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv');\n\
         CREATE TABLE u (k BIGINT, name VARCHAR) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv');\n",
        p("t"),
        p("w"),
        p("u")
    )
}

fn int_expr(rng: &mut StdRng, q: &str, depth: u32) -> String {
    if depth == 0 || rng.gen_bool(0.35) {
        return match rng.gen_range(0..3) {
            0 => format!("{q}k"),
            1 => format!("{q}v"),
            _ => rng.gen_range(-5..6).to_string(),
        };
    }
    let a = int_expr(rng, q, depth - 1);
    let b = int_expr(rng, q, depth - 1);
    match rng.gen_range(0..7) {
        0 => format!("({a} + {b})"),
        1 => format!("({a} - {b})"),
        2 => format!("({a} * {b})"),
        3 => format!("CASE WHEN {} THEN {a} ELSE {b} END", predicate(rng, q, depth - 1)),
        4 => format!("ABS({a})"),
        5 => format!("COALESCE({a}, {})", rng.gen_range(-3..4)),
        _ => format!("MOD({a}, {})", rng.gen_range(1..4)),
    }
}

fn predicate(rng: &mut StdRng, q: &str, depth: u32) -> String {
    if depth == 0 || rng.gen_bool(0.4) {
        let a = int_expr(rng, q, 1);
        return match rng.gen_range(0..8) {
            0 => format!("{a} < {}", int_expr(rng, q, 1)),
            1 => format!("{a} = {}", int_expr(rng, q, 1)),
            2 => format!("{a} <> {}", rng.gen_range(-3..4)),
            3 => format!("{a} IS NULL"),
            4 => format!("{a} BETWEEN {} AND {}", rng.gen_range(-10..0), rng.gen_range(0..10)),
            5 => format!("{a} IN ({}, {}, NULL)", rng.gen_range(-3..4), rng.gen_range(-3..4)),
            6 => format!("{q}s LIKE '{}'", ["a%", "%a", "_", "%", "b_"][rng.gen_range(0..5)]),
            _ => format!("{q}s = '{}'", ["a", "ab", ""][rng.gen_range(0..3)]),
        };
    }
    let a = predicate(rng, q, depth - 1);
    let b = predicate(rng, q, depth - 1);
    match rng.gen_range(0..3) {
        0 => format!("({a} AND {b})"),
        1 => format!("({a} OR {b})"),
        _ => format!("NOT ({a})"),
    }
}

fn aggs(rng: &mut StdRng) -> String {
    let all = [
        "COUNT(*)".to_string(),
        "COUNT(v)".into(),
        "SUM(v)".into(),
        "MIN(v)".into(),
        "MAX(s)".into(),
        "AVG(v)".into(),
        "COUNT(DISTINCT s)".into(),
        "SUM(k) FILTER (WHERE v > 0)".into(),
        format!("MAX({})", int_expr(rng, "", 2)),
        format!("MIN(s) FILTER (WHERE {})", predicate(rng, "", 1)),
    ];
    let n = rng.gen_range(1..4);
    (0..n).map(|_| all[rng.gen_range(0..all.len())].clone()).collect::<Vec<_>>().join(", ")
}

fn window(rng: &mut StdRng) -> (&'static str, String) {
    match rng.gen_range(0..3) {
        0 => ("TUMBLE", format!("INTERVAL '{}' SECOND", rng.gen_range(1..8))),
        1 => {
            let slide = rng.gen_range(1..4);
            ("HOP", format!("INTERVAL '{slide}' SECOND, INTERVAL '{}' SECOND", slide * rng.gen_range(1..4)))
        }
        _ => ("SESSION", format!("INTERVAL '{}' SECOND", rng.gen_range(1..5))),
    }
}

fn query(rng: &mut StdRng) -> String {
    let where_ = |rng: &mut StdRng| {
        if rng.gen_bool(0.5) {
            format!(" WHERE {}", predicate(rng, "", 2))
        } else {
            String::new()
        }
    };
    match rng.gen_range(0..8) {
        0 => format!("SELECT {}, {}, s, ts FROM t{}", int_expr(rng, "", 3), int_expr(rng, "", 2), where_(rng)),
        1 => {
            let (w, iv) = window(rng);
            let w = if w == "SESSION" { "TUMBLE" } else { w };
            let iv = if w == "TUMBLE" { format!("INTERVAL '{}' SECOND", rng.gen_range(1..8)) } else { iv };
            let having = if rng.gen_bool(0.3) { " HAVING COUNT(*) > 1" } else { "" };
            // Without a key, compiled TUMBLE windows fold runs of rows in registers.
            let k = if rng.gen_bool(0.3) { "" } else { ", k" };
            format!(
                "SELECT window_start, window_end{k}, {} FROM TABLE({w}(TABLE t, DESCRIPTOR(ts), {iv})){} GROUP BY window_start, window_end{k}{having}",
                aggs(rng),
                where_(rng)
            )
        }
        2 => {
            let (w, iv) = window(rng);
            format!(
                "SELECT k, {w}_START(ts, {iv}), {w}_END(ts, {iv}), {} FROM t{} GROUP BY {w}(ts, {iv}), k",
                aggs(rng),
                where_(rng)
            )
        }
        3 => format!("SELECT s, {} FROM t{} GROUP BY s", aggs(rng), where_(rng)),
        4 => {
            let join = if rng.gen_bool(0.5) { "LEFT JOIN" } else { "JOIN" };
            // Right-side conditions above a LEFT JOIN must not be pushed into its right input.
            let right =
                ["u.name IS NULL", "u.name = 'n1'", "u.name <> 'n2'", "u.name IS NOT NULL"][rng.gen_range(0..4)];
            let conj = if rng.gen_bool(0.5) { "AND" } else { "OR" };
            format!(
                "SELECT t.k, t.v, u.name, t.ts FROM t {join} u ON t.k = u.k WHERE {} {conj} {right}",
                predicate(rng, "t.", 1)
            )
        }
        5 => {
            let size = rng.gen_range(1..6);
            let side = |tab: &str| {
                format!("SELECT k, COUNT(*) AS c, window_start AS ws, window_end AS we FROM TABLE(TUMBLE(TABLE {tab}, DESCRIPTOR(ts), INTERVAL '{size}' SECOND)) GROUP BY k, window_start, window_end")
            };
            // The same table on both sides: one aggregate sub-plan, computed once and read twice.
            let other = if rng.gen_bool(0.5) { "w" } else { "t" };
            match rng.gen_range(0..3) {
                0 => format!(
                    "SELECT a.k, a.c, b.c, a.ws FROM ({}) a JOIN ({}) b ON a.k = b.k AND a.ws = b.ws AND a.we = b.we",
                    side("t"),
                    side(other)
                ),
                // Nexmark q5's shape: the rows whose count is the window's largest.
                _ => format!(
                    "SELECT a.k, a.c, a.ws FROM ({}) a JOIN (SELECT MAX(c) AS m, ws, we FROM ({}) x GROUP BY ws, we) b \
                     ON a.ws = b.ws AND a.we = b.we AND a.c >= b.m",
                    side("t"),
                    side(other)
                ),
            }
        }
        6 => {
            let (lo, hi) = (rng.gen_range(0..4), rng.gen_range(0..4));
            format!("SELECT t.k, t.v, w.v, t.ts, w.ts FROM t JOIN w ON t.k = w.k WHERE t.ts BETWEEN w.ts - INTERVAL '{lo}' SECOND AND w.ts + INTERVAL '{hi}' SECOND")
        }
        _ => {
            let gap = rng.gen_range(1..5);
            format!("SELECT k, window_start, window_end, {} FROM TABLE(SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), INTERVAL '{gap}' SECOND)) GROUP BY k, window_start, window_end", aggs(rng))
        }
    }
}

fn canonical(rows: &[Row]) -> Vec<String> {
    let mut v: Vec<String> =
        rows.iter().map(|r| r.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>().join(" | ")).collect();
    v.sort();
    v
}

/// One random case: its data (written under `root`), query, batch size, script and workers.
struct Case {
    data: Data,
    q: String,
    batch: usize,
    sql: String,
    workers: usize,
}

fn case(seed: u64, root: &Path) -> Case {
    let mut rng = StdRng::seed_from_u64(seed);
    let data = gen_data(&mut rng, &root.join(seed.to_string()));
    let q = query(&mut rng);
    let batch = [1, 2, 7, 4096][rng.gen_range(0..4)];
    let sql = format!("{}SET 'batch-size' = '{batch}';\n{q};", ddl(&data));
    let workers = rng.gen_range(1..=3);
    Case { data, q, batch, sql, workers }
}

#[test]
fn engine_matches_reference_on_random_queries() {
    let root = std::env::temp_dir().join(format!("darwin-diff-{}", std::process::id()));
    let mut failures = Vec::new();
    let (mut compared, mut rejected) = (0, 0);
    for seed in 0..250u64 {
        let Case { data, q, batch, sql, workers } = case(seed, &root);
        let compiled = match darwin::compile(
            &sql,
            &darwin::Options { parallelism: Some(workers), batch_size: None, ..Default::default() },
        ) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("seed {seed}: the generated query does not compile:\n{q}\n{e}"));
                continue;
            }
        };
        let rows = Arc::new(Mutex::new(Vec::new()));
        let engine = darwin_runtime::run(&compiled.physical, &Capture { rows: rows.clone() }, &mut ());
        let reference =
            darwin_reference::evaluate(&compiled.logical[0].1, &|t: &TableDef| data.tables[&t.name].clone());
        match (engine, reference) {
            (Ok(summary), Ok(want)) => {
                assert_eq!(summary.late_records, 0, "seed {seed}: no record should be late in ordered input");
                let (got, want) = (canonical(&rows.lock().expect("not poisoned")), canonical(&want));
                if got != want {
                    failures.push(format!("seed {seed} (batch size {batch}, {workers} workers):\n{q}\n--- reference ({} rows)\n{}\n--- engine ({} rows)\n{}", want.len(), want.join("\n"), got.len(), got.join("\n")));
                }
                compared += 1;
            }
            (Err(_), Err(_)) => rejected += 1, // both reject the input (an arithmetic error): consistent
            (e, r) => failures.push(format!("seed {seed}: engine {:?} vs reference {:?}\n{q}", e.err(), r.err())),
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    assert!(
        failures.is_empty(),
        "{} differential failures:\n\n{}",
        failures.len(),
        failures.iter().take(3).cloned().collect::<Vec<_>>().join("\n\n")
    );
    assert!(compared >= 200, "only {compared} queries were compared");
    assert!(rejected >= 3, "only {rejected} queries overflowed on both sides: the edge values are not reached");
}

/// Runs the `darwin` binary on a script; returns (success, sorted stdout lines, the error line).
fn run_binary(sql: &str, workers: usize, mode: &str) -> (bool, Vec<String>, String) {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("darwin-compile-cache");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_darwin"))
        .args(["run", "-e", sql, "--parallelism", &workers.to_string(), "--mode", mode, "--cache-dir"])
        .arg(&cache)
        .output()
        .expect("darwin runs");
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect();
    lines.sort();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Only the interpreter names the row an error happened on: compared without it.
    let without_row = |l: &str| l.split(", on the row (").next().unwrap_or(l).to_string();
    let error = stderr.lines().filter(|l| l.starts_with("error:")).map(without_row).collect::<Vec<_>>().join("\n");
    (out.status.success(), lines, error)
}

/// Compiled mode against the interpreter on random queries (the interpreter is checked against the
/// reference evaluator above): same rows, or the same error.
#[test]
fn compiled_matches_interpreted_on_random_queries() {
    let root = std::env::temp_dir().join(format!("darwin-diff-compiled-{}", std::process::id()));
    let mut failures = Vec::new();
    let seeds = 1000..1080u64;
    for seed in seeds.clone() {
        let Case { q, batch, sql, workers, .. } = case(seed, &root);
        let interpreted = run_binary(&sql, workers, "interpreted");
        let compiled = run_binary(&sql, workers, "compiled");
        // A failed run's printed rows are those that reached stdout before the error, which
        // depends on thread timing: failures compare by their error alone.
        let both_failed = !interpreted.0 && !compiled.0;
        let differ = if both_failed { interpreted.2 != compiled.2 } else { interpreted != compiled };
        if differ {
            failures.push(format!(
                "seed {seed} ({workers} workers, batch {batch}):\n{q}\n--- interpreted {:?}: {} lines\n{}\n--- compiled {:?}: {} lines\n{}",
                interpreted.0,
                interpreted.1.len(),
                interpreted.2,
                compiled.0,
                compiled.1.len(),
                compiled.2
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    assert!(failures.is_empty(), "{} of {} differ:\n\n{}", failures.len(), seeds.count(), failures.join("\n\n"));
}
