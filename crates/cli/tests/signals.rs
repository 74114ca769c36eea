//! SIGTERM and SIGINT with the real `darwin` binary and real signals: with checkpoints a run
//! takes a final checkpoint and stops, and running the same command again ends with exactly the
//! uninterrupted output; without checkpoints the sources stop, open windows close as at the end
//! of the input and the output is published complete for the records read; a second signal
//! ends the process at once and leaves the previous output alone; compiled mode forwards the
//! signal to the query's process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("darwin-sig-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Bids counted per auction and 10 s window into `out.csv`; `events` bounds the source.
fn script(events: Option<u64>) -> String {
    let bound = events.map_or(String::new(), |n| format!(", 'events' = '{n}'"));
    format!(
        "CREATE TABLE bid (auction BIGINT, price BIGINT, date_time TIMESTAMP(3),
           WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
         WITH ('connector' = 'nexmark', 'table' = 'bid'{bound});
         CREATE TABLE o (auction BIGINT, n BIGINT, w TIMESTAMP(3))
         WITH ('connector' = 'filesystem', 'path' = 'out.csv', 'format' = 'csv');
         INSERT INTO o SELECT auction, COUNT(*), window_start
         FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(date_time), INTERVAL '10' SECOND))
         GROUP BY auction, window_start, window_end;"
    )
}

fn start(d: &Path, args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut c = Command::new(env!("CARGO_BIN_EXE_darwin"));
    c.arg("run").arg("q.sql").args(args).current_dir(d).stdin(Stdio::null());
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    c.spawn().expect("darwin starts")
}

