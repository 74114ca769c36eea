//! Directory sinks with the real binary: part files roll by size and hold every row once; a run
//! that fails shows no part; with checkpoints, a run killed (SIGKILL) again and again, some
//! kills inside the commit, ends with exactly the uninterrupted run's rows; `PARTITIONED BY`
//! writes `col=value/` directories without the partition columns in the files.

use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn darwin(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_darwin")).args(args).current_dir(cwd).stdin(Stdio::null()).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("darwin-dirsink-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every file under `d` (recursively) with its path relative to `d`.
fn files(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn visible(d: &Path) -> Vec<PathBuf> {
    files(d).into_iter().filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.')).collect()
}

fn lines_of(paths: &[PathBuf]) -> Vec<String> {
    let mut v: Vec<String> = paths
        .iter()
        .flat_map(|p| std::fs::read_to_string(p).unwrap().lines().map(String::from).collect::<Vec<_>>())
        .collect();
    v.sort();
    v
}

const GEN: &str = "CREATE TABLE g (auction BIGINT, price BIGINT, channel VARCHAR, date_time TIMESTAMP(3)) \
    WITH ('connector' = 'nexmark', 'table' = 'bid', 'events' = 'EVENTS');";

fn sink(path: &str, format: &str, extra: &str) -> String {
    format!(
        "CREATE TABLE o (auction BIGINT, price BIGINT, channel VARCHAR, date_time TIMESTAMP(3)) \
         WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = '{format}'{extra});"
    )
}

#[test]
fn parts_roll_by_size_and_hold_every_row_once() {
    let d = dir("roll");
    let gen = GEN.replace("EVENTS", "50000");
    let sql = format!(
        "{gen} {} {} INSERT INTO o SELECT * FROM g; INSERT INTO one SELECT * FROM g;",
        sink("out/", "csv", ", 'sink.rolling-policy.file-size' = '100KB'"),
        sink("one.csv", "csv", "").replace("TABLE o ", "TABLE one ")
    );
    let out = darwin(&d, &["run", "-e", &sql, "--parallelism", "2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let parts = visible(&d.join("out"));
    assert!(parts.len() >= 10, "{} parts", parts.len());
    for p in &parts {
        let len = std::fs::metadata(p).unwrap().len();
        assert!(len < 100 * 1024 + 4096, "{} is {len} bytes", p.display());
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("part-") && name.ends_with(".csv"), "{name}");
    }
    assert!(parts.iter().any(|p| p.to_string_lossy().contains("-1-")), "both workers write parts");
    assert_eq!(lines_of(&parts), lines_of(&[d.join("one.csv")]));
    assert!(files(&d.join("out")).iter().all(|p| !p.to_string_lossy().ends_with(".inprogress")));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_failed_run_leaves_no_part_visible() {
    let d = dir("failed");
    std::fs::write(d.join("in.csv"), (0..50_000).map(|i| format!("{i}\n")).collect::<String>() + "x\n").unwrap();
    let sql = "CREATE TABLE i (k BIGINT) WITH ('connector' = 'filesystem', 'path' = 'in.csv', 'format' = 'csv');
               CREATE TABLE o (k BIGINT) WITH ('connector' = 'filesystem', 'path' = 'out/', 'format' = 'json');
               INSERT INTO o SELECT k FROM i;";
    let out = darwin(&d, &["run", "-e", sql, "--parallelism", "1", "--batch-size", "1000"]);
    assert!(!out.status.success());
    assert!(d.join("out").is_dir(), "a path ending in / is a directory, even when it does not exist yet");
    assert!(text(&out.stderr).contains("line 50001"), "{}", text(&out.stderr));
    assert_eq!(visible(&d.join("out")), Vec::<PathBuf>::new());
    assert!(files(&d.join("out")).iter().all(|p| !p.to_string_lossy().ends_with(".inprogress")));
    let _ = std::fs::remove_dir_all(&d);
}

/// Killed at random moments and at points of the checkpoint protocol (before and during the
/// commit of part files), resumed each time: the parts equal an uninterrupted run's rows, none
/// twice, and no in-progress file is left.
#[test]
fn killed_runs_resume_to_exactly_the_uninterrupted_parts() {
    let d = dir("crash");
    let gen = GEN.replace("EVENTS", "600000");
    let sql = |path: &str| {
        format!(
            "{gen} {} INSERT INTO o SELECT * FROM g WHERE price > 100;",
            sink(path, "parquet", ", 'sink.rolling-policy.file-size' = '64KB'")
        )
    };
    std::fs::write(d.join("ref.sql"), sql("ref/")).unwrap();
    std::fs::write(d.join("q.sql"), sql("out/")).unwrap();
    let args = ["run", "q.sql", "--parallelism", "2", "--checkpoint-dir", "ck", "--checkpoint-interval", "20ms"];
    let args = [&args[..], &["--batch-size", "512"]].concat();
    // The reference, uninterrupted, with checkpoints as the killed runs take them (its time
    // sets when the kills land).
    let t = Instant::now();
    let ref_args: Vec<&str> = args
        .iter()
        .map(|a| {
            if *a == "q.sql" {
                "ref.sql"
            } else if *a == "ck" {
                "ck-ref"
            } else {
                a
            }
        })
        .collect();
    let r = darwin(&d, &ref_args);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let took = t.elapsed();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let mut kills = 0;
    // Inside the protocol: killed before and during the commit of part files.
    for p in ["before-commit:2", "during-commit:2", "before-commit:3", "during-commit:3"] {
        let out = Command::new(env!("CARGO_BIN_EXE_darwin"))
            .args(&args)
            .current_dir(&d)
            .env("DARWIN_CRASH_AT", p)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        kills += usize::from(out.signal() == Some(9));
    }
    // At random moments, each run a short way into what is left.
    for _ in 0..10 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_darwin"))
            .args(&args)
            .current_dir(&d)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_secs_f64(rng.gen_range(0.02..0.15) * took.as_secs_f64()));
        if child.try_wait().unwrap().is_none() {
            let _ = child.kill();
            kills += 1;
        }
        let _ = child.wait();
    }
    assert!(kills >= 10, "only {kills} kills landed (the uninterrupted run took {took:?})");
    let last = darwin(&d, &args);
    assert!(last.status.success(), "{}", text(&last.stderr));
    let read = |path: &str| {
        let q = format!(
            "CREATE TABLE r (auction BIGINT, price BIGINT, channel VARCHAR, date_time TIMESTAMP(3)) WITH \
             ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'parquet'); SELECT * FROM r;"
        );
        let out = darwin(&d, &["run", "-e", &q]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let mut v: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
        v.sort();
        v
    };
    let (want, got) = (read("ref"), read("out"));
    assert!(want.len() > 10_000, "{}", want.len());
    assert_eq!(got.len(), want.len(), "rows lost or duplicated after {kills} kills");
    assert_eq!(got, want);
    assert!(files(&d.join("out")).iter().all(|p| !p.to_string_lossy().ends_with(".inprogress")));
    let _ = std::fs::remove_dir_all(&d);
}

/// Nexmark q10's shape: bids written to `dt=.../hm=...` directories, the partition columns not
/// in the files, every row in the directory its values name.
#[test]
fn partitioned_by_writes_a_directory_per_value() {
    let d = dir("partitioned");
    let gen = GEN.replace("EVENTS", "30000");
    let sql = format!(
        "{gen}
         CREATE TABLE o (auction BIGINT, price BIGINT, dt VARCHAR, hm VARCHAR) PARTITIONED BY (dt, hm)
           WITH ('connector' = 'filesystem', 'path' = 'out', 'format' = 'csv');
         INSERT INTO o SELECT auction, price, DATE_FORMAT(date_time, 'yyyy-MM-dd'), DATE_FORMAT(date_time, 'HH:mm') FROM g;"
    );
    let out = darwin(&d, &["run", "-e", &sql, "--parallelism", "2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let parts = visible(&d.join("out"));
    assert!(!parts.is_empty());
    let mut rows = 0;
    for p in &parts {
        let rel = p.strip_prefix(d.join("out")).unwrap().to_string_lossy().into_owned();
        assert!(rel.starts_with("dt=2023-01-01/hm=00%3A0"), "{rel}");
        for line in std::fs::read_to_string(p).unwrap().lines() {
            assert_eq!(line.split(',').count(), 2, "only auction and price are in the file: {line}");
            rows += 1;
        }
    }
    assert!(rows > 20_000, "{rows}");
    // Read back with the same declaration: the partition columns come from the paths.
    let back = "CREATE TABLE o (auction BIGINT, price BIGINT, dt VARCHAR, hm VARCHAR) PARTITIONED BY (dt, hm)
           WITH ('connector' = 'filesystem', 'path' = 'out', 'format' = 'csv');
         SELECT * FROM o;";
    let direct = format!(
        "{gen} SELECT auction, price, DATE_FORMAT(date_time, 'yyyy-MM-dd'), DATE_FORMAT(date_time, 'HH:mm') FROM g;"
    );
    let sorted = |o: Output| {
        assert!(o.status.success(), "{}", text(&o.stderr));
        let mut v: Vec<String> = text(&o.stdout).lines().skip(1).map(String::from).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(darwin(&d, &["run", "-e", back])), sorted(darwin(&d, &["run", "-e", &direct])));
    let err = darwin(&d, &["run", "-e", &sql.replace("PARTITIONED BY (dt, hm)", "PARTITIONED BY (day)")]);
    assert!(text(&err.stderr).contains("PARTITIONED BY names unknown column 'day'"), "{}", text(&err.stderr));
    let _ = std::fs::remove_dir_all(&d);
}

/// Parquet parts partitioned by a string with NULLs and characters paths escape, checkpointed,
/// read back equal to the rows written (partition values from the paths, NULL included).
#[test]
fn partitioned_parquet_round_trips_with_nulls_and_escapes() {
    let d = dir("partitioned-parquet");
    let gen = GEN.replace("EVENTS", "20000");
    let value = "CASE WHEN MOD(price, 5) = 0 THEN CAST(NULL AS VARCHAR) ELSE CONCAT(channel, '/:=%', CAST(MOD(auction, 3) AS VARCHAR)) END";
    let decl = "CREATE TABLE o (auction BIGINT, c VARCHAR, price BIGINT) PARTITIONED BY (c) \
                WITH ('connector' = 'filesystem', 'path' = 'out/', 'format' = 'parquet');";
    let write = format!("{gen} {decl} INSERT INTO o SELECT auction, {value}, price FROM g;");
    let out = darwin(
        &d,
        &["run", "-e", &write, "--parallelism", "2", "--checkpoint-dir", "ck", "--checkpoint-interval", "50ms"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let subdirs: Vec<String> = std::fs::read_dir(d.join("out"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(subdirs.iter().any(|s| s == "c=__DEFAULT_PARTITION__"), "{subdirs:?}");
    assert!(subdirs.iter().any(|s| s.contains("%2F%3A%3D%25")), "{subdirs:?}");
    let sorted = |o: Output| {
        assert!(o.status.success(), "{}", text(&o.stderr));
        let mut v: Vec<String> = text(&o.stdout).lines().skip(1).map(String::from).collect();
        v.sort();
        v
    };
    let back = sorted(darwin(&d, &["run", "-e", &format!("{decl} SELECT auction, c, price FROM o;")]));
    let direct = sorted(darwin(&d, &["run", "-e", &format!("{gen} SELECT auction, {value}, price FROM g;")]));
    assert!(back.len() > 15_000, "{}", back.len());
    assert_eq!(back, direct);
    let _ = std::fs::remove_dir_all(&d);
}
