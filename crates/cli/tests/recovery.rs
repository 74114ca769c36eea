//! Crash tests of checkpoints and exactly-once recovery, with the real `darwin` binary: a
//! windowed query with joins and four file sinks runs over partitioned CSV files (and a file
//! read by several workers in 997-byte chunks) with a short
//! checkpoint interval; the process is SIGKILLed at random moments and at chosen points of the
//! checkpoint protocol, restarted until it finishes, and its output must equal an
//! uninterrupted run's exactly (nothing lost, nothing duplicated). Damaged checkpoints, a
//! changed query, a failing checkpoint write and a full disk (a real file-size limit) are
//! checked with real files.

use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SINKS: [&str; 4] = ["hot.csv", "per_cat.csv", "sess.json", "top.csv"];

fn ts(ms: i64) -> String {
    // 2023-01-01 00:00:00 UTC plus `ms`, as TIMESTAMP(3) text.
    let (s, ms) = (ms / 1000, ms % 1000);
    format!("2023-01-01 {:02}:{:02}:{:02}.{ms:03}", s / 3600, (s / 60) % 60, s % 60)
}

/// Bids in three partition files (each nearly in time order: jitter below the watermark's 1 s
/// delay, so no record is late and results do not depend on thread timing) and auctions.
fn write_data(dir: &Path, bids_per_part: usize) {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    std::fs::create_dir_all(dir.join("bids")).unwrap();
    let span = 60_000i64;
    for p in 0..3 {
        let mut s = String::new();
        for i in 0..bids_per_part {
            let t = i as i64 * span / bids_per_part as i64 + rng.gen_range(0..400);
            let auction = 1000 + rng.gen_range(0..300) * rng.gen_range(1..3);
            s.push_str(&format!("{auction},{},{},{}\n", rng.gen_range(0..3000), rng.gen_range(1..20_000), ts(t)));
        }
        std::fs::write(dir.join(format!("bids/part{p}.csv")), s).unwrap();
    }
    let mut s = String::new();
    for id in 1000..1600i64 {
        s.push_str(&format!("{id},{},{}\n", id % 7, ts((id - 1000) * 100)));
    }
    std::fs::write(dir.join("auctions.csv"), s).unwrap();
}

fn script(dir: &Path, hot_window: u32) -> String {
    let d = dir.display();
    format!(
        "CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, date_time TIMESTAMP(3),
           WATERMARK FOR date_time AS date_time - INTERVAL '1' SECOND)
         WITH ('connector' = 'filesystem', 'path' = '{d}/bids', 'format' = 'csv');
         CREATE TABLE auction (id BIGINT, category BIGINT, date_time TIMESTAMP(3),
           WATERMARK FOR date_time AS date_time - INTERVAL '1' SECOND)
         WITH ('connector' = 'filesystem', 'path' = '{d}/auctions.csv', 'format' = 'csv', 'source.split-bytes' = '997');
         CREATE TABLE hot (auction BIGINT, num BIGINT, starttime TIMESTAMP(3))
         WITH ('connector' = 'filesystem', 'path' = '{d}/out/hot.csv', 'format' = 'csv');
         CREATE TABLE per_cat (category BIGINT, bids BIGINT, total BIGINT, wend TIMESTAMP(3))
         WITH ('connector' = 'filesystem', 'path' = '{d}/out/per_cat.csv', 'format' = 'csv');
         CREATE TABLE sess (bidder BIGINT, n BIGINT, s TIMESTAMP(3))
         WITH ('connector' = 'filesystem', 'path' = '{d}/out/sess.json', 'format' = 'json');
         CREATE TABLE top (auction BIGINT, price BIGINT, bidder BIGINT, date_time TIMESTAMP(3))
         WITH ('connector' = 'filesystem', 'path' = '{d}/out/top.csv', 'format' = 'csv');
         INSERT INTO hot
         SELECT a.auction, a.num, a.starttime FROM (
           SELECT auction, COUNT(*) AS num, window_start AS starttime, window_end AS endtime
           FROM TABLE(HOP(TABLE bid, DESCRIPTOR(date_time), INTERVAL '2' SECOND, INTERVAL '{hot_window}' SECOND))
           GROUP BY auction, window_start, window_end) a
         JOIN (
           SELECT MAX(c.num) AS maxn, c.starttime, c.endtime FROM (
             SELECT COUNT(*) AS num, window_start AS starttime, window_end AS endtime
             FROM TABLE(HOP(TABLE bid, DESCRIPTOR(date_time), INTERVAL '2' SECOND, INTERVAL '{hot_window}' SECOND))
             GROUP BY auction, window_start, window_end) c
           GROUP BY c.starttime, c.endtime) m
         ON a.starttime = m.starttime AND a.endtime = m.endtime AND a.num >= m.maxn;
         INSERT INTO per_cat
         SELECT A.category, COUNT(*), SUM(B.price), B.window_end
         FROM (SELECT * FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(date_time), INTERVAL '5' SECOND))) B
         JOIN (SELECT * FROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(date_time), INTERVAL '5' SECOND))) A
         ON B.auction = A.id AND B.window_start = A.window_start AND B.window_end = A.window_end
         GROUP BY A.category, B.window_start, B.window_end;
         INSERT INTO sess
         SELECT bidder, COUNT(*), window_start
         FROM TABLE(SESSION(TABLE bid PARTITION BY bidder, DESCRIPTOR(date_time), INTERVAL '2' SECOND))
         GROUP BY bidder, window_start, window_end;
         INSERT INTO top
         SELECT B.auction, B.price, B.bidder, B.date_time
         FROM bid B
         JOIN (SELECT MAX(price) AS maxprice, window_end AS date_time
               FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(date_time), INTERVAL '4' SECOND))
               GROUP BY window_start, window_end) B1
         ON B.price = B1.maxprice
         WHERE B.date_time BETWEEN B1.date_time - INTERVAL '4' SECOND AND B1.date_time;"
    )
}

