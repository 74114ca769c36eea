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
    assert!(code.contains(r#"String::from("it's \"}; std::process::exit(3); //")"#), "{code}");
    assert!(!code.lines().any(|l| l.trim_start().starts_with("std::process::exit(3)")), "{code}");
    // Expressions are inlined as typed code, not an expression tree.
    assert!(code.contains("x.wrapping_mul(y)") && code.contains("k::like("), "{code}");
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
    let job = darwin_exec::child::Job::Run { plan: other.physical, checkpoint: None, progress: false };
    match darwin_exec::child::spawn(Path::new(binary), &job) {
        Ok(darwin_exec::child::Outcome::Failed(m)) => assert!(m.contains("was generated for plan"), "{m}"),
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
    assert!(code.contains("(x as i128).wrapping_mul(") && code.contains("x as f64 / 10f64.powi("), "{code}");
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
