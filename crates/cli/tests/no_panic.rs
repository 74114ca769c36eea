//! Bad input never panics: thousands of random mutations of valid scripts (tokens dropped,
//! swapped, duplicated, replaced by keywords, literals or punctuation) are compiled and, where
//! they compile, run over small bounded files. Every outcome must be a result or a clean error.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::panic::{catch_unwind, AssertUnwindSafe};

const REPLACEMENTS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "JOIN",
    "ON",
    "AND",
    "OR",
    "NOT",
    "NULL",
    "(",
    ")",
    ",",
    "*",
    "+",
    "-",
    "/",
    "=",
    "<",
    "'x'",
    "''",
    "0",
    "-1",
    "99999999999999999999",
    "1.5",
    "CAST",
    "AS",
    "INTERVAL",
    "'0'",
    "SECOND",
    "TABLE",
    "TUMBLE",
    "HOP",
    "SESSION",
    "DESCRIPTOR",
    "COUNT",
    "SUM",
    "AVG",
    "MAX",
    "window_start",
    "window_end",
    "ts",
    "k",
    "v",
    "s",
    "t",
    "u",
    "CASE",
    "WHEN",
    "THEN",
    "END",
    "LIKE",
    "IN",
    "BETWEEN",
    "DISTINCT",
    "HAVING",
    "FILTER",
    "TIMESTAMP",
    "DECIMAL(38, 38)",
    "VARCHAR",
    "BIGINT",
    "SUBSTRING",
    "REGEXP_EXTRACT",
    "'('",
    "MOD",
    "0.0",
];

/// The built-in connectors, with every sink discarding its rows (bare SELECTs would print).
struct Quiet;

impl darwin_runtime::ConnectorFactory for Quiet {
    fn open_source(
        &self,
        t: &darwin_plan::TableDef,
        p: usize,
    ) -> darwin_runtime::Result<Box<dyn darwin_runtime::SourceReader>> {
        darwin_runtime::ConnectorFactory::open_source(&darwin_connectors::Registry, t, p)
    }
    fn open_sink(
        &self,
        _: &darwin_plan::SinkTarget,
        _: &darwin_runtime::SinkContext,
    ) -> darwin_runtime::Result<Box<dyn darwin_runtime::SinkWriter>> {
        Ok(Box::new(darwin_connectors::print::Blackhole))
    }
}

fn scripts(dir: &str) -> Vec<String> {
    let ddl = format!(
        "CREATE TABLE t (k BIGINT, v INT, s VARCHAR, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'filesystem', 'path' = '{dir}/t.csv', 'format' = 'csv');\n\
         CREATE TABLE u (k BIGINT, name VARCHAR) WITH ('connector' = 'filesystem', 'path' = '{dir}/u.csv', 'format' = 'csv');\n"
    );
    [
        "SELECT k, v * 2 + 1, UPPER(s) FROM t WHERE v BETWEEN -3 AND 10 OR s LIKE 'a%'",
        "SELECT window_start, k, COUNT(*), SUM(v), AVG(v), COUNT(DISTINCT s) FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND)) GROUP BY window_start, window_end, k HAVING COUNT(*) > 0",
        "SELECT k, HOP_START(ts, INTERVAL '1' SECOND, INTERVAL '2' SECOND), MAX(v) FROM t GROUP BY HOP(ts, INTERVAL '1' SECOND, INTERVAL '2' SECOND), k",
        "SELECT t.k, u.name FROM t LEFT JOIN u ON t.k = u.k WHERE t.v IS NOT NULL",
        "SELECT a.k, b.v FROM t a JOIN t b ON a.k = b.k WHERE a.ts BETWEEN b.ts - INTERVAL '1' SECOND AND b.ts",
        "SELECT CAST(v AS DECIMAL(10, 2)) / 3, MOD(k, 3), SUBSTRING(s FROM 2 FOR 1), REGEXP_EXTRACT(s, '(a+)', 1), CASE WHEN k > 1 THEN 'x' ELSE s END FROM t",
        "SELECT k, SESSION_END(ts, INTERVAL '1' SECOND), COUNT(*) FROM t GROUP BY k, SESSION(ts, INTERVAL '1' SECOND)",
    ]
    .iter()
    .map(|q| format!("{ddl}{q};"))
    .collect()
}

fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_str = false;
    for c in s.chars() {
        if c == '\'' {
            in_str = !in_str;
            cur.push(c);
            if !in_str {
                out.push(std::mem::take(&mut cur));
            }
        } else if in_str {
            cur.push(c);
        } else if c.is_whitespace() || "(),;*+-=<>".contains(c) {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[test]
fn mutated_scripts_never_panic() {
    let dir = std::env::temp_dir().join(format!("darwin-nopanic-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("t.csv"), "1,2,a,2024-01-01 00:00:00\n2,-5,ab,2024-01-01 00:00:01.5\n,,,2024-01-01 00:00:03\n1,7,\"\",2024-01-01 00:00:04\n").unwrap();
    std::fs::write(dir.join("u.csv"), "1,one\n2,two\n").unwrap();
    let bases = scripts(&dir.display().to_string());
    let mut rng = StdRng::seed_from_u64(42);
    let (mut ran, mut rejected) = (0, 0);
    for i in 0..3000 {
        let base = &bases[i % bases.len()];
        let mut toks = tokens(base);
        let ddl_end = toks.iter().rposition(|t| t == ";").map_or(0, |p| p.saturating_sub(1)).min(toks.len());
        // Mutate the query (and sometimes the DDL) with 1-3 edits.
        let edits = if rng.gen_bool(0.6) { 1 } else { rng.gen_range(2..4) };
        for _ in 0..edits {
            let lo = if rng.gen_bool(0.8) {
                toks.iter().position(|t| t.eq_ignore_ascii_case("SELECT")).unwrap_or(0)
            } else {
                0
            };
            if toks.len() <= lo + 1 {
                break;
            }
            let at = rng.gen_range(lo..toks.len().min(ddl_end.max(lo + 1) + 40).max(lo + 1));
            let at = at.min(toks.len() - 1);
            match rng.gen_range(0..4) {
                0 => {
                    toks.remove(at);
                }
                1 => toks[at] = REPLACEMENTS[rng.gen_range(0..REPLACEMENTS.len())].to_string(),
                2 => toks.insert(at, REPLACEMENTS[rng.gen_range(0..REPLACEMENTS.len())].to_string()),
                _ => {
                    let other = rng.gen_range(lo..toks.len());
                    toks.swap(at, other);
                }
            }
        }
        let sql = toks.join(" ");
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            match darwin::compile(
                &sql,
                &darwin::Options { parallelism: Some(2), batch_size: Some(2), ..Default::default() },
            ) {
                Err(_) => false,
                Ok(c) => {
                    let _ = darwin_runtime::run(&c.physical, &Quiet, &mut ());
                    true
                }
            }
        }));
        match outcome {
            Ok(true) => ran += 1,
            Ok(false) => rejected += 1,
            Err(_) => panic!("panicked on input:\n{sql}"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("mutated scripts: {ran} ran, {rejected} rejected");
    assert!(ran > 100 && rejected > 100, "mutations should both run and be rejected: ran {ran}, rejected {rejected}");
}
