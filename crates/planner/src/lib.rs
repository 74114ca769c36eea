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
pub mod ownership;
pub mod parallel;
pub mod prune;
pub mod ranges;
pub mod share;

use darwin_plan::{ConnectorCatalog, ExecSettings, LogicalPlan, PhysicalPlan, Pipeline, SinkTarget};

/// Why a script cannot be planned: sentences a user can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// A sink writes where a source reads (the file itself, or inside its directory).
    #[error(
        "table '{sink}' writes to {path}, {} table '{source_table}' reads: the run would overwrite its own \
         input. Write the output somewhere else", if *inside { "inside a directory" } else { "which" }
    )]
    SinkOnSource {
        /// The sink table.
        sink: String,
        /// The source table it overlaps.
        source_table: String,
        /// The path written, resolved.
        path: String,
        /// The sink writes into a directory the source reads, not onto its file.
        inside: bool,
    },
    /// Two sinks (or two INSERTs into one file table) write the same file.
    #[error(
        "tables '{first}' and '{second}' both write to {path}: one would overwrite the other. \
         Give each sink its own path"
    )]
    SharedSinkPath {
        /// The first sink writing the path.
        first: String,
        /// The second.
        second: String,
        /// The path, resolved.
        path: String,
    },
}

/// Plans a script's sinks for the machine `settings` describe.
pub fn plan(
    sinks: Vec<(SinkTarget, LogicalPlan)>,
    catalog: &dyn ConnectorCatalog,
    settings: ExecSettings,
) -> Result<PhysicalPlan, PlanError> {
    let pipelines = sinks
        .into_iter()
        .map(|(sink, plan)| {
            let root = lower::lower(optimize::optimize(plan), catalog, settings.parallelism);
            let root = prune::prune_sources(root, catalog);
            let root = ranges::push_ranges(root, catalog);
            let root = decompose::slice_hops(root);
            let parallel_sink = matches!(&sink, SinkTarget::Table(t) if catalog.writes_in_parallel(t));
            let root = parallel::distribute(root, parallel_sink, settings.parallelism);
            Pipeline::new(sink, root)
        })
        .collect::<Vec<_>>();
    ownership::check(&pipelines, catalog)?;
    Ok(decide::decide(PhysicalPlan { pipelines, settings, join_lead: None }))
}
