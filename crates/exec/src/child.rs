//! The protocol between `darwin` and a compiled query's binary. The parent writes a job (the
//! physical plan(s) and run options) as JSON, starts the binary with `--job FILE --result FILE`,
//! and reads the outcome back; the child inherits stdout (the `print` sink) and stderr
//! (notices, progress). The child dies with its parent (PR_SET_PDEATHSIG), so killing `darwin`
//! kills the query as it would in interpreted mode. It runs in a process group of its own:
//! `darwin` forwards the first SIGTERM or SIGINT to it, and the child stops gracefully (see
//! `signals`); a second signal ends `darwin`, and with it the child. The protocol is generic over the job: a
//! query's binary serves [`RunJob`]s (`main`); a benchmark's binary serves the harness's jobs
//! with [`serve`] from the harness crate, so a query's binary does not link the harness.

use darwin_checkpoint::CheckpointConfig;
use darwin_plan::PhysicalPlan;
use darwin_runtime::kernels::Kernels;
use darwin_runtime::{Observer, Progress};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::os::unix::process::CommandExt;
use std::path::Path;

/// A job names the plans it runs; the binary refuses plans it was not generated for.
pub trait Job: Serialize + DeserializeOwned {
    /// The plans the job runs, checked by fingerprint against those the binary was generated for.
    fn plans(&self) -> Vec<&PhysicalPlan>;
}

/// `darwin run --mode compiled`: run a plan.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunJob {
    /// The plan to run; it must be the one the binary was generated for.
    pub plan: PhysicalPlan,
    /// Checkpointing for the run (directory, interval, retention); None runs without checkpoints.
    pub checkpoint: Option<CheckpointConfig>,
    /// Show the progress line (stderr is a terminal).
    pub progress: bool,
}

impl Job for RunJob {
    fn plans(&self) -> Vec<&PhysicalPlan> {
        vec![&self.plan]
    }
}

/// What a job gave: its result, or the message of its failure.
pub type Outcome<T> = Result<T, String>;

/// The generated binary's `main` for a query: runs the job with its kernels.
pub fn main(fingerprints: &[u64], kernels: Kernels) -> i32 {
    serve(fingerprints, kernels, |job: RunJob, kernels| {
        let mut observer = Stderr { progress: job.progress };
        let factory = darwin_connectors::Registry;
        darwin_runtime::driver::run_kernels(&job.plan, &factory, &mut observer, job.checkpoint, kernels)
            .map_err(|e| e.to_string())
    })
}

/// Reads the job named by `--job`, runs it with `run` unless it names a plan this binary was
/// not generated for, and writes the outcome to `--result`. The exit code is 0 when the outcome
/// was written (even a failed run), 2 when the protocol itself failed.
pub fn serve<J: Job, T: Serialize>(
    fingerprints: &[u64],
    kernels: Kernels,
    run: impl FnOnce(J, &Kernels) -> Outcome<T> + Send,
) -> i32 {
    die_with_parent();
    // `darwin` forwards the signals it gets (this process is in a process group of its own).
    crate::signals::install();
    let args: Vec<String> = std::env::args().collect();
    let (Some(job), Some(result)) = (flag(&args, "--job"), flag(&args, "--result")) else {
        eprintln!(
            "this is a compiled Darwin query; it is started by `darwin run --mode compiled` (--job FILE --result FILE)"
        );
        return 2;
    };
    // On a thread with the stack of `darwin`'s own: a plan is as deep as its deepest expression.
    let work = || {
        let outcome = std::fs::read(job)
            .map_err(|e| format!("cannot read the job file {job}: {e}"))
            .and_then(|b| read_job::<J>(&b).map_err(|e| format!("unreadable job file {job}: {e}")))
            .and_then(|job| check_plans(&job, fingerprints).map(|()| job))
            .and_then(|job| run(job, &kernels));
        serde_json::to_vec(&outcome).expect("outcomes serialise")
    };
    let bytes = match std::thread::scope(|s| {
        std::thread::Builder::new().stack_size(STACK_BYTES).spawn_scoped(s, work).map(|h| h.join())
    }) {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            eprintln!("the compiled query panicked (a bug; please report it)");
            return 2;
        }
        Err(e) => {
            eprintln!("cannot start the compiled query's thread: {e}");
            return 2;
        }
    };
    match std::fs::write(result, bytes) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("cannot write the result file {result}: {e}");
            2
        }
    }
}

