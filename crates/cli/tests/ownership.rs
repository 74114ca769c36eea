//! A run owns what it writes, and a failed run writes nothing: real `darwin` processes on real
//! files. Two runs on one checkpoint directory or one output file (the second is refused and
//! names the first); a sink on a source's path, through `..` or a symbolic link, and two sinks on
//! one file (refused at planning, the input intact); a relative path resumed from another
//! working directory (one output, where the query first ran); a run that fails on its last row
//! (the previous output untouched, no in-progress file left); stray entries in the checkpoint
//! directory (ignored with a warning); and arguments that would run nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn darwin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_darwin"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("darwin-own-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run_in(cwd: &Path, args: &[&str]) -> Output {
    darwin().args(args).current_dir(cwd).stdin(Stdio::null()).output().expect("darwin runs")
}

/// An unbounded Nexmark source counted per auction into a CSV file: runs until killed.
const ENDLESS: &str = "CREATE TABLE bid (auction BIGINT, price BIGINT, date_time TIMESTAMP(3),
    WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
  WITH ('connector' = 'nexmark', 'table' = 'bid');
CREATE TABLE o (auction BIGINT, n BIGINT) WITH ('connector' = 'filesystem', 'path' = 'out.csv', 'format' = 'csv');
INSERT INTO o SELECT auction, COUNT(*) FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(date_time), INTERVAL '10' SECOND))
  GROUP BY auction, window_start, window_end;";

