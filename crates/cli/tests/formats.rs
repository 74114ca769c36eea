//! Darwin's file formats as a user meets them, with the real binary: what Darwin writes it reads
//! back equal (CSV quoting with separators, quotes, line breaks and unicode; JSON with doubles
//! that are not finite and decimals of every digit), a byte-order mark is skipped, invalid UTF-8
//! is a malformed record with its line (or skipped and counted), and an input file that changed
//! since a checkpoint is refused on restore.

use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn darwin(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_darwin")).args(args).current_dir(cwd).stdin(Stdio::null()).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("darwin-formats-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A random string of the characters CSV and JSON must escape, and unicode.
fn nasty(rng: &mut impl Rng) -> String {
    const PARTS: [&str; 12] = [",", "\"", "\n", "\r\n", " ", "é", "日本", "a", "b,c", "\"\"", "\\", "'"];
    (0..rng.gen_range(0..6)).map(|_| PARTS[rng.gen_range(0..PARTS.len())]).collect()
}

const COLUMNS: &str = "k BIGINT, s VARCHAR, d DOUBLE, m DECIMAL(30, 9)";

fn copy(format_in: &str, path_in: &str, format_out: &str, path_out: &str) -> String {
    format!(
        "CREATE TABLE a ({COLUMNS}) WITH ('connector' = 'filesystem', 'path' = '{path_in}', 'format' = '{format_in}');
         CREATE TABLE b ({COLUMNS}) WITH ('connector' = 'filesystem', 'path' = '{path_out}', 'format' = '{format_out}');
         INSERT INTO b SELECT * FROM a;"
    )
}

fn sorted_lines(path: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_to_string(path).unwrap().lines().map(String::from).collect();
    v.sort();
    v
}

/// Rows of every awkward kind go CSV -> Darwin -> CSV -> Darwin -> JSON -> Darwin -> CSV; the last
/// CSV equals the first Darwin wrote, so every value survived both formats both ways.
#[test]
fn what_darwin_writes_it_reads_back_equal() {
    let d = dir("roundtrip");
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let doubles = ["NaN", "Infinity", "-Infinity", "0.1", "-2.5E-7", "1.0E300", ""];
    let mut rows = String::new();
    for k in 0..300 {
        let s = nasty(&mut rng);
        let s =
            if s.is_empty() && rng.gen_bool(0.5) { String::new() } else { format!("\"{}\"", s.replace('"', "\"\"")) };
        let m = format!(
            "{}{}.{:09}",
            if rng.gen_bool(0.3) { "-" } else { "" },
            rng.gen_range(0..10u64.pow(15)),
            rng.gen_range(0..10u64.pow(9))
        );
        rows.push_str(&format!("{k},{s},{},{m}\n", doubles[k % doubles.len()]));
    }
    std::fs::write(d.join("in.csv"), rows).unwrap();
    for (script, what) in [
        (copy("csv", "in.csv", "csv", "one.csv"), "csv to csv"),
        (copy("csv", "one.csv", "json", "two.json"), "csv to json"),
        (copy("json", "two.json", "csv", "three.csv"), "json to csv"),
    ] {
        // One worker: the rows keep their order, so whole files compare (records span lines).
        let out = darwin(&d, &["run", "-e", &script, "--parallelism", "1"]);
        assert!(out.status.success(), "{what}: {}", text(&out.stderr));
    }
    let (one, three) =
        (std::fs::read_to_string(d.join("one.csv")).unwrap(), std::fs::read_to_string(d.join("three.csv")).unwrap());
    assert!(one.matches('\n').count() > 300, "every row is written, some over several lines");
    assert_eq!(one, three, "values changed on the way through CSV and JSON");
    let json = std::fs::read_to_string(d.join("two.json")).unwrap();
    assert!(json.contains("\"d\":\"NaN\"") && json.contains("\"d\":\"-Infinity\""), "non-finite doubles as strings");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_byte_order_mark_is_skipped_and_invalid_utf8_is_a_malformed_record() {
    let d = dir("utf8");
    let mut bytes = b"\xEF\xBB\xBFk,s\n1,one\n2,t\xFFo\n3,three\n".to_vec();
    std::fs::write(d.join("in.csv"), &bytes).unwrap();
    let sql = |ignore: bool| {
        format!(
            "CREATE TABLE a (k BIGINT, s VARCHAR) WITH ('connector' = 'filesystem', 'path' = 'in.csv', \
             'format' = 'csv', 'csv.header' = 'true', 'csv.ignore-parse-errors' = '{ignore}');
             SELECT k, s FROM a;"
        )
    };
    let failed = darwin(&d, &["run", "-e", &sql(false)]);
    let err = text(&failed.stderr);
    assert!(!failed.status.success() && err.contains("line 3") && err.contains("invalid UTF-8"), "{err}");
    let skipped = darwin(&d, &["run", "-e", &sql(true)]);
    let (out, err) = (text(&skipped.stdout), text(&skipped.stderr));
    assert!(skipped.status.success(), "{err}");
    assert!(out.contains("1 | one") && out.contains("3 | three") && !out.contains("t\u{fffd}o"), "{out}");
    assert!(err.contains("1 malformed records skipped"), "{err}");
    // Without a header the mark is not part of the first field either.
    bytes.drain(3..7);
    std::fs::write(d.join("in.csv"), &bytes).unwrap();
    let no_header = sql(true).replace("'csv.header' = 'true'", "'csv.header' = 'false'");
    let out = darwin(&d, &["run", "-e", &no_header]);
    assert!(text(&out.stdout).contains("1 | one"), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn an_input_file_changed_since_the_checkpoint_is_refused() {
    let d = dir("changed");
    let rows: String = (0..40_000).map(|i| format!("{},{}\n", i % 50, i)).collect();
    std::fs::write(d.join("in.csv"), &rows).unwrap();
    let sql =
        "CREATE TABLE a (k BIGINT, v BIGINT) WITH ('connector' = 'filesystem', 'path' = 'in.csv', 'format' = 'csv');
        CREATE TABLE b (k BIGINT, v BIGINT) WITH ('connector' = 'filesystem', 'path' = 'out.csv', 'format' = 'csv');
        INSERT INTO b SELECT * FROM a;";
    std::fs::write(d.join("q.sql"), sql).unwrap();
    let args = ["run", "q.sql", "--checkpoint-dir", "ck", "--checkpoint-interval", "10ms", "--batch-size", "64"];
    let killed = Command::new(env!("CARGO_BIN_EXE_darwin"))
        .args(args)
        .current_dir(&d)
        .env("DARWIN_CRASH_AT", "before-commit:3")
        .stderr(Stdio::null())
        .status()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(killed.signal(), Some(9));
    // Change a byte near the start, which every checkpoint has read.
    let mut changed = rows.clone().into_bytes();
    changed[2] = b'7';
    std::fs::write(d.join("in.csv"), &changed).unwrap();
    let out = darwin(&d, &args);
    let err = text(&out.stderr);
    assert!(
        !out.status.success() && err.contains("in.csv") && err.contains("input changed since the checkpoint"),
        "{err}"
    );
    // Restored, and grown at its end (appended rows are not part of what was read): it resumes.
    std::fs::write(d.join("in.csv"), rows.clone() + "1,40000\n").unwrap();
    let out = darwin(&d, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(sorted_lines(&d.join("out.csv")).len(), 40_001);
    let _ = std::fs::remove_dir_all(&d);
}

/// Only the columns a query reads are decoded: a bad value in another column is skipped unread,
/// in CSV (by position, fields after it still found) and JSON (by name); reading that column
/// fails with its line and name. Records must still have every CSV field.
#[test]
fn columns_a_query_does_not_read_are_not_decoded() {
    let d = dir("narrow");
    std::fs::write(d.join("in.csv"), "1,x,\"q,\"\"u\"\"\",10\n2,2,b,20\n").unwrap();
    std::fs::write(
        d.join("in.json"),
        "{\"a\": 1, \"b\": \"x\", \"s\": \"q\", \"c\": 10}\n{\"a\": 2, \"b\": 2, \"c\": 20}\n",
    )
    .unwrap();
    for (fmt, file) in [("csv", "in.csv"), ("json", "in.json")] {
        let table = format!(
            "CREATE TABLE t (a BIGINT, b BIGINT, s VARCHAR, c BIGINT) WITH ('connector' = 'filesystem', \
             'path' = '{file}', 'format' = '{fmt}');"
        );
        let out = darwin(&d, &["run", "-e", &format!("{table} SELECT a + c, s FROM t;")]);
        assert!(out.status.success(), "{fmt}: {}", text(&out.stderr));
        let mut rows: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
        rows.sort();
        let want =
            if fmt == "csv" { ["11 | q,\"u\"", "22 | b", "EXPR$0 | s"] } else { ["11 | q", "22 | NULL", "EXPR$0 | s"] };
        assert_eq!(rows, want, "{fmt}");
        let out = darwin(&d, &["run", "-e", &format!("{table} SELECT a + b FROM t;")]);
        let err = text(&out.stderr);
        assert!(!out.status.success() && err.contains("line 1, column 'b'"), "{fmt}: {err}");
    }
    std::fs::write(d.join("short.csv"), "1,2,s,3\n4,5\n").unwrap();
    let short = "CREATE TABLE t (a BIGINT, b BIGINT, s VARCHAR, c BIGINT) WITH ('connector' = 'filesystem', \
                 'path' = 'short.csv', 'format' = 'csv'); SELECT a FROM t;";
    let out = darwin(&d, &["run", "-e", short]);
    let err = text(&out.stderr);
    assert!(!out.status.success() && err.contains("line 2") && err.contains("expected 4 fields, found 2"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

fn gzip(parts: &[&str]) -> Vec<u8> {
    use std::io::Write;
    let mut bytes = Vec::new();
    for part in parts {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(part.as_bytes()).unwrap();
        bytes.extend(e.finish().unwrap());
    }
    bytes
}

/// `.gz` (of several members) and `.zst` files in a directory read as their text would, beside
/// a plain file, on two workers; a truncated gzip file fails the run and names the file.
#[test]
fn compressed_files_read_as_their_text() {
    let d = dir("compressed");
    let rows = |from: i64, to: i64| -> String { (from..to).map(|i| format!("{i},\"s,{i}\"\n")).collect() };
    std::fs::create_dir_all(d.join("in")).unwrap();
    let (a, b) = (rows(0, 5000), rows(5000, 9000));
    std::fs::write(d.join("in/a.csv.gz"), gzip(&[&a[..a.len() / 2], &a[a.len() / 2..]])).unwrap();
    std::fs::write(d.join("in/b.csv.zst"), zstd::encode_all(b.as_bytes(), 3).unwrap()).unwrap();
    std::fs::write(d.join("in/c.csv"), rows(9000, 10_000)).unwrap();
    let sql = |path: &str| {
        format!(
            "CREATE TABLE t (k BIGINT, s VARCHAR) WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'csv');
             SELECT COUNT(*) AS n, SUM(k) AS total, MAX(s) AS top FROM t;"
        )
    };
    let out = darwin(&d, &["run", "-e", &sql("in"), "--parallelism", "2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = text(&out.stdout);
    assert!(got.contains("10000 | 49995000 | s,9999"), "{got}");
    let gz = gzip(&[&a]);
    std::fs::write(d.join("cut.csv.gz"), &gz[..gz.len() / 2]).unwrap();
    let out = darwin(&d, &["run", "-e", &sql("cut.csv.gz")]);
    let err = text(&out.stderr);
    assert!(!out.status.success() && err.contains("cut.csv.gz"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}
