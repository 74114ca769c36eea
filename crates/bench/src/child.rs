//! A compiled benchmark's binary: it serves benchmark jobs (the harness runs inside it, with the
//! query's kernels) over the same protocol as a query's binary (`darwin_exec::child`).

use crate::{run_bench, BenchArgs, BenchPlans, BenchReport};
use darwin_exec::child::{serve, Job};
use darwin_plan::PhysicalPlan;
use darwin_runtime::kernels::Kernels;
use serde::{Deserialize, Serialize};

/// `darwin bench --mode compiled`: run a benchmark's plans.
#[derive(Debug, Serialize, Deserialize)]
pub struct BenchJob {
    /// The benchmark's arguments, as given to `darwin bench`.
    pub args: BenchArgs,
    /// The plans to run; the binary was generated for exactly these.
    pub plans: Box<BenchPlans>,
}

impl Job for BenchJob {
    fn plans(&self) -> Vec<&PhysicalPlan> {
        let mut v = vec![&self.plans.main];
        if let Some((a, b)) = &self.plans.check {
            v.extend([a, b]);
        }
        v
    }
}

/// The generated binary's `main` for a benchmark.
pub fn main(fingerprints: &[u64], kernels: Kernels) -> i32 {
    serve(fingerprints, kernels, |job: BenchJob, kernels: &Kernels| -> Result<BenchReport, String> {
        run_bench(&job.args, &job.plans, kernels).map_err(|e| e.to_string())
    })
}
