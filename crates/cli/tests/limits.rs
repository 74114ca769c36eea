//! Queries as large as generated SQL makes them, with the real binary: a hundred thousand
//! values in an IN list, tens of thousands of terms joined by AND, OR and `||`, expressions
//! thousands of levels deep, and views on views. Each either runs and gives the right rows, or
//! stops with an error that says where and why: never a stack overflow or an abort.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("darwin-limits-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn darwin(cwd: &Path, sql: &str) -> Output {
    std::fs::write(cwd.join("q.sql"), sql).unwrap();
    Command::new(env!("CARGO_BIN_EXE_darwin"))
        .args(["run", "q.sql"])
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `SELECT {select} FROM t WHERE {filter}` over x = 1..=20 into a CSV file, and returns
/// the file's lines.
fn rows(name: &str, select: &str, filter: &str) -> Vec<String> {
    let d = dir(name);
    let input: String = (1..=20).map(|x| format!("{x}\n")).collect();
    std::fs::write(d.join("in.csv"), input).unwrap();
    let sql = format!(
        "CREATE TABLE t (x INT) WITH ('connector' = 'filesystem', 'path' = 'in.csv', 'format' = 'csv');
         CREATE TABLE o (y VARCHAR) WITH ('connector' = 'filesystem', 'path' = 'out.csv', 'format' = 'csv');
         INSERT INTO o SELECT CAST({select} AS VARCHAR) FROM t WHERE {filter};"
    );
    let out = darwin(&d, &sql);
    assert!(out.status.success(), "{name}: {}", text(&out.stderr));
    let mut lines: Vec<String> =
        std::fs::read_to_string(d.join("out.csv")).unwrap().lines().map(String::from).collect();
    lines.sort_by_key(|l| l.parse::<i64>().unwrap_or(i64::MAX));
    lines
}

fn joined(n: usize, sep: &str, term: impl Fn(usize) -> String) -> String {
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push_str(sep);
        }
        s.push_str(&term(i));
    }
    s
}

fn numbers(xs: impl Iterator<Item = i32>) -> Vec<String> {
    xs.map(|x| x.to_string()).collect()
}

#[test]
fn a_hundred_thousand_values_in_an_in_list() {
    // Even numbers from -100,000 up: the evens among 1..=20 pass.
    let list = joined(100_000, ",", |i| (2 * i as i64 - 100_000).to_string());
    assert_eq!(rows("in", "x", &format!("x IN ({list})")), numbers((2..=20).step_by(2)));
    assert_eq!(rows("notin", "x", &format!("x NOT IN ({list})")), numbers((1..=19).step_by(2)));
}

#[test]
fn tens_of_thousands_of_and_and_or_terms() {
    let and = joined(30_000, " AND ", |i| format!("x <> {}", 1000 + i)) + " AND x > 15";
    assert_eq!(rows("and", "x", &and), numbers(16..=20));
    let or = joined(30_000, " OR ", |i| format!("x = {}", 2 * i + 1));
    assert_eq!(rows("or", "x", &or), numbers((1..=19).step_by(2)));
}

#[test]
fn a_concatenation_of_thirty_thousand_parts() {
    let cat = joined(30_000, " || ", |i| if i == 0 { "CAST(x AS VARCHAR)".into() } else { "'ab'".into() });
    let got = rows("concat", &format!("CHAR_LENGTH({cat})"), "x = 7");
    assert_eq!(got, vec![(1 + 2 * 29_999).to_string()]);
}

#[test]
fn expressions_thousands_of_levels_deep() {
    // (x + (x + ... (x + 1))) nested 4,000 deep is 4000 * x + 1.
    let deep = format!("{}1{}", "(x + ".repeat(4000), ")".repeat(4000));
    assert_eq!(rows("deep", &deep, "x = 3"), vec!["12001".to_string()]);
    let parens = format!("{}x{}", "(".repeat(9000), ")".repeat(9000));
    assert_eq!(rows("parens", &parens, "x = 3"), vec!["3".to_string()]);
}

#[test]
fn nesting_beyond_the_limit_is_an_error_with_a_position() {
    let d = dir("too-deep");
    std::fs::write(d.join("in.csv"), "1\n").unwrap();
    let sql = format!(
        "CREATE TABLE t (x INT) WITH ('connector' = 'filesystem', 'path' = 'in.csv', 'format' = 'csv');\nSELECT {}1{} FROM t;",
        "(x + ".repeat(20_000),
        ")".repeat(20_000)
    );
    let out = darwin(&d, &sql);
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("syntax error at 2:") && err.contains("nested too deeply"), "{err}");
    // The error shows the stretch of the long line around the position, not the whole line.
    assert!(err.len() < 1000, "{} bytes of error", err.len());
}

#[test]
fn views_on_views_up_to_the_limit_and_beyond() {
    let d = dir("views");
    std::fs::write(d.join("in.csv"), "1\n2\n").unwrap();
    let mut sql = String::from(
        "CREATE TABLE t (x INT) WITH ('connector' = 'filesystem', 'path' = 'in.csv', 'format' = 'csv');
         CREATE TABLE o (x INT) WITH ('connector' = 'filesystem', 'path' = 'out.csv', 'format' = 'csv');
         CREATE VIEW v0 AS SELECT x FROM t;\n",
    );
    for i in 1..=200 {
        writeln!(sql, "CREATE VIEW v{i} AS SELECT x + 1 AS x FROM v{};", i - 1).unwrap();
    }
    let out = darwin(&d, &format!("{sql}INSERT INTO o SELECT x FROM v200;"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut got: Vec<String> = std::fs::read_to_string(d.join("out.csv")).unwrap().lines().map(String::from).collect();
    got.sort();
    assert_eq!(got, vec!["201", "202"]);

    for i in 201..=1001 {
        writeln!(sql, "CREATE VIEW v{i} AS SELECT x FROM v{};", i - 1).unwrap();
    }
    let out = darwin(&d, &format!("{sql}INSERT INTO o SELECT x FROM v1001;"));
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("view 'v1000' is built on views nested more than 1000 deep"), "{err}");
    assert!(err.contains("CREATE VIEW v1001 AS SELECT x FROM v1000;"), "{err}");
}
