//! Compiled mode from the outside: the generated code, the executor `auto` picks, and what
//! happens without a Rust toolchain. (Results in both modes: sql_cases.rs and differential.rs.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("darwin-compile-cache")
}

const QUERY: &str = "CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, \
     date_time TIMESTAMP(3), extra VARCHAR) WITH ('connector' = 'nexmark', 'table' = 'bid', 'events' = '20000');
     SELECT auction, price * 2 AS doubled, UPPER(channel) FROM bid WHERE price > 1000 AND url LIKE '%a%' \
     AND channel <> 'it''s \"}; std::process::exit(3); //'";

fn darwin(args: &[&str], no_toolchain: bool) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_darwin"));
    c.args(args);
    if args[0] == "run" {
        c.arg("--cache-dir").arg(cache());
    }
    if no_toolchain {
        // Nothing on PATH and no cargo/rustc named by the environment: as on a machine without Rust.
        c.env("PATH", "/nonexistent").env_remove("CARGO").env_remove("RUSTC");
    }
    c.output().expect("darwin runs")
}

fn sorted_stdout(o: &Output) -> Vec<String> {
    let mut v: Vec<String> = String::from_utf8_lossy(&o.stdout).lines().map(String::from).collect();
    v.sort();
    v
}

#[test]
fn auto_uses_compiled_code_when_a_toolchain_is_present_and_says_so() {
    let interpreted = darwin(&["run", "-e", QUERY, "--mode", "interpreted"], false);
    assert!(interpreted.status.success(), "{}", String::from_utf8_lossy(&interpreted.stderr));
    let auto = darwin(&["run", "-e", QUERY, "--mode", "auto"], false);
    let err = String::from_utf8_lossy(&auto.stderr);
    assert!(auto.status.success(), "{err}");
    assert!(err.contains("executor: compiled"), "auto names the executor it used: {err}");
    assert_eq!(sorted_stdout(&auto), sorted_stdout(&interpreted));
    assert!(sorted_stdout(&auto).len() > 100, "the query selects rows");
}

#[test]
fn without_a_toolchain_compiled_fails_clearly_and_auto_falls_back() {
    let compiled = darwin(&["run", "-e", QUERY, "--mode", "compiled"], true);
    let err = String::from_utf8_lossy(&compiled.stderr);
    assert!(!compiled.status.success());
    assert!(err.contains("compiled mode needs the Rust toolchain"), "names what is missing: {err}");
    assert!(err.contains("'cargo' could not be run") && err.contains("--mode interpreted"), "{err}");
    let auto = darwin(&["run", "-e", QUERY, "--mode", "auto"], true);
    let err = String::from_utf8_lossy(&auto.stderr);
    assert!(auto.status.success(), "{err}");
    assert!(err.contains("executor: interpreted (--mode auto fell back"), "says it fell back: {err}");
    let interpreted = darwin(&["run", "-e", QUERY], true);
    assert_eq!(sorted_stdout(&auto), sorted_stdout(&interpreted));
}