/// The stack of the thread that reads and runs a job (as `darwin`'s main thread's).
const STACK_BYTES: usize = 1 << 30;

/// A job from its JSON, however deep its plan's expressions nest (serde_json's default limit of
/// 128 levels is for untrusted input; a job comes from `darwin` itself).
fn read_job<J: Job>(bytes: &[u8]) -> serde_json::Result<J> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.disable_recursion_limit();
    let job = J::deserialize(&mut de)?;
    de.end()?;
    Ok(job)
}

fn check_plans(job: &impl Job, fingerprints: &[u64]) -> Outcome<()> {
    for p in job.plans() {
        let f = p.fingerprint();
        if !fingerprints.contains(&f) {
            return Err(format!(
                "this compiled query was generated for plan(s) {fingerprints:x?}, not {f:#018x}; clear the compile cache"
            ));
        }
    }
    Ok(())
}

/// The child's observer: what `darwin` would print, printed by the child (it shares stderr).
struct Stderr {
    progress: bool,
}

impl Observer for Stderr {
    fn progress(&mut self, p: &Progress) {
        if self.progress {
            eprint!("{}", crate::progress_line(p));
        }
    }
    fn notice(&mut self, message: &str) {
        eprintln!("darwin: {message}");
    }
    fn stop_requested(&mut self) -> Option<darwin_runtime::StopRequest> {
        crate::signals::requested()
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}

#[expect(unsafe_code, reason = "prctl(2) has no safe wrapper in std")]
#[cfg(target_os = "linux")]
fn die_with_parent() {
    // SAFETY: prctl(PR_SET_PDEATHSIG) only sets a process attribute.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent() {}

/// Waits for the child, forwarding the first stop request to it as its signal.
fn wait_forwarding(
    mut child: std::process::Child,
    stop: &mut dyn FnMut() -> Option<darwin_runtime::StopRequest>,
) -> Result<std::process::ExitStatus, String> {
    let mut forwarded = false;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| format!("cannot wait for the compiled query: {e}"))? {
            return Ok(status);
        }
        if !forwarded {
            if let Some(r) = stop() {
                forwarded = true;
                send_signal(child.id(), r.signo);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[expect(unsafe_code, reason = "kill(2) has no safe wrapper in std beyond SIGKILL")]
fn send_signal(pid: u32, signo: i32) {
    // SAFETY: kill only sends a signal to the child this process started (and still waits for).
    unsafe {
        libc::kill(pid as libc::pid_t, signo);
    }
}

/// Removes job directories left by `darwin` processes that were killed (their pid is gone).
fn remove_stale_job_dirs() {
    let Ok(rd) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("darwin-job-").and_then(|r| r.split('-').next()) else { continue };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Runs a compiled binary on a job; its stdout and stderr are this process's. The outer error
/// is the protocol's (the binary could not start, died, or wrote no result), the inner the job's.
/// `stop` is polled while the child runs: the first stop request is forwarded to the child as
/// its signal (the child runs in a process group of its own, so a terminal's Ctrl-C reaches
/// only this process and is forwarded once).
pub fn spawn<J: Job, T: DeserializeOwned>(
    binary: &Path,
    job: &J,
    stop: &mut dyn FnMut() -> Option<darwin_runtime::StopRequest>,
) -> Result<Outcome<T>, String> {
    remove_stale_job_dirs();
    let dir = std::env::temp_dir().join(format!(
        "darwin-job-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let (job_path, result_path) = (dir.join("job.json"), dir.join("result.json"));
    let result = (|| {
        let bytes = serde_json::to_vec(job).map_err(|e| format!("cannot encode the job: {e}"))?;
        std::fs::write(&job_path, bytes).map_err(|e| format!("cannot write {}: {e}", job_path.display()))?;
        let child = std::process::Command::new(binary)
            .arg("--job")
            .arg(&job_path)
            .arg("--result")
            .arg(&result_path)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start the compiled query {}: {e}", binary.display()))?;
        let status = wait_forwarding(child, stop)?;
        if !status.success() {
            use std::os::unix::process::ExitStatusExt;
            return Err(match status.signal() {
                Some(sig) => format!("the compiled query's process was killed by signal {sig}"),
                None => format!("the compiled query's process failed ({status})"),
            });
        }
        let bytes = std::fs::read(&result_path).map_err(|e| format!("no result from the compiled query: {e}"))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("unreadable result from the compiled query: {e}"))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}
