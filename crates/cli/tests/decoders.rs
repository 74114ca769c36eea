//! The file decoders against the truth: random rows (awkward strings, NULLs, numbers and times
//! of every size) are written as CSV and JSON lines the way other tools write them (quoting
//! only where needed or at random, CRLF or LF, a header or not, no final line break, keys in any
//! order with extra nested values, timestamps as text or epoch milliseconds), read by Darwin on
//! 1 to 3 workers in chunks of a few bytes, and what Darwin writes back is compared value by
//! value with the rows that were generated.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Clone, Debug, PartialEq)]
struct Row {
    k: i64,
    s: Option<String>,
    d: Option<f64>,
    /// Epoch milliseconds.
    t: Option<i64>,
    /// DECIMAL(12, 3) mantissa.
    m: Option<i64>,
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("darwin-decoders-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn random_row(k: i64, rng: &mut StdRng) -> Row {
    const PARTS: [&str; 12] = [",", "\"", "\n", "\r\n", " ", "é", "日本", "a", "b,c", "\"\"", "\\", "{\"x\": 1}"];
    let null = |rng: &mut StdRng| rng.gen_bool(0.15);
    Row {
        k,
        s: (!null(rng)).then(|| (0..rng.gen_range(0..5)).map(|_| PARTS[rng.gen_range(0..PARTS.len())]).collect()),
        d: (!null(rng)).then(|| {
            let x: f64 = rng.gen_range(-1e6..1e6);
            if rng.gen_bool(0.2) {
                x.round()
            } else {
                x * 10f64.powi(rng.gen_range(-20..20))
            }
        }),
        t: (!null(rng)).then(|| rng.gen_range(-1_500_000_000_000i64..3_000_000_000_000)),
        m: (!null(rng)).then(|| rng.gen_range(-999_999_999_999i64..999_999_999_999)),
    }
}

/// `YYYY-MM-DD HH:MM:SS.fff` of epoch milliseconds (civil calendar, proleptic Gregorian).
fn timestamp(ms: i64) -> String {
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, mi, s, f) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000);
    format!("{year:04}-{month:02}-{day:02} {h:02}:{mi:02}:{s:02}.{f:03}")
}

fn decimal(m: i64) -> String {
    let sign = if m < 0 { "-" } else { "" };
    format!("{sign}{}.{:03}", m.unsigned_abs() / 1000, m.unsigned_abs() % 1000)
}

fn csv_text(rows: &[Row], header: bool, rng: &mut StdRng) -> String {
    let mut out = String::new();
    if header {
        out.push_str("k,s,d,t,m\r\n");
    }
    for (i, r) in rows.iter().enumerate() {
        let s = match &r.s {
            None => String::new(),
            Some(s) => {
                let must = s.is_empty() || s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ');
                if must || rng.gen_bool(0.3) {
                    format!("\"{}\"", s.replace('"', "\"\""))
                } else {
                    s.clone()
                }
            }
        };
        let t = r.t.map(|t| {
            let text = timestamp(t);
            match rng.gen_range(0..3) {
                0 if t % 1000 == 0 => text[..19].to_string(),
                1 => text.replacen(' ', "T", 1),
                _ => text,
            }
        });
        let fields = [
            r.k.to_string(),
            s,
            r.d.map(|d| format!("{d:?}")).unwrap_or_default(),
            t.unwrap_or_default(),
            r.m.map(decimal).unwrap_or_default(),
        ];
        out.push_str(&fields.join(","));
        let last = i + 1 == rows.len();
        if !last || rng.gen_bool(0.5) {
            out.push_str(if rng.gen_bool(0.5) { "\r\n" } else { "\n" });
        }
    }
    out
}

fn json_text(rows: &[Row], rng: &mut StdRng) -> String {
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        let mut fields = vec![format!("\"k\": {}", r.k)];
        let mut opt = |key: &str, v: Option<String>, rng: &mut StdRng| match v {
            Some(v) => fields.push(format!("\"{key}\": {v}")),
            None if rng.gen_bool(0.5) => fields.push(format!("\"{key}\": null")),
            None => {}
        };
        opt("s", r.s.as_ref().map(|s| serde_json::Value::from(s.as_str()).to_string()), rng);
        opt("d", r.d.map(|d| format!("{d:?}")), rng);
        let t = r.t.map(|t| if rng.gen_bool(0.5) { t.to_string() } else { format!("\"{}\"", timestamp(t)) });
        opt("t", t, rng);
        opt("m", r.m.map(decimal), rng);
        fields.push("\"extra\": {\"nested\": [1, \"x,\\n\", {\"k\": 2}]}".into());
        let n = fields.len();
        for a in 0..n {
            fields.swap(a, rng.gen_range(0..n));
        }
        out.push('{');
        out.push_str(&fields.join(", "));
        out.push('}');
        if i + 1 < rows.len() || rng.gen_bool(0.5) {
            out.push('\n');
        }
    }
    out
}