struct Job {
    dir: PathBuf,
    sql: PathBuf,
}

impl Job {
    /// A fresh directory with data and the script; `bids_per_part` sets the run's length.
    fn new(name: &str, bids_per_part: usize) -> Job {
        let dir = std::env::temp_dir().join(format!("darwin-recovery-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        write_data(&dir, bids_per_part);
        let sql = dir.join("q.sql");
        std::fs::write(&sql, script(&dir, 10)).unwrap();
        Job { dir, sql }
    }

    fn command(&self, parallelism: usize, extra: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_darwin"));
        c.arg("run").arg(&self.sql).arg("--parallelism").arg(parallelism.to_string());
        // Small batches and a short interval: sources inject barriers between batches, so a
        // run takes many checkpoints (about 18 here) even on a fast machine, and the crash
        // points below (at most the 3rd) fall well before the final one.
        c.arg("--checkpoint-dir").arg(self.dir.join("ckpt")).args(["--checkpoint-interval", "10ms"]);
        c.args(["--batch-size", "256"]);
        c.args(extra).stdout(Stdio::null()).stderr(Stdio::piped());
        c
    }

    fn run(&self, parallelism: usize, extra: &[&str], crash_at: Option<&str>) -> Output {
        let mut c = self.command(parallelism, extra);
        if let Some(p) = crash_at {
            c.env("DARWIN_CRASH_AT", p);
        }
        c.output().expect("darwin runs")
    }

    /// Runs from a fresh start until a run completes, SIGKILLing each run that is still going
    /// after a random fraction (`wait`) of `took`, at most `max_kills` times. Returns the kills
    /// and the completing run's output.
    fn run_with_kills(
        &self,
        parallelism: usize,
        extra: &[&str],
        rng: &mut rand::rngs::SmallRng,
        wait: std::ops::Range<f64>,
        took: Duration,
        max_kills: usize,
    ) -> (usize, Output) {
        let mut kills = 0;
        let mut args: Vec<&str> = extra.to_vec();
        args.push("--fresh");
        loop {
            let mut child = self.command(parallelism, &args).spawn().expect("darwin starts");
            args.retain(|a| *a != "--fresh");
            std::thread::sleep(Duration::from_secs_f64(rng.gen_range(wait.clone()) * took.as_secs_f64()));
            if kills < max_kills && child.try_wait().unwrap().is_none() {
                kill(child);
                kills += 1;
                continue;
            }
            return (kills, child.wait_with_output().unwrap());
        }
    }

    /// The output files, each as sorted lines.
    fn output(&self) -> Vec<Vec<String>> {
        SINKS
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(self.dir.join("out").join(f)).unwrap_or_default();
                let mut lines: Vec<String> = text.lines().map(String::from).collect();
                lines.sort();
                lines
            })
            .collect()
    }

