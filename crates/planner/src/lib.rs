//! The planner: from bound logical plans to the physical plan both executors run, for this
//! machine. Passes, in order: logical optimisation (`optimize`), lowering to physical operators
//! (`lower`), pruning the columns sources read (`prune`), slicing HOP windows (`decompose`),
//! placing exchanges for parallel execution (`parallel`), and last the decisions the executors
//! read instead of recomputing (`decide`). `machine` chooses the execution settings and `explain`
//! prints the result with the reasons.
//!
//! The plan types live in `darwin-plan`, so that what runs a plan (the runtime, a compiled
//! query's binary) does not link the planner.

// A panic here is a crash on user input: every `expect` states the invariant that rules it out.
#![warn(clippy::expect_used, clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::expect_used, clippy::unwrap_used))]

pub mod decide;
pub mod decompose;
pub mod explain;
pub mod lower;
pub mod machine;
pub mod optimize;
pub mod parallel;
pub mod prune;
pub mod share;

use darwin_plan::{ConnectorCatalog, ExecSettings, LogicalPlan, PhysicalPlan, Pipeline, SinkTarget};

/// Plans a script's sinks for the machine `settings` describe.
pub fn plan(
    sinks: Vec<(SinkTarget, LogicalPlan)>,
    catalog: &dyn ConnectorCatalog,
    settings: ExecSettings,
) -> PhysicalPlan {
    let pipelines = sinks
        .into_iter()
        .map(|(sink, plan)| {
            let root = lower::lower(optimize::optimize(plan), catalog, settings.parallelism);
            let root = prune::prune_sources(root, catalog);
            let root = decompose::slice_hops(root);
            let root = parallel::distribute(root, &sink, settings.parallelism);
            Pipeline::new(sink, root)
        })
        .collect();
    decide::decide(PhysicalPlan { pipelines, settings, join_lead: None })
}