#[test]
fn explain_code_prints_safe_generated_rust() {
    let out = darwin(&["explain", "--code", "-e", QUERY], false);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let code = String::from_utf8_lossy(&out.stdout);
    assert!(code.contains("#![forbid(unsafe_code)]"), "{code}");
    assert!(code.contains("// Plan node: Calc in pipeline 0 (SELECT to stdout)"), "{code}");
    // The literal arrives escaped: its quote cannot end the Rust string.
    assert!(code.contains(r#"Some("it's \"}; std::process::exit(3); //")"#), "{code}");
    assert!(!code.lines().any(|l| l.trim_start().starts_with("std::process::exit(3)")), "{code}");
    // Expressions are inlined as typed code, not an expression tree.
    assert!(code.contains("x.checked_mul(y)") && code.contains("k::like("), "{code}");
}

#[test]
fn a_binary_refuses_a_plan_it_was_not_generated_for() {
    // Compile one query, then hand its binary another plan: it must refuse, not run wrong code.
    let first = darwin(&["run", "-e", QUERY, "--mode", "compiled"], false);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let err = String::from_utf8_lossy(&first.stderr);
    let line = err.lines().find(|l| l.contains("executor: compiled")).expect("names the binary");
    let binary = line.rsplit(": ").next().unwrap().trim_end_matches(')');
    let other = darwin::compile(&QUERY.replace("1000", "2000"), &darwin::Options::default()).unwrap();
    let job = darwin_exec::child::RunJob { plan: other.physical, checkpoint: None, progress: false };
    match darwin_exec::child::spawn::<_, darwin_runtime::RunSummary>(Path::new(binary), &job, &mut || None) {
        Ok(Err(m)) => assert!(m.contains("was generated for plan"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn numeric_casts_are_inlined_like_the_interpreters_fast_paths() {
    // Regression: Nexmark q1's `0.908 * price` went through the per-value slow path (15x slower).
    let q = "CREATE TABLE bid (price BIGINT) WITH ('connector' = 'nexmark', 'table' = 'bid', 'events' = '10');
             SELECT 0.908 * price, CAST(price / 2 AS DECIMAL(21, 2)), CAST(0.5 * price AS DOUBLE) FROM bid";
    let out = darwin(&["explain", "--code", "-e", q], false);
    let code = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!code.contains("cast_one"), "{code}");
    assert!(code.contains("k::to_decimal(x as i128") && code.contains("x as f64 / 10f64.powi("), "{code}");
}

#[test]
fn every_example_gives_the_same_result_compiled() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let mut n = 0;
    for f in std::fs::read_dir(dir).expect("examples/") {
        let path = f.expect("entry").path();
        if path.extension().is_none_or(|e| e != "sql") {
            continue;
        }
        let p = path.to_str().expect("utf-8 path");
        let summary = |o: &Output| -> Vec<String> {
            let err = String::from_utf8_lossy(&o.stderr).into_owned();
            err.lines()
                .filter(|l| l.starts_with("sink ") || l.starts_with("source ") || l.starts_with("late "))
                .map(String::from)
                .collect()
        };
        // One worker: which records are late is then deterministic, so the runs compare exactly.
        let interpreted = darwin(&["run", p, "--parallelism", "1"], false);
        let compiled = darwin(&["run", p, "--parallelism", "1", "--mode", "compiled"], false);
        assert!(compiled.status.success(), "{p}: {}", String::from_utf8_lossy(&compiled.stderr));
        assert_eq!(sorted_stdout(&compiled), sorted_stdout(&interpreted), "{p}");
        assert_eq!(summary(&compiled), summary(&interpreted), "{p}");
        n += 1;
    }
    assert!(n >= 8, "expected the examples, found {n}");
}

/// Random typed expressions over every column type, for compiled-vs-interpreted comparison.
mod zoo {
    use rand::rngs::StdRng;
    use rand::Rng;

    pub const COLUMNS: &str = "i INT, b BIGINT, d DOUBLE, m DECIMAL(10, 2), s VARCHAR, f BOOLEAN, t TIMESTAMP(3)";

    /// One CSV row; empty fields are NULL.
    pub fn row(rng: &mut StdRng, n: usize) -> String {
        let null = |rng: &mut StdRng| rng.gen_bool(0.15);
        let mut f: Vec<String> = vec![
            rng.gen_range(-20..20).to_string(),
            rng.gen_range(-1_000_000i64..1_000_000).to_string(),
            format!("{:.3}", rng.gen_range(-100.0..100.0)),
            format!("{}.{:02}", rng.gen_range(-500..500), rng.gen_range(0..100)),
            ["abc", "a b", "Zed", "", "xyz9", "aa"][rng.gen_range(0..6)].to_string(),
            ["true", "false"][rng.gen_range(0..2)].to_string(),
            format!("2024-01-01 00:{:02}:{:02}.{:03}", n / 60 % 60, n % 60, rng.gen_range(0..1000)),
        ];
        for x in f.iter_mut().take(6) {
            if null(rng) {
                x.clear();
            }
        }
        f.join(",")
    }

    pub fn expr(rng: &mut StdRng, ty: &str, depth: u32) -> String {
        let leaf = depth == 0 || rng.gen_bool(0.3);
        let d = depth.saturating_sub(1);
        macro_rules! e {
            ($t:expr) => {
                expr(rng, $t, d)
            };
        }
        let pick = rng.gen_range(0..10usize);
        match ty {
            "INT" if leaf => ["i", "3", "-2", "0"][pick % 4].into(),
            "INT" => match pick {
                0 => format!("({} + {})", e!("INT"), e!("INT")),
                1 => format!("({} * {})", e!("INT"), e!("INT")),
                2 => format!("({} / NULLIF({}, 0))", e!("INT"), e!("INT")),
                3 => format!("MOD({}, NULLIF({}, 0))", e!("INT"), e!("INT")),
                4 => format!("-({})", e!("INT")),
                5 => format!("CASE WHEN {} THEN {} ELSE {} END", e!("BOOLEAN"), e!("INT"), e!("INT")),
                6 => format!("COALESCE({}, {})", e!("INT"), e!("INT")),
                7 => format!("NULLIF({}, {})", e!("INT"), e!("INT")),
                8 => format!("CHAR_LENGTH({})", e!("VARCHAR")),
                _ => format!("ABS({})", e!("INT")),
            },
            "BIGINT" if leaf => ["b", "7", "CAST(i AS BIGINT)"][pick % 3].into(),
            "BIGINT" => match pick % 4 {
                0 => format!("({} - {})", e!("BIGINT"), e!("BIGINT")),
                1 => format!("({} * {})", e!("BIGINT"), e!("INT")),
                2 => format!("IF({}, {}, {})", e!("BOOLEAN"), e!("BIGINT"), e!("BIGINT")),
                _ => format!("({} / {})", e!("BIGINT"), e!("BIGINT")),
            },
            "DOUBLE" if leaf => ["d", "1.5E0", "CAST(i AS DOUBLE)"][pick % 3].into(),
            "DOUBLE" => match pick % 5 {
                0 => format!("({} * {})", e!("DOUBLE"), e!("DOUBLE")),
                1 => format!("({} / {})", e!("DOUBLE"), e!("DOUBLE")),
                2 => format!("SQRT(ABS({}))", e!("DOUBLE")),
                3 => format!("FLOOR({})", e!("DOUBLE")),
                _ => format!("CAST({} AS DOUBLE)", e!("DECIMAL")),
            },
            "DECIMAL" if leaf => ["m", "1.25", "CAST(b AS DECIMAL(20, 2))"][pick % 3].into(),
            "DECIMAL" => match pick % 3 {
                0 => format!("({} + {})", e!("DECIMAL"), e!("DECIMAL")),
                1 => format!("({} * 2)", e!("DECIMAL")),
                _ => format!("(0.5 * {})", e!("DECIMAL")),
            },
            "VARCHAR" if leaf => ["s", "'q''x'", "CAST(i AS VARCHAR)"][pick % 3].into(),
            "VARCHAR" => match pick % 7 {
                0 => format!("({} || {})", e!("VARCHAR"), e!("VARCHAR")),
                1 => format!("UPPER({})", e!("VARCHAR")),
                2 => format!("LOWER({})", e!("VARCHAR")),
                3 => format!("SUBSTRING({} FROM 2 FOR 2)", e!("VARCHAR")),
                4 => format!("REPLACE({}, 'a', 'Q')", e!("VARCHAR")),
                5 => format!("CONCAT({}, '-', {})", e!("VARCHAR"), e!("VARCHAR")),
                _ => format!("TRIM({})", e!("VARCHAR")),
            },
            "BOOLEAN" if leaf => ["f", "(i > 0)", "(s = 'abc')", "(d < 0.0E0)", "(m >= 1.00)"][pick % 5].into(),
            _ => match pick % 8 {
                0 => format!("({} AND {})", e!("BOOLEAN"), e!("BOOLEAN")),
                1 => format!("({} OR {})", e!("BOOLEAN"), e!("BOOLEAN")),
                2 => format!("NOT {}", e!("BOOLEAN")),
                3 => format!("({} IS NULL)", e!(["INT", "VARCHAR", "DOUBLE"][pick % 3])),
                4 => format!("({} LIKE '{}')", e!("VARCHAR"), ["%a%", "_b%", "Z%", "%"][pick % 4]),
                5 => format!("({} <= {})", e!("VARCHAR"), e!("VARCHAR")),
                6 => format!("({} <> {})", e!("DOUBLE"), e!("DOUBLE")),
                _ => "(t + INTERVAL '1' SECOND > TIMESTAMP '2024-01-01 00:00:30')".to_string(),
            },
        }
    }
}

/// An error line without the expression it is told in: where several expressions of a batch
/// fail, the interpreter (an expression at a time) and compiled code (a row at a time) may
/// meet a different one first; the error itself must be the same.
fn without_context(line: &str) -> String {
    line.split(" in `").next().unwrap_or(line).to_string()
}

#[test]
fn random_expressions_of_every_type_agree_with_the_interpreter() {
    use rand::{Rng, SeedableRng};
    let dir = std::env::temp_dir().join(format!("darwin-zoo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let rows: Vec<String> = (0..300).map(|n| zoo::row(&mut rng, n)).collect();
    std::fs::write(dir.join("z.csv"), rows.join("\n") + "\n").unwrap();
    let (mut ran, mut failures) = (0, Vec::new());
    for case in 0..48 {
        let types = ["INT", "BIGINT", "DOUBLE", "DECIMAL", "VARCHAR", "BOOLEAN"];
        let mut list = Vec::new();
        for _ in 0..4 {
            let t = types[rng.gen_range(0..types.len())];
            list.push(zoo::expr(&mut rng, t, 3));
        }
        let sql = format!(
            "CREATE TABLE z ({}) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv');\n\
             SELECT {} FROM z WHERE {}",
            zoo::COLUMNS,
            dir.join("z.csv").display(),
            list.join(", "),
            zoo::expr(&mut rng, "BOOLEAN", 2)
        );
        let run = |mode: &str| {
            let o = darwin(&["run", "-e", &sql, "--parallelism", "1", "--mode", mode], false);
            let err = String::from_utf8_lossy(&o.stderr)
                .lines()
                .filter(|l| l.starts_with("error"))
                .map(without_context)
                .collect::<Vec<_>>()
                .join("\n");
            (o.status.success(), sorted_stdout(&o), err)
        };
        let (interpreted, compiled) = (run("interpreted"), run("compiled"));
        ran += usize::from(interpreted.0);
        if interpreted != compiled {
            failures
                .push(format!("case {case}:\n{sql}\n--- interpreted: {:?}\n--- compiled: {:?}", interpreted, compiled));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(ran >= 32, "only {ran} of 48 random queries ran (the others failed in both modes alike)");
}

#[test]
fn explain_says_what_compiled_mode_generates() {
    let ysb = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ysb.sql");
    let out = darwin(&["explain", "--mode", "compiled", ysb], false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("- executor: compiled"), "{text}");
    assert!(text.contains("4 filter/projection node(s) become generated loops, 1 of them fused"), "{text}");
    let code = String::from_utf8_lossy(&darwin(&["explain", "--code", ysb], false).stdout).into_owned();
    assert!(code.contains("kernels.add_probe(") && code.contains("index.rows_int("), "{code}");
    assert!(text.contains("2 window aggregate(s) get a generated update loop"), "{text}");
    // The window size is a constant in the generated window assignment; keys are typed.
    assert!(code.contains("ts.rem_euclid(10000i64)") && code.contains("tab.group_int("), "{code}");
    // Keyed: runs of rows in one window find their groups together, then fold per aggregate.
    assert!(code.contains("k::tumble_run(dt, vt, at, 10000i64") && code.contains("tab.groups_int(at..upto"), "{code}");
    // q5's sliced HOP on 2 workers: the slices (phase 1, in both occurrences of the shared
    // sub-plan) and the maximum's two phases get generated loops; the merge of slices into
    // windows is the library's operator (one table of keys for all windows, no row per window).
    let q5 = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/nexmark_q5.sql");
    let out = darwin(&["explain", "--mode", "compiled", "--parallelism", "2", q5], false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("4 window aggregate(s) get a generated update loop"), "{text}");
    let code = String::from_utf8_lossy(&darwin(&["explain", "--code", q5], false).stdout).into_owned();
    assert!(code.contains("k::tumble_run(") && !code.contains("k::hop_run("), "{code}");
    // q1's INSERT casts `0.908 * price` to the sink's DECIMAL of the same scale: the cast keeps
    // every value, so its Calc moves the column instead of copying it in a loop.
    let q1 = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/nexmark_q1.sql");
    let code = String::from_utf8_lossy(&darwin(&["explain", "--code", q1], false).stdout).into_owned();
    assert_eq!(code.matches("// project\n").count(), 1, "{code}");
}

/// Compiled window aggregates take runs of rows in one set of open windows without per-row
/// window checks: without a key a run folds in registers, with a key its groups are found
/// together and each aggregate folds over it (a sliced HOP's merge is the library's in both
/// modes). Against the interpreter, with and without an integer key: rows out of order with late ones, NULLs, every
/// aggregate over every numeric type, a failing argument, and batches of a few rows (runs cut at
/// batch ends) and of many.
#[test]
fn keyless_window_aggregates_agree_with_the_interpreter() {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    let dir = std::env::temp_dir().join(format!("darwin-keyless-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let mut rows: Vec<String> = (0..400).map(|n| zoo::row(&mut rng, n)).collect();
    // Out of order by up to 6 s against a watermark 1 s behind: some rows are late.
    for chunk in rows.chunks_mut(6) {
        chunk.shuffle(&mut rng);
    }
    std::fs::write(dir.join("z.csv"), rows.join("\n") + "\n").unwrap();
    let aggs = [
        "COUNT(*)",
        "COUNT(d)",
        "SUM(i)",
        "SUM(b)",
        "SUM(d)",
        "AVG(i)",
        "AVG(d)",
        "MIN(i)",
        "MAX(b)",
        "MIN(d)",
        "MAX(d)",
        "SUM(b) FILTER (WHERE f)",
        "COUNT(*) FILTER (WHERE d > 0)",
        "MAX(b / (i - 3))",
    ];
    let mut failures = Vec::new();
    for case in 0..30 {
        let picked: Vec<&str> = (0..rng.gen_range(1..5)).map(|_| aggs[rng.gen_range(0..aggs.len())]).collect();
        let window = match rng.gen_range(0..3) {
            0 => format!("TUMBLE(TABLE z, DESCRIPTOR(t), INTERVAL '{}' SECOND)", rng.gen_range(1..12)),
            1 => format!(
                "HOP(TABLE z, DESCRIPTOR(t), INTERVAL '2' SECOND, INTERVAL '{}' SECOND)",
                2 * rng.gen_range(1..4)
            ),
            _ => "TUMBLE(TABLE z, DESCRIPTOR(t), INTERVAL '1' MINUTE)".into(),
        };
        // A third of the cases group by a key as well (NULL for a NULL `i`).
        let key = if case % 3 == 1 { ", MOD(i, 3)" } else { "" };
        let sql = format!(
            "CREATE TABLE z ({}, WATERMARK FOR t AS t - INTERVAL '1' SECOND) WITH ('connector' = 'filesystem', \
             'path' = '{}', 'format' = 'csv');\n\
             SELECT window_start, window_end{key}, {} FROM TABLE({window}) GROUP BY window_start, window_end{key}",
            zoo::COLUMNS,
            dir.join("z.csv").display(),
            picked.join(", ")
        );
        let batch = ["3", "64", "4096"][case / 3 % 3];
        let run = |mode: &str| {
            let o = darwin(&["run", "-e", &sql, "--parallelism", "1", "--batch-size", batch, "--mode", mode], false);
            let err: Vec<String> = String::from_utf8_lossy(&o.stderr)
                .lines()
                .filter(|l| l.starts_with("error") || l.starts_with("late ") || l.starts_with("sink "))
                .map(without_context)
                .collect();
            (o.status.success(), sorted_stdout(&o), err)
        };
        let (interpreted, compiled) = (run("interpreted"), run("compiled"));
        if interpreted != compiled {
            failures.push(format!(
                "case {case} (batch {batch}):\n{sql}\n--- interpreted: {interpreted:?}\n--- compiled: {compiled:?}"
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A query reading and writing Parquet runs compiled (its crate is built with the `arrow`
/// feature, which other queries' crates leave out) and writes what the interpreter writes.
#[test]
fn a_parquet_query_runs_compiled_with_the_arrow_feature() {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("darwin-compiled-parquet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let gen = ["gen", "nexmark", "--events", "20000", "--format", "parquet", "--out"];
    let out = Command::new(env!("CARGO_BIN_EXE_darwin")).args(gen).arg(&d).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sql = |out: &str| {
        format!(
            "CREATE TABLE bid (auction BIGINT, price BIGINT, channel VARCHAR) WITH ('connector' = 'filesystem', \
             'path' = '{0}/bid.parquet', 'format' = 'parquet');
             CREATE TABLE o (auction BIGINT, p BIGINT, c VARCHAR) WITH ('connector' = 'filesystem', \
             'path' = '{0}/{out}', 'format' = 'parquet');
             INSERT INTO o SELECT auction, price * 2, UPPER(channel) FROM bid WHERE price > 1000;",
            d.display()
        )
    };
    let compiled = darwin(&["run", "-e", &sql("c.parquet"), "--mode", "compiled"], false);
    assert!(compiled.status.success(), "{}", String::from_utf8_lossy(&compiled.stderr));
    let interpreted = darwin(&["run", "-e", &sql("i.parquet"), "--mode", "interpreted"], false);
    assert!(interpreted.status.success(), "{}", String::from_utf8_lossy(&interpreted.stderr));
    let read = |f: &str| {
        let q = format!(
            "CREATE TABLE t (auction BIGINT, p BIGINT, c VARCHAR) WITH ('connector' = 'filesystem', \
             'path' = '{}/{f}', 'format' = 'parquet'); SELECT * FROM t;",
            d.display()
        );
        sorted_stdout(&darwin(&["run", "-e", &q], false))
    };
    let rows = read("c.parquet");
    assert!(rows.len() > 1000, "{}", rows.len());
    assert_eq!(rows, read("i.parquet"));
    let _ = std::fs::remove_dir_all(&d);
}