    /// An uninterrupted run without checkpoints: the expected output, and how long it took.
    fn reference(&self) -> (Vec<Vec<String>>, Duration) {
        let t = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_darwin"))
            .arg("run")
            .arg(&self.sql)
            .args(["--parallelism", "2"])
            .output()
            .expect("darwin runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let elapsed = t.elapsed();
        let expected = self.output();
        assert!(expected.iter().all(|s| !s.is_empty()), "every sink has output: {expected:?}");
        std::fs::remove_dir_all(self.dir.join("out")).unwrap();
        (expected, elapsed)
    }

    fn state_file(&self, checkpoint: u64, file: &str) -> PathBuf {
        self.dir.join("ckpt").join(format!("chk-{checkpoint:010}")).join(file)
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn kill(mut child: Child) {
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
}

#[test]
fn random_kills_give_exactly_the_uninterrupted_output() {
    let job = Job::new("random", 15_000);
    let (expected, took) = job.reference();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(42);
    let mut kills = 0;
    let mut rounds = 0;
    while kills < 16 {
        rounds += 1;
        let parallelism = 1 + rounds % 2;
        let (k, out) = job.run_with_kills(parallelism, &[], &mut rng, 0.02..1.3, took, usize::MAX);
        kills += k;
        assert!(out.status.success(), "round {rounds}: {}", stderr(&out));
        assert_eq!(job.output(), expected, "round {rounds} (parallelism {parallelism}) after {kills} kills in all");
    }
    let _ = std::fs::remove_dir_all(&job.dir);
}

#[test]
fn kills_inside_the_checkpoint_protocol_lose_and_duplicate_nothing() {
    let job = Job::new("points", 8_000);
    let (expected, _) = job.reference();
    for (i, point) in
        ["after-state-files:3", "before-rename:2", "before-commit:3", "during-commit:2", "before-commit:1"]
            .iter()
            .enumerate()
    {
        let fresh: &[&str] = &["--fresh"];
        let out = job.run(2, fresh, Some(point));
        assert_eq!(out.status.code(), None, "{point}: killed by a signal, not exited: {}", stderr(&out));
        let out = job.run(2, &[], None);
        assert!(out.status.success(), "{point}: {}", stderr(&out));
        // A kill at or after the commit point leaves the n-th checkpoint complete, and it may be
        // the final one (how many checkpoints a run takes depends on the machine's speed): the
        // restart then completes that commit and finds the run complete. Either way the output
        // must be exactly the uninterrupted one.
        let err = stderr(&out);
        let (name, n) = point.split_once(':').unwrap();
        let completed = format!("already ran to completion (checkpoint {n} ");
        assert!(
            err.contains("resuming from checkpoint")
                || (matches!(name, "before-commit" | "during-commit") && err.contains(&completed)),
            "{point}: {err}"
        );
        assert_eq!(job.output(), expected, "after a kill at {point} (case {i})");
    }
    let _ = std::fs::remove_dir_all(&job.dir);
}

/// Regression (CI failed when a fast machine made checkpoint 3 the final one): a kill between
/// writing the final checkpoint and committing its output. The restart completes the commit
/// and finds the run complete; the output is exactly the uninterrupted one, nothing twice.
#[test]
fn a_kill_before_the_final_commit_completes_the_run_on_restart() {
    let job = Job::new("final", 4_000);
    let (expected, _) = job.reference();
    // With an hour between checkpoints, the only checkpoint is the one taken at the end.
    let long = ["--checkpoint-interval", "1h"];
    let mut c = Command::new(env!("CARGO_BIN_EXE_darwin"));
    c.arg("run").arg(&job.sql).args(["--parallelism", "2"]).arg("--checkpoint-dir").arg(job.dir.join("ckpt"));
    c.args(long).stdout(Stdio::null()).stderr(Stdio::piped());
    let out = c.env("DARWIN_CRASH_AT", "before-commit:1").output().unwrap();
    assert_eq!(out.status.code(), None, "killed: {}", stderr(&out));
    assert!(job.output().iter().all(Vec::is_empty), "nothing committed before the kill");
    let out = c.env_remove("DARWIN_CRASH_AT").output().unwrap();
    let err = stderr(&out);
    assert!(out.status.success() && err.contains("already ran to completion (checkpoint 1 "), "{err}");
    assert_eq!(job.output(), expected);
    let _ = std::fs::remove_dir_all(&job.dir);
}

/// Leaves a job killed just before the commit of checkpoint 3, with checkpoints 1-3 kept.
fn crashed_job(name: &str) -> (Job, Vec<Vec<String>>) {
    let job = Job::new(name, 8_000);
    let (expected, _) = job.reference();
    let out = job.run(2, &["--checkpoints-retained", "5"], Some("before-commit:3"));
    assert_eq!(out.status.code(), None, "killed: {}", stderr(&out));
    for c in 1..=3 {
        assert!(job.state_file(c, "manifest.json").exists(), "checkpoint {c} is complete");
    }
    (job, expected)
}

#[test]
fn damaged_checkpoints_fall_back_to_the_previous_one() {
    let (job, expected) = crashed_job("damage");
    // A flipped byte in the newest checkpoint's state and a truncated manifest in the one
    // before: both are detected by checksum and the run resumes from checkpoint 1.
    let f = job.state_file(3, "worker-1.state");
    let mut bytes = std::fs::read(&f).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&f, bytes).unwrap();
    let m = job.state_file(2, "manifest.json");
    let text = std::fs::read(&m).unwrap();
    std::fs::write(&m, &text[..text.len() - 12]).unwrap();
    // A half-written checkpoint (as a crash during a write leaves it) is ignored.
    std::fs::create_dir_all(job.dir.join("ckpt/chk-0000000004.tmp")).unwrap();
    std::fs::write(job.dir.join("ckpt/chk-0000000004.tmp/worker-0.state"), b"partial").unwrap();
    let out = job.run(2, &[], None);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("chk-0000000003 is damaged: worker-1.state: checksum mismatch"), "{err}");
    assert!(err.contains("chk-0000000002 is damaged"), "{err}");
    assert!(err.contains("resuming from checkpoint 1"), "{err}");
    assert_eq!(job.output(), expected);
    // The damaged checkpoints are gone, so they cannot shadow the ones the run wrote: a
    // restart finds the run complete, without warnings.
    let out = job.run(2, &[], None);
    let err = stderr(&out);
    assert!(out.status.success() && err.contains("already ran to completion") && !err.contains("damaged"), "{err}");
    let _ = std::fs::remove_dir_all(&job.dir);
}

#[test]
fn without_a_valid_checkpoint_the_run_stops_with_a_clear_error() {
    let (job, expected) = crashed_job("none-valid");
    std::fs::remove_file(job.state_file(3, "manifest.json")).unwrap();
    let f = job.state_file(2, "worker-0.state");
    let len = std::fs::metadata(&f).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&f).unwrap().set_len(len / 2).unwrap();
    std::fs::write(job.state_file(1, "manifest.json"), b"{}").unwrap();
    let out = job.run(2, &[], None);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no valid checkpoint"), "{err}");
    assert!(err.contains("manifest.json is missing"), "{err}");
    assert!(err.contains("worker-0.state has"), "{err}");
    assert!(err.contains("--fresh"), "{err}");
    // Starting over deliberately works and gives the same output.
    let out = job.run(2, &["--fresh"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(job.output(), expected);
    let _ = std::fs::remove_dir_all(&job.dir);
}

#[test]
fn a_changed_query_or_parallelism_is_refused() {
    let (job, _) = crashed_job("changed");
    std::fs::write(&job.sql, script(&job.dir, 12)).unwrap();
    let out = job.run(2, &[], None);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the query changed since checkpoint"), "{err}");
    assert!(err.contains("first difference at plan line") && err.contains("was:") && err.contains("now:"), "{err}");
    std::fs::write(&job.sql, script(&job.dir, 10)).unwrap();
    let out = job.run(1, &[], None);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("--parallelism 2"), "{err}");
    let _ = std::fs::remove_dir_all(&job.dir);
}

#[test]
fn a_failing_checkpoint_write_is_reported_and_the_previous_one_stays_valid() {
    let job = Job::new("write-fails", 12_000);
    let (expected, _) = job.reference();
    // A file where checkpoint 2's temporary directory must go: writing it fails (EEXIST from
    // the real file system); Darwin never deletes a `.tmp` file it did not write, so the
    // obstacle stays, and later checkpoints go on.
    std::fs::create_dir_all(job.dir.join("ckpt")).unwrap();
    std::fs::write(job.dir.join("ckpt/chk-0000000002.tmp"), b"in the way").unwrap();
    let out = {
        let o = job.command(2, &[]).output().unwrap();
        (o.status, stderr(&o))
    };
    assert!(out.0.success(), "{}", out.1);
    assert!(out.1.contains("warning: checkpoint 2 failed"), "{}", out.1);
    assert!(out.1.contains("the previous checkpoint stays valid"), "{}", out.1);
    assert!(out.1.contains(" taken, 1 failed"), "{}", out.1);
    assert_eq!(job.output(), expected);
    let _ = std::fs::remove_dir_all(&job.dir);
}

/// Executor independence: a checkpoint the interpreter took restores into compiled code and the
/// other way round; killing `darwin` while it runs compiled code kills the query's process too
/// (else an orphan would go on writing, and the output would not be exact).
#[test]
fn checkpoints_move_between_the_interpreter_and_compiled_code() {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("darwin-compile-cache");
    let cache = cache.to_str().expect("a UTF-8 path");
    let compiled = ["--mode", "compiled", "--cache-dir", cache];
    let job = Job::new("modes", 8_000);
    let (expected, took) = job.reference();

    let out = job.run(2, &["--fresh"], Some("before-commit:3"));
    assert_eq!(out.status.code(), None, "interpreted run killed: {}", stderr(&out));
    let out = job.run(2, &compiled, None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("resuming from checkpoint 3"), "{}", stderr(&out));
    assert!(stderr(&out).contains("executor: compiled"), "{}", stderr(&out));
    assert_eq!(job.output(), expected, "interpreted checkpoint, compiled resume");

    let mut fresh_compiled = compiled.to_vec();
    fresh_compiled.push("--fresh");
    let out = job.run(2, &fresh_compiled, Some("before-commit:1"));
    assert!(stderr(&out).contains("killed by signal 9"), "compiled query killed: {}", stderr(&out));
    let out = job.run(2, &[], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("resuming from checkpoint 1"), "{}", stderr(&out));
    assert_eq!(job.output(), expected, "compiled checkpoint, interpreted resume");

    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let (kills, out) = job.run_with_kills(2, &compiled, &mut rng, 0.1..1.2, took, 3);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(job.output(), expected, "compiled runs after {kills} kills of darwin");
    let _ = std::fs::remove_dir_all(&job.dir);
}

/// A full disk, as the kernel reports it mid-write: the process may write no file larger than
/// 256 KiB (RLIMIT_FSIZE, with SIGXFSZ ignored so writes fail with EFBIG instead of killing
/// it). The aggregate's state outgrows that while its output stays tiny, so checkpoints start
/// failing part-way: each failure is reported with the file and the OS error and the run goes
/// on. The process is then SIGKILLed, and a restart (space back) resumes from the last
/// checkpoint that was complete before the failures and writes exactly the uninterrupted output.
#[test]
fn a_full_disk_during_checkpoints_is_reported_and_the_previous_checkpoint_stays_valid() {
    use std::io::{BufRead, BufReader};
    let dir = std::env::temp_dir().join(format!("darwin-recovery-full-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // 60,000 distinct keys (~2 MB of state), then 40 keys seen twice: the only output rows.
    let mut csv = String::new();
    for i in 0..60_000u64 {
        csv += &format!("{i},{},{}\n", i % 97, ts(i as i64));
    }
    for i in 0..40u64 {
        csv += &format!("{},{},{}\n", i * 1000, 1, ts(60_000 + i as i64));
    }
    std::fs::write(dir.join("t.csv"), csv).unwrap();
    let script = |out: &str| {
        format!(
            "SET 'batch-size' = '256';\n\
             CREATE TABLE t (k BIGINT, v BIGINT, ts TIMESTAMP(3)) WITH ('connector' = 'filesystem', \
             'path' = '{}', 'format' = 'csv');\n\
             CREATE TABLE o (k BIGINT, n BIGINT, s BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}', \
             'format' = 'csv');\n\
             INSERT INTO o SELECT k, COUNT(*), SUM(v) FROM t GROUP BY k HAVING COUNT(*) > 1;\n",
            dir.join("t.csv").display(),
            dir.join(out).display()
        )
    };
    std::fs::write(dir.join("ref.sql"), script("ref.csv")).unwrap();
    std::fs::write(dir.join("q.sql"), script("o.csv")).unwrap();
    let darwin = env!("CARGO_BIN_EXE_darwin");
    let reference = Command::new(darwin).arg("run").arg(dir.join("ref.sql")).output().unwrap();
    assert!(reference.status.success(), "{}", stderr(&reference));
    let args = |c: &mut Command| {
        c.arg("run").arg(dir.join("q.sql")).arg("--checkpoint-dir").arg(dir.join("ckpt"));
        c.args(["--checkpoint-interval", "2ms", "--parallelism", "2"]);
    };
    let mut full = Command::new("bash");
    // `exec`: the child is darwin itself, so the kill below reaches it.
    full.arg("-c").arg("trap '' XFSZ; ulimit -f 256 && exec \"$0\" \"$@\"").arg(darwin);
    args(&mut full);
    let mut child = full.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let mut failure = None;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.contains("failed") {
            failure = Some(line);
            break;
        }
    }
    let exited_first = child.try_wait().unwrap().is_some();
    kill(child);
    let failure = failure.expect("a checkpoint larger than the file-size limit fails");
    assert!(!exited_first, "the run ended before it could be killed: {failure}");
    assert!(
        failure.contains("warning: checkpoint") && failure.contains("the previous checkpoint stays valid"),
        "{failure}"
    );
    assert!(failure.contains("File too large"), "the OS error is named: {failure}");
    let epoch: u64 = failure.split("checkpoint ").nth(1).and_then(|r| r.split(' ').next()).unwrap().parse().unwrap();
    assert!(epoch > 1, "the first checkpoints fit: {failure}");
    // Space is back: the restart resumes from a checkpoint taken before the failure.
    let mut again = Command::new(darwin);
    args(&mut again);
    let second = again.output().unwrap();
    let err = stderr(&second);
    assert!(second.status.success(), "{err}");
    let restored: u64 = err
        .split("restored from checkpoint ")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the restart resumes:\n{err}"));
    assert!(restored < epoch, "restored {restored}, failed {epoch}");
    let rows = |f: &str| {
        let mut v: Vec<String> = std::fs::read_to_string(dir.join(f)).unwrap().lines().map(String::from).collect();
        v.sort();
        v
    };
    assert_eq!(rows("o.csv"), rows("ref.csv"));
    assert_eq!(rows("ref.csv").len(), 40);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Checkpoints of a large GROUP BY (tens of thousands of groups, updates mostly to recent
/// ones) copy the chunks of state nothing changed from the previous checkpoint instead of
/// capturing them again; kills at random and while such a checkpoint is written still give
/// exactly the uninterrupted run's result (integer and hashed string keys).
#[test]
fn incremental_checkpoints_of_a_large_group_by_survive_kills() {
    let dir = std::env::temp_dir().join(format!("darwin-recovery-incremental-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("rows")).unwrap();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(11);
    for p in 0..3i64 {
        let mut s = String::new();
        for i in 0..60_000i64 {
            let newest = p * 1_000_000 + i / 3;
            let k = if i % 3 == 0 { newest } else { (newest - rng.gen_range(0..400)).max(p * 1_000_000) };
            s.push_str(&format!("{k},s{},{}\n", k % 5, rng.gen_range(-1000..1000)));
        }
        std::fs::write(dir.join(format!("rows/part{p}.csv")), s).unwrap();
    }
    let d = dir.display();
    let sql = dir.join("q.sql");
    std::fs::write(
        &sql,
        format!(
            "CREATE TABLE t (k BIGINT, s VARCHAR, v BIGINT) WITH ('connector' = 'filesystem', 'path' = '{d}/rows', 'format' = 'csv');
             CREATE TABLE a (k BIGINT, n BIGINT, total BIGINT, top BIGINT)
             WITH ('connector' = 'filesystem', 'path' = '{d}/out/a.csv', 'format' = 'csv');
             CREATE TABLE b (k BIGINT, s VARCHAR, n BIGINT, low BIGINT, mean BIGINT)
             WITH ('connector' = 'filesystem', 'path' = '{d}/out/b.csv', 'format' = 'csv');
             INSERT INTO a SELECT k, COUNT(*), SUM(v), MAX(v) FROM t GROUP BY k;
             INSERT INTO b SELECT k, s, COUNT(*), MIN(v), CAST(AVG(v) AS BIGINT) FROM t GROUP BY k, s;"
        ),
    )
    .unwrap();
    let output = || -> Vec<Vec<String>> {
        ["a.csv", "b.csv"]
            .iter()
            .map(|f| {
                let mut l: Vec<String> = std::fs::read_to_string(dir.join("out").join(f))
                    .unwrap_or_default()
                    .lines()
                    .map(String::from)
                    .collect();
                l.sort();
                l
            })
            .collect()
    };
    let run = |extra: &[&str], crash: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_darwin"));
        // Smaller batches than the default: more barriers, so more checkpoints before the end
        // than the crash points below need (about 17 here).
        c.arg("run").arg(&sql).args(["--parallelism", "2", "--checkpoint-interval", "20ms", "--batch-size", "1024"]);
        c.arg("--checkpoint-dir").arg(dir.join("ckpt")).args(extra).stdout(Stdio::null()).stderr(Stdio::piped());
        if let Some(p) = crash {
            c.env("DARWIN_CRASH_AT", p);
        }
        c
    };
    // Uninterrupted, with checkpoints: the expected result, and proof that chunks were reused.
    let t = Instant::now();
    let out = run(&["--fresh"], None).output().unwrap();
    let took = t.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = output();
    assert_eq!(expected[0].len(), 60_000, "one row per key");
    let reused = stderr(&out)
        .lines()
        .find_map(|l| {
            l.strip_prefix("checkpoint capture: ")?.split("; ").nth(1)?.split(' ').next()?.parse::<u64>().ok()
        })
        .expect("the summary reports reused state");
    assert!(reused > 0, "some state is copied unchanged: {}", stderr(&out));
    // Kills while an incremental checkpoint is written, then at random moments.
    for point in ["after-state-files:6", "before-rename:9"] {
        let out = run(&["--fresh"], Some(point)).output().unwrap();
        assert_eq!(out.status.code(), None, "{point}: killed: {}", stderr(&out));
        let out = run(&[], None).output().unwrap();
        assert!(out.status.success(), "{point}: {}", stderr(&out));
        assert!(stderr(&out).contains("resuming from checkpoint"), "{point}: {}", stderr(&out));
        assert_eq!(output(), expected, "after a kill at {point}");
    }
    let mut kills = 0;
    let mut args = vec!["--fresh"];
    loop {
        let mut child = run(&args, None).spawn().unwrap();
        args.clear();
        std::thread::sleep(took.mul_f64(rng.gen_range(0.1..0.6)));
        if kills < 6 && child.try_wait().unwrap().is_none() {
            kill(child);
            kills += 1;
            continue;
        }
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        break;
    }
    assert_eq!(output(), expected, "after {kills} random kills");
    let _ = std::fs::remove_dir_all(&dir);
}
