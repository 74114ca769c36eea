//! Parquet and Arrow IPC files with the real binary and a real second implementation (pyarrow,
//! from PyPI through scripts/pyenv.sh): files pyarrow writes, of every type a SQL column
//! accepts, Darwin reads on several workers and writes back, and pyarrow finds every value as it
//! should be; a run reading Parquet that is killed at checkpoints resumes to the uninterrupted
//! run's output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn darwin(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_darwin")).args(args).current_dir(cwd).stdin(Stdio::null()).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("darwin-parquet-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A Python with pyarrow (installed into a cache venv on first use).
fn python() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pyenv.sh");
    let out = Command::new("bash").arg(script).stderr(Stdio::inherit()).output().unwrap();
    assert!(out.status.success(), "scripts/pyenv.sh could not install pyarrow");
    PathBuf::from(text(&out.stdout).trim())
}

fn run_python(cwd: &Path, code: &str, args: &[&str]) -> String {
    let out = Command::new(python()).arg("-c").arg(code).args(args).current_dir(cwd).output().unwrap();
    assert!(out.status.success(), "python failed:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

const WRITE: &str = r#"
import pyarrow as pa, pyarrow.parquet as pq, random, decimal, os
random.seed(7)
import pyarrow.ipc as ipc
os.makedirs("in", exist_ok=True)
os.makedirs("in_arrow", exist_ok=True)
def col(n, f, nulls=True):
    return [None if nulls and random.random() < 0.1 else f(i) for i in range(n)]
for part, (start, n, comp) in enumerate([(0, 3000, "snappy"), (3000, 2500, "zstd"), (5500, 0, "none")]):
    t = pa.table({
        "id": pa.array(range(start, start + n), pa.int64()),
        "i8": pa.array(col(n, lambda i: random.randint(-128, 127)), pa.int8()),
        "u16": pa.array(col(n, lambda i: random.randint(0, 65535)), pa.uint16()),
        "i32": pa.array(col(n, lambda i: random.randint(-2**31, 2**31 - 1)), pa.int32()),
        "u32": pa.array(col(n, lambda i: random.randint(0, 2**32 - 1)), pa.uint32()),
        "f32": pa.array(col(n, lambda i: random.uniform(-1e6, 1e6)), pa.float32()),
        "f64": pa.array(col(n, lambda i: random.uniform(-1e300, 1e300)), pa.float64()),
        "dec": pa.array(col(n, lambda i: decimal.Decimal(random.randint(-10**9, 10**9)) / 100), pa.decimal128(11, 2)),
        "ts_us": pa.array(col(n, lambda i: random.randint(-2**50, 2**50)), pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        "ts_ns": pa.array(col(n, lambda i: random.randint(-2**62, 2**62)), pa.int64()).cast(pa.timestamp("ns")),
        "d32": pa.array(col(n, lambda i: random.randint(-100000, 100000)), pa.int32()).cast(pa.date32()),
        "s": pa.array(col(n, lambda i: random.choice(["", "é", "日本", "a,b", "x" * random.randint(0, 40)]))),
        "ls": pa.array(col(n, lambda i: str(i) * 3), pa.large_string()),
        "dict": pa.array(col(n, lambda i: random.choice(["red", "green", "blue"]))).dictionary_encode(),
        "b": pa.array(col(n, lambda i: random.random() < 0.5), pa.bool_()),
    })
    pq.write_table(t, f"in/part-{part}.parquet", row_group_size=700, compression=comp)
    with ipc.new_file(f"in_arrow/part-{part}.arrow", t.schema) as w:
        for b in t.to_batches(max_chunksize=700):
            w.write_batch(b)
"#;

const COLUMNS: &str = "id BIGINT, i8 INT, u16 INT, i32 BIGINT, u32 BIGINT, f32 DOUBLE, f64 DOUBLE, \
    dec DECIMAL(14, 3), ts_us TIMESTAMP(3), ts_ns TIMESTAMP(3), d32 TIMESTAMP(3), s VARCHAR, ls VARCHAR, \
    dict VARCHAR, b BOOLEAN";

/// What Darwin wrote equals what pyarrow wrote, column by column, as the SQL types read it:
/// integers and floats widened, decimals rescaled, timestamps in milliseconds (floored), dates
/// at midnight, dictionary strings as strings, NULLs kept.
const CHECK: &str = r#"
import pyarrow as pa, pyarrow.parquet as pq, pyarrow.ipc as ipc, glob, sys
fmt = sys.argv[1]
read = pq.read_table if fmt == "parquet" else (lambda f: ipc.open_file(f).read_all())
src = pa.concat_tables([pq.read_table(f) for f in sorted(glob.glob("in/*.parquet"))], promote_options="permissive").sort_by("id")
out = read("out." + fmt).sort_by("id")
assert out.num_rows == src.num_rows, (out.num_rows, src.num_rows)
def ms(col, per_ms):
    return [None if v is None else v // per_ms for v in col.cast(pa.int64()).to_pylist()]
times = ("ts_us", "ts_ns", "d32")
expect = {c: src[c].to_pylist() for c in src.column_names if c not in times}
expect["f32"] = [None if v is None else float(v) for v in expect["f32"]]
expect["ts_us"] = ms(src["ts_us"], 1000)
expect["ts_ns"] = ms(src["ts_ns"], 1000000)
expect["d32"] = [None if v is None else v * 86400000 for v in src["d32"].cast(pa.int32()).to_pylist()]
expect["dict"] = src["dict"].cast(pa.string()).to_pylist()
got = {c: out[c].to_pylist() for c in out.column_names if c not in times}
for c in ("ts_us", "ts_ns", "d32"):
    got[c] = out[c].cast(pa.int64()).to_pylist()
assert out.schema.field("ts_us").type == pa.timestamp("ms"), out.schema
assert out.schema.field("dec").type == pa.decimal128(14, 3), out.schema
for c in src.column_names:
    bad = [(i, a, b) for i, (a, b) in enumerate(zip(expect[c], got[c])) if a != b]
    assert not bad, (c, bad[:3])
print("rows", out.num_rows)
"#;

#[test]
fn pyarrow_files_of_every_type_read_on_several_workers_and_write_back_equal() {
    let d = dir("interop");
    run_python(&d, WRITE, &[]);
    for (fmt, input, options) in [
        ("parquet", "in", ", 'parquet.compression' = 'zstd', 'parquet.row-group-rows' = '1000'"),
        ("arrow", "in_arrow", ""),
    ] {
        let sql = format!(
            "CREATE TABLE src ({COLUMNS}) WITH ('connector' = 'filesystem', 'path' = '{input}', 'format' = '{fmt}');
             CREATE TABLE o ({COLUMNS}) WITH ('connector' = 'filesystem', 'path' = 'out.{fmt}', 'format' = '{fmt}'{options});
             INSERT INTO o SELECT * FROM src;"
        );
        let out = darwin(&d, &["run", "-e", &sql, "--parallelism", "3"]);
        assert!(out.status.success(), "{fmt}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("5500 records read"), "{fmt}: {}", text(&out.stderr));
        assert_eq!(run_python(&d, CHECK, &[fmt]).trim(), "rows 5500", "{fmt}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// A value that does not fit the declared type names the file, row group, row and column.
#[test]
fn a_value_out_of_range_names_its_file_row_group_and_column() {
    let d = dir("range");
    run_python(&d, WRITE, &[]);
    let sql =
        "CREATE TABLE src (id BIGINT, u32 INT) WITH ('connector' = 'filesystem', 'path' = 'in', 'format' = 'parquet');
               SELECT SUM(u32) FROM src;";
    // One worker: the first row group holding a value too large fails the run.
    let out = darwin(&d, &["run", "-e", sql, "--parallelism", "1"]);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    let at = run_python(
        &d,
        "import pyarrow.parquet as pq\nf = pq.ParquetFile('in/part-0.parquet')\n\
         for g in range(f.num_row_groups):\n    v = f.read_row_group(g, columns=['u32'])['u32'].to_pylist()\n    \
         bad = [i for i, x in enumerate(v) if x is not None and x > 2**31 - 1]\n    \
         if bad: print(f'row group {g}, row {bad[0]}'); break\n",
        &[],
    );
    assert!(err.contains(&format!("part-0.parquet) at {}", at.trim())) && err.contains("column 'u32'"), "{err} / {at}");
    assert!(err.contains("out of range"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

/// Killed before the commit of its 3rd checkpoint, a run from Parquet files to CSV resumes and
/// writes what an uninterrupted run writes, each row once.
#[test]
fn a_run_reading_parquet_resumes_after_a_kill_with_the_same_output() {
    let d = dir("crash");
    run_python(&d, WRITE, &[]);
    let sql = |out: &str| {
        format!(
            "CREATE TABLE src ({COLUMNS}) WITH ('connector' = 'filesystem', 'path' = 'in', 'format' = 'parquet');
             CREATE TABLE o (id BIGINT, s VARCHAR, ts_ns TIMESTAMP(3)) WITH ('connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv');
             INSERT INTO o SELECT id, s, ts_ns FROM src WHERE b OR b IS NULL;"
        )
    };
    std::fs::write(d.join("ref.sql"), sql("ref.csv")).unwrap();
    std::fs::write(d.join("q.sql"), sql("out.csv")).unwrap();
    assert!(darwin(&d, &["run", "ref.sql", "--parallelism", "2"]).status.success());
    let args = ["run", "q.sql", "--parallelism", "2", "--checkpoint-dir", "ck", "--checkpoint-interval", "1ms"];
    let args = [&args[..], &["--batch-size", "16"]].concat();
    let killed = Command::new(env!("CARGO_BIN_EXE_darwin"))
        .args(&args)
        .current_dir(&d)
        .env("DARWIN_CRASH_AT", "before-commit:3")
        .stderr(Stdio::null())
        .status()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(killed.signal(), Some(9), "the run was to be killed at its 3rd commit");
    let resumed = darwin(&d, &args);
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    let sorted = |f: &str| {
        let mut v: Vec<String> = std::fs::read_to_string(d.join(f)).unwrap().lines().map(String::from).collect();
        v.sort();
        v
    };
    let (want, got) = (sorted("ref.csv"), sorted("out.csv"));
    assert!(want.len() > 2000, "{}", want.len());
    assert_eq!(got, want);
    let _ = std::fs::remove_dir_all(&d);
}

/// Random filters on columns of each kind that statistics can skip by (BIGINT, TIMESTAMP,
/// VARCHAR, DECIMAL) give over Parquet, whose row groups are skipped by their statistics, the
/// same counts and sums as over the same rows in CSV, which is read whole; and skipping happens.
#[test]
fn row_groups_skipped_by_statistics_change_no_result() {
    use rand::{Rng, SeedableRng};
    let d = dir("ranges");
    let cols = "auction BIGINT, price BIGINT, channel VARCHAR, date_time TIMESTAMP(3)";
    let load = format!(
        "CREATE TABLE g ({cols}) WITH ('connector' = 'nexmark', 'table' = 'bid', 'events' = '60000');
         CREATE TABLE p ({cols}, m DECIMAL(12, 2)) WITH ('connector' = 'filesystem', 'path' = 'b.parquet', 'format' = 'parquet',
           'parquet.row-group-rows' = '2000');
         CREATE TABLE c ({cols}, m DECIMAL(12, 2)) WITH ('connector' = 'filesystem', 'path' = 'b.csv', 'format' = 'csv');
         INSERT INTO p SELECT *, CAST(price AS DECIMAL(12, 2)) FROM g;
         INSERT INTO c SELECT *, CAST(price AS DECIMAL(12, 2)) FROM g;"
    );
    let out = darwin(&d, &["run", "-e", &load, "--parallelism", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let mut skipped_some = false;
    for case in 0..16 {
        let ops = ["<", "<=", ">", ">=", "="];
        let o: Vec<&str> = (0..5).map(|_| ops[rng.gen_range(0..ops.len())]).collect();
        let t = format!("TIMESTAMP '2023-01-01 00:00:{:02}.{:03}'", rng.gen_range(0..6), rng.gen_range(0..1000));
        let conds = [
            format!("auction {} {}", o[0], 1000 + rng.gen_range(0..10_000)),
            format!("date_time {} {t}", o[1]),
            format!("{} {} auction", 1000 + rng.gen_range(0..10_000), o[2]),
            format!("channel {} '{}'", o[3], ["Apple", "Google", "Facebook", "Baidu", "channel-5"][case % 5]),
            format!("m {} {}.{:02}", o[4], rng.gen_range(0..100_000), rng.gen_range(0..100)),
            format!("date_time BETWEEN {t} AND {t} + INTERVAL '1' SECOND"),
        ];
        let a = &conds[rng.gen_range(0..conds.len())];
        let b = &conds[rng.gen_range(0..conds.len())];
        let query = |table: &str, path: &str, fmt: &str| {
            format!(
                "CREATE TABLE {table} ({cols}, m DECIMAL(12, 2)) WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = '{fmt}');
                 SELECT COUNT(*) AS n, SUM(price) AS s, MIN(date_time) AS t FROM {table} WHERE {a} AND {b};"
            )
        };
        let pq = darwin(&d, &["run", "-e", &query("t", "b.parquet", "parquet"), "--parallelism", "2"]);
        let csv = darwin(&d, &["run", "-e", &query("t", "b.csv", "csv"), "--parallelism", "2"]);
        assert!(pq.status.success() && csv.status.success(), "{}{}", text(&pq.stderr), text(&csv.stderr));
        assert_eq!(text(&pq.stdout), text(&csv.stdout), "case {case}: {a} AND {b}");
        let read =
            |o: &Output| text(&o.stderr).split("records read").next().unwrap().rsplit(' ').nth(1).unwrap().to_string();
        skipped_some |= read(&pq) != read(&csv);
    }
    assert!(skipped_some, "no filter skipped a row group");
    let _ = std::fs::remove_dir_all(&d);
}
