//! The protocol between `darwin` and a compiled query's binary. The parent writes a job (the
//! physical plan and run options) as JSON, starts the binary with `--job FILE --result FILE`, and
//! reads the outcome back; the child inherits stdout (the `print` sink) and stderr (warnings,
//! progress). The child dies with its parent (PR_SET_PDEATHSIG), so killing `darwin` kills the
//! query as it would in interpreted mode.

use crate::bench::{BenchArgs, BenchPlans, BenchReport};
use darwin_checkpoint::CheckpointConfig;
use darwin_plan::PhysicalPlan;
use darwin_runtime::kernels::Kernels;
use darwin_runtime::RunSummary;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Serialize, Deserialize)]
pub enum Job {
    Run { plan: PhysicalPlan, checkpoint: Option<CheckpointConfig>, progress: bool },
    Bench { args: BenchArgs, plans: Box<BenchPlans> },
}

impl Job {
    fn plans(&self) -> Vec<&PhysicalPlan> {
        match self {
            Job::Run { plan, .. } => vec![plan],
            Job::Bench { plans, .. } => {
                let mut v = vec![&plans.main];
                if let Some((a, b)) = &plans.check {
                    v.extend([a, b]);
                }
                v
            }
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Outcome {
    Run(Box<RunSummary>),
    Bench(Box<BenchReport>),
    Failed(String),
}

/// The generated binary's `main`: runs the job with its kernels; the exit code is 0 when the
/// outcome was written (even a failed run), 2 when the protocol itself failed.
pub fn main(fingerprints: &[u64], kernels: Kernels) -> i32 {
    die_with_parent();
    let args: Vec<String> = std::env::args().collect();
    let (Some(job), Some(result)) = (flag(&args, "--job"), flag(&args, "--result")) else {
        eprintln!(
            "this is a compiled Darwin query; it is started by `darwin run --mode compiled` (--job FILE --result FILE)"
        );
        return 2;
    };
    let outcome = match std::fs::read(job)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice::<Job>(&b).map_err(|e| format!("unreadable job file {job}: {e}")))
    {
        Err(e) => Outcome::Failed(e),
        Ok(job) => run(&job, fingerprints, &kernels),
    };
    let bytes = serde_json::to_vec(&outcome).expect("outcomes serialise");
    match std::fs::write(result, bytes) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("cannot write the result file {result}: {e}");
            2
        }
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}

fn run(job: &Job, fingerprints: &[u64], kernels: &Kernels) -> Outcome {
    for p in job.plans() {
        let f = p.fingerprint();
        if !fingerprints.contains(&f) {
            return Outcome::Failed(format!(
                "this compiled query was generated for plan(s) {fingerprints:x?}, not {f:#018x}; clear the compile cache"
            ));
        }
    }
    let factory = darwin_connectors::Registry;
    match job {
        Job::Run { plan, checkpoint, progress } => {
            let mut show = |p: &darwin_runtime::build::Progress| {
                if *progress {
                    eprint!("{}", crate::progress_line(p));
                }
            };
            match darwin_runtime::build::run_kernels(plan, &factory, &mut show, checkpoint.clone(), kernels) {
                Ok(s) => Outcome::Run(Box::new(s)),
                Err(e) => Outcome::Failed(e.to_string()),
            }
        }
        Job::Bench { args, plans } => match crate::bench::run_bench(args, plans, kernels) {
            Ok(r) => Outcome::Bench(Box::new(r)),
            Err(e) => Outcome::Failed(e.to_string()),
        },
    }
}

#[cfg(target_os = "linux")]
fn die_with_parent() {
    // SAFETY: prctl(PR_SET_PDEATHSIG) only sets a process attribute.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent() {}

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

/// Runs a compiled query's binary on a job; its stdout and stderr are this process's.
pub fn spawn(binary: &Path, job: &Job) -> Result<Outcome, String> {
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
        let status = std::process::Command::new(binary)
            .arg("--job")
            .arg(&job_path)
            .arg("--result")
            .arg(&result_path)
            .status()
            .map_err(|e| format!("cannot start the compiled query {}: {e}", binary.display()))?;
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