/// Waits until `path` exists: the run has started (and, once its first rows or checkpoint
/// exist, polls for signals).
fn wait_for(path: &Path, child: &mut Child) {
    let start = Instant::now();
    while !path.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("darwin ended ({status}) before {} appeared", path.display());
        }
        assert!(start.elapsed() < Duration::from_secs(120), "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the file at `path` holds something.
fn wait_for_rows(path: &Path, child: &mut Child) {
    wait_for(path, child);
    let start = Instant::now();
    while std::fs::metadata(path).map_or(0, |m| m.len()) == 0 {
        assert!(start.elapsed() < Duration::from_secs(120), "{} stayed empty", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill").arg(format!("-{sig}")).arg(child.id().to_string()).status().unwrap();
    assert!(ok.success(), "kill -{sig} failed");
}

fn rows(path: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_to_string(path).unwrap().lines().map(String::from).collect();
    v.sort();
    v
}

/// "source bid: N records read" from a run's summary.
fn records_read(err: &str) -> u64 {
    let line = err.lines().find(|l| l.starts_with("source bid: ")).unwrap_or_else(|| panic!("no summary: {err}"));
    line["source bid: ".len()..].split(' ').next().unwrap().parse().unwrap()
}

/// The counts in the output add up to the records read (none is late: Nexmark bids arrive
/// within the watermark's delay), and no window appears twice.
fn assert_complete(out: &[String], err: &str) {
    let total: u64 = out.iter().map(|r| r.split(',').nth(1).unwrap().parse::<u64>().unwrap()).sum();
    assert_eq!(total, records_read(err), "{err}");
    let mut keys: Vec<String> =
        out.iter().map(|r| r.split(',').take(3).step_by(2).collect::<Vec<_>>().join(",")).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), out.len(), "a window was written twice");
}

#[test]
fn sigterm_with_checkpoints_stops_and_the_same_command_resumes_exactly() {
    const EVENTS: u64 = 4_000_000;
    let reference = dir("ref");
    std::fs::write(reference.join("q.sql"), script(Some(EVENTS))).unwrap();
    let full = start(&reference, &[], &[]).wait_with_output().unwrap();
    assert!(full.status.success(), "{}", text(&full.stderr));

    let d = dir("term");
    std::fs::write(d.join("q.sql"), script(Some(EVENTS))).unwrap();
    let args = ["--checkpoint-dir", "ck", "--checkpoint-interval", "200ms"];
    let mut run = start(&d, &args, &[]);
    wait_for(&d.join("ck/chk-0000000001"), &mut run);
    signal(&run, "TERM");
    let stopped = run.wait_with_output().unwrap();
    let err = text(&stopped.stderr);
    assert_eq!(stopped.status.code(), Some(143), "{err}");
    assert!(err.contains("SIGTERM: stopping"), "says it is stopping: {err}");
    assert!(err.contains("-- summary --"), "prints the summary: {err}");
    assert!(
        err.contains("darwin: stopped by SIGTERM: checkpoint ") && err.contains("run the same command to resume"),
        "{err}"
    );
    assert!(records_read(&err) < EVENTS * 46 / 50, "stopped before the end: {err}");

    let resumed = start(&d, &args, &[]).wait_with_output().unwrap();
    let err = text(&resumed.stderr);
    assert!(resumed.status.success(), "{err}");
    assert!(err.contains("resuming from checkpoint"), "{err}");
    assert_eq!(rows(&d.join("out.csv")), rows(&reference.join("out.csv")), "resumed output differs");
    let _ = std::fs::remove_dir_all(&reference);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn sigint_without_checkpoints_publishes_the_complete_result_for_what_was_read() {
    let d = dir("int");
    std::fs::write(d.join("q.sql"), script(None)).unwrap();
    let mut run = start(&d, &[], &[]);
    wait_for_rows(&d.join(".out.csv.inprogress"), &mut run);
    signal(&run, "INT");
    let stopped = run.wait_with_output().unwrap();
    let err = text(&stopped.stderr);
    assert_eq!(stopped.status.code(), Some(130), "{err}");
    assert!(err.contains("SIGINT: stopping: sources stop reading"), "{err}");
    assert!(err.contains("darwin: stopped by SIGINT: the sources stopped where they were"), "{err}");
    assert!(!d.join(".out.csv.inprogress").exists(), "the in-progress file was published");
    assert_complete(&rows(&d.join("out.csv")), &err);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_second_signal_stops_at_once_and_keeps_the_previous_output() {
    let d = dir("twice");
    std::fs::write(d.join("q.sql"), script(None)).unwrap();
    std::fs::write(d.join("out.csv"), "previous,1,x\n").unwrap();
    // The test hook delays acting on the first signal, so the second surely comes before the stop.
    let mut run = start(&d, &[], &[("DARWIN_TEST_STOP_DELAY_MS", "30000")]);
    wait_for_rows(&d.join(".out.csv.inprogress"), &mut run);
    signal(&run, "TERM");
    std::thread::sleep(Duration::from_millis(300));
    let at = Instant::now();
    signal(&run, "TERM");
    let stopped: Output = run.wait_with_output().unwrap();
    let err = text(&stopped.stderr);
    assert_eq!(stopped.status.code(), Some(143), "{err}");
    assert!(at.elapsed() < Duration::from_secs(20), "the second signal did not stop the run at once");
    assert!(!err.contains("-- summary --"), "{err}");
    assert_eq!(std::fs::read_to_string(d.join("out.csv")).unwrap(), "previous,1,x\n");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn compiled_mode_forwards_the_signal_to_the_query() {
    let d = dir("compiled");
    std::fs::write(d.join("q.sql"), script(None)).unwrap();
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("darwin-compile-cache");
    let cache = cache.to_str().unwrap();
    let mut run = start(&d, &["--mode", "compiled", "--cache-dir", cache], &[]);
    wait_for_rows(&d.join(".out.csv.inprogress"), &mut run);
    signal(&run, "TERM");
    let stopped = run.wait_with_output().unwrap();
    let err = text(&stopped.stderr);
    assert_eq!(stopped.status.code(), Some(143), "{err}");
    assert!(err.contains("executor: compiled"), "{err}");
    assert!(err.contains("darwin: stopped by SIGTERM: the sources stopped where they were"), "{err}");
    assert_complete(&rows(&d.join("out.csv")), &err);
    let _ = std::fs::remove_dir_all(&d);
}