/// Darwin's JSON output rows back as `Row`s; numbers from their text (serde_json's own f64
/// parsing may be a unit in the last place off).
fn parse_output(path: &Path) -> Vec<Row> {
    type Raw = std::collections::HashMap<String, Box<serde_json::value::RawValue>>;
    let text = std::fs::read_to_string(path).unwrap();
    let mut rows: Vec<Row> = text
        .lines()
        .map(|l| {
            let v: Raw = serde_json::from_str(l).unwrap();
            let raw = |k: &str| v.get(k).map(|r| r.get()).filter(|r| *r != "null");
            Row {
                k: raw("k").unwrap().parse().unwrap(),
                s: raw("s").map(|r| serde_json::from_str::<String>(r).unwrap()),
                d: raw("d").map(|r| r.parse::<f64>().unwrap()),
                t: raw("t").map(|r| parse_ms(&serde_json::from_str::<String>(r).unwrap())),
                m: raw("m").map(|text| {
                    let (whole, frac) = text.split_once('.').unwrap_or((text, "0"));
                    let frac = format!("{frac:0<3}");
                    let mag =
                        whole.trim_start_matches('-').parse::<i64>().unwrap() * 1000 + frac.parse::<i64>().unwrap();
                    if whole.starts_with('-') {
                        -mag
                    } else {
                        mag
                    }
                }),
            }
        })
        .collect();
    rows.sort_by_key(|r| r.k);
    rows
}

/// Epoch milliseconds of `YYYY-MM-DD HH:MM:SS.fff` (the inverse of `timestamp`, checked by it).
fn parse_ms(t: &str) -> i64 {
    let lo = -4_000_000_000_000i64;
    let (mut a, mut b) = (lo, 5_000_000_000_000i64);
    while a < b {
        let mid = a + (b - a) / 2;
        if timestamp(mid).as_str() < t && !t.starts_with('-') {
            a = mid + 1;
        } else {
            b = mid;
        }
    }
    assert_eq!(timestamp(a), t, "not a timestamp Darwin writes: {t}");
    a
}

fn run(d: &Path, sql: &str, workers: usize) {
    let out = Command::new(env!("CARGO_BIN_EXE_darwin"))
        .args(["run", "-e", sql, "--parallelism", &workers.to_string()])
        .current_dir(d)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn random_csv_and_json_files_read_back_as_the_rows_generated() {
    let d = dir("random");
    let mut rng = StdRng::seed_from_u64(2026);
    for case in 0..24 {
        let n = rng.gen_range(0..300);
        let rows: Vec<Row> = (0..n).map(|k| random_row(k, &mut rng)).collect();
        let json = case % 2 == 1;
        let header = !json && rng.gen_bool(0.3);
        let text = if json { json_text(&rows, &mut rng) } else { csv_text(&rows, header, &mut rng) };
        let input = format!("in{case}.{}", if json { "json" } else { "csv" });
        std::fs::write(d.join(&input), &text).unwrap();
        let split = rng.gen_range(1..200);
        let workers = rng.gen_range(1..4);
        let format = if json { "json" } else { "csv" };
        let sql = format!(
            "CREATE TABLE t (k BIGINT, s VARCHAR, d DOUBLE, t TIMESTAMP(3), m DECIMAL(12, 3)) WITH ('connector' = 'filesystem',
               'path' = '{input}', 'format' = '{format}', 'source.split-bytes' = '{split}'{});
             CREATE TABLE o (k BIGINT, s VARCHAR, d DOUBLE, t TIMESTAMP(3), m DECIMAL(12, 3)) WITH ('connector' = 'filesystem',
               'path' = 'out{case}.json', 'format' = 'json');
             INSERT INTO o SELECT * FROM t;",
            if header { ", 'csv.header' = 'true'" } else { "" }
        );
        run(&d, &sql, workers);
        let got = parse_output(&d.join(format!("out{case}.json")));
        assert_eq!(got.len(), rows.len(), "case {case} ({format}, {workers} workers, {split}-byte chunks)");
        for (g, w) in got.iter().zip(&rows) {
            assert_eq!(g, w, "case {case} ({format}, {workers} workers, {split}-byte chunks)");
        }
    }
    let _ = std::fs::remove_dir_all(&d);
}