/// Waits until `path` exists (a run has started and taken its locks).
fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < Duration::from_secs(60), "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_second_run_on_the_same_checkpoint_directory_or_output_is_refused() {
    let d = dir("twice");
    std::fs::write(d.join("q.sql"), ENDLESS).unwrap();
    let mut first = darwin()
        .args(["run", "q.sql", "--checkpoint-dir", "ck", "--checkpoint-interval", "100ms"])
        .current_dir(&d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&d.join("ck/chk-0000000001"));
    let pid = first.id().to_string();
    let same_dir = run_in(&d, &["run", "q.sql", "--checkpoint-dir", "ck"]);
    let err = text(&same_dir.stderr);
    assert!(!same_dir.status.success(), "{err}");
    assert!(err.contains("checkpoint directory ck is in use by another darwin run") && err.contains(&pid), "{err}");
    let same_output = run_in(&d, &["run", "q.sql", "--checkpoint-dir", "ck2"]);
    let err = text(&same_output.stderr);
    assert!(!same_output.status.success(), "{err}");
    assert!(err.contains("out.csv is in use by another darwin run") && err.contains(&pid), "{err}");
    first.kill().unwrap();
    first.wait().unwrap();
    // The kernel released the locks with the process: the directory is usable again.
    std::fs::write(d.join("q.sql"), ENDLESS.replace("'table' = 'bid'", "'table' = 'bid', 'events' = '20000'")).unwrap();
    let out = run_in(&d, &["run", "q.sql", "--checkpoint-dir", "ck3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&d);
}

const ROWS: &str = "1,10\n2,20\n3,30\n";

fn copy_script(src: &str, dst: &str) -> String {
    format!(
        "CREATE TABLE s (a BIGINT, b BIGINT) WITH ('connector' = 'filesystem', 'path' = '{src}', 'format' = 'csv');
         CREATE TABLE o (a BIGINT, b BIGINT) WITH ('connector' = 'filesystem', 'path' = '{dst}', 'format' = 'csv');
         INSERT INTO o SELECT * FROM s;"
    )
}

#[test]
fn a_sink_on_a_source_or_another_sink_is_refused_and_the_input_stays() {
    let d = dir("overlap");
    std::fs::write(d.join("in.csv"), ROWS).unwrap();
    std::fs::create_dir_all(d.join("sub")).unwrap();
    std::fs::create_dir_all(d.join("parts")).unwrap();
    std::fs::write(d.join("parts/p0.csv"), ROWS).unwrap();
    std::os::unix::fs::symlink(d.join("in.csv"), d.join("link.csv")).unwrap();
    for (src, dst, why) in [
        ("in.csv", "in.csv", "which table 's' reads"),
        ("in.csv", "sub/../in.csv", "which table 's' reads"),
        ("in.csv", "./nowhere/../in.csv", "which table 's' reads"),
        ("link.csv", "in.csv", "which table 's' reads"),
        ("parts", "parts/out.csv", "inside a directory table 's' reads"),
    ] {
        let out = run_in(&d, &["run", "-e", &copy_script(src, dst)]);
        let err = text(&out.stderr);
        assert!(!out.status.success() && err.contains(why) && err.contains("overwrite its own input"), "{dst}: {err}");
        assert_eq!(std::fs::read_to_string(d.join("in.csv")).unwrap(), ROWS, "{dst}: the input is intact");
    }
    assert!(!d.join("nowhere").exists() && !d.join("parts/out.csv").exists());
    let two = format!(
        "{} CREATE TABLE o2 (a BIGINT, b BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}/o.csv', \
         'format' = 'csv'); INSERT INTO o2 SELECT * FROM s;",
        copy_script("in.csv", "o.csv"),
        d.display()
    );
    let out = run_in(&d, &["run", "-e", &two]);
    let err = text(&out.stderr);
    assert!(!out.status.success() && err.contains("tables 'o' and 'o2' both write to"), "{err}");
    assert!(!d.join("o.csv").exists());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_failed_run_leaves_the_previous_output_and_says_so() {
    let d = dir("failed");
    std::fs::write(d.join("in.csv"), "1,2\n2,1\n3,0\n").unwrap();
    std::fs::write(d.join("out.csv"), "previous\n").unwrap();
    let sql =
        "CREATE TABLE s (a BIGINT, b BIGINT) WITH ('connector' = 'filesystem', 'path' = 'in.csv', 'format' = 'csv');
        CREATE TABLE o (q BIGINT) WITH ('connector' = 'filesystem', 'path' = 'out.csv', 'format' = 'csv');
        INSERT INTO o SELECT a / b FROM s;";
    let out = run_in(&d, &["run", "-e", sql, "--batch-size", "1"]);
    let err = text(&out.stderr);
    assert!(!out.status.success() && err.contains("division by zero"), "{err}");
    assert!(err.contains("keeps its previous content"), "{err}");
    assert_eq!(std::fs::read_to_string(d.join("out.csv")).unwrap(), "previous\n");
    let left: Vec<String> =
        std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!left.iter().any(|n| n.contains("inprogress")), "{left:?}");
    // The same run without the bad row replaces the output whole.
    std::fs::write(d.join("in.csv"), "1,2\n2,1\n").unwrap();
    let out = run_in(&d, &["run", "-e", sql, "--batch-size", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(d.join("out.csv")).unwrap(), "0\n2\n");
    let _ = std::fs::remove_dir_all(&d);
}

/// A full disk: a 256 KiB tmpfs holds the output (where mounting is not allowed, a 256 KiB
/// file-size limit from the kernel instead). The run fails naming the in-progress file and the
/// OS error, and the previous output stays as it was.
#[test]
fn a_full_disk_fails_the_run_names_the_file_and_keeps_the_previous_output() {
    let d = dir("full");
    let disk = d.join("disk");
    std::fs::create_dir_all(&disk).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&disk)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    std::fs::write(disk.join("out.csv"), "previous\n").unwrap();
    let sql = "CREATE TABLE bid (auction BIGINT, price BIGINT) WITH ('connector' = 'nexmark', 'table' = 'bid', 'events' = '200000');
        CREATE TABLE o (a BIGINT, p BIGINT) WITH ('connector' = 'filesystem', 'path' = 'disk/out.csv', 'format' = 'csv');
        INSERT INTO o SELECT auction, price FROM bid;";
    let darwin = env!("CARGO_BIN_EXE_darwin");
    let out = if mounted {
        run_in(&d, &["run", "-e", sql])
    } else {
        // SIGXFSZ ignored: a write past the limit fails with EFBIG, as on a full disk.
        let limited = "trap '' XFSZ; ulimit -f 256 && exec \"$0\" \"$@\"";
        Command::new("bash").args(["-c", limited, darwin, "run", "-e", sql]).current_dir(&d).output().unwrap()
    };
    let err = text(&out.stderr);
    let kept = std::fs::read_to_string(disk.join("out.csv")).unwrap();
    let left: Vec<String> =
        std::fs::read_dir(&disk).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    if mounted {
        let _ = Command::new("umount").arg(&disk).status();
    }
    assert!(!out.status.success(), "{err}");
    let os_error = if mounted { "No space left on device" } else { "File too large" };
    assert!(err.contains(".out.csv.inprogress") && err.contains(os_error), "names the file and the error: {err}");
    assert!(err.contains("keeps its previous content"), "{err}");
    assert_eq!(kept, "previous\n");
    assert!(!left.iter().any(|n| n.contains("inprogress")), "{left:?}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_relative_path_resumes_where_the_query_first_ran() {
    let d = dir("relative");
    let (here, elsewhere) = (d.join("here"), d.join("elsewhere"));
    std::fs::create_dir_all(&here).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    let rows: String = (0..20_000).map(|i| format!("{},{}\n", i % 100, i)).collect();
    std::fs::write(here.join("in.csv"), &rows).unwrap();
    let sql = format!("{} SET 'batch-size' = '64';", copy_script("in.csv", "out.csv"));
    std::fs::write(d.join("q.sql"), &sql).unwrap();
    let ck = d.join("ck").display().to_string();
    let q = d.join("q.sql").display().to_string();
    let mut first = darwin()
        .args(["run", &q, "--checkpoint-dir", &ck, "--checkpoint-interval", "10ms", "--parallelism", "1"])
        .current_dir(&here)
        .env("DARWIN_CRASH_AT", "before-commit:3")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let killed = first.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(killed.signal(), Some(9), "the first run is killed inside its third commit");
    let out = run_in(&elsewhere, &["run", &q, "--checkpoint-dir", &ck, "--parallelism", "1"]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("where this query first ran"), "{err}");
    assert!(!elsewhere.join("out.csv").exists(), "nothing is written relative to the new directory");
    let mut got: Vec<&str> = Vec::new();
    let written = std::fs::read_to_string(here.join("out.csv")).unwrap();
    got.extend(written.lines());
    got.sort_unstable();
    let mut want: Vec<&str> = rows.lines().collect();
    want.sort_unstable();
    assert_eq!(got, want, "every row once, in the first directory's output");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn stray_entries_in_the_checkpoint_directory_are_ignored_with_a_warning() {
    let d = dir("stray");
    std::fs::write(d.join("in.csv"), ROWS).unwrap();
    std::fs::write(d.join("q.sql"), copy_script("in.csv", "out.csv")).unwrap();
    let missing = run_in(&d, &["run", "q.sql", "--checkpoint-dir", "ck"]);
    let err = text(&missing.stderr);
    assert!(missing.status.success() && err.contains("ck does not exist: created it"), "{err}");
    std::fs::write(d.join("ck/chk-0000000099"), "not a checkpoint").unwrap();
    std::fs::create_dir_all(d.join("ck/chk-12")).unwrap();
    std::fs::write(d.join("ck/notes.txt"), "mine").unwrap();
    let again = run_in(&d, &["run", "q.sql", "--checkpoint-dir", "ck"]);
    let err = text(&again.stderr);
    assert!(again.status.success(), "{err}");
    for name in ["chk-0000000099", "chk-12", "notes.txt"] {
        assert!(err.contains(&format!("ignoring {name} in ck")), "{name}: {err}");
        assert!(d.join("ck").join(name).exists(), "{name} is left alone");
    }
    assert!(err.contains("already ran to completion"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn arguments_that_would_run_nothing_are_refused() {
    for args in [["--parallelism", "0"], ["--batch-size", "0"]] {
        let out = darwin().args(["run", "-e", "SELECT 1"]).args(args).output().unwrap();
        let err = text(&out.stderr);
        assert!(!out.status.success() && err.contains("must be at least 1"), "{args:?}: {err}");
    }
}
