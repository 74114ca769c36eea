//! Wiring of the `darwin` binary: SQL text → bound logical plans → physical plan for this
//! machine → a run on the interpreted executor, or on the query compiled to native code (a
//! generated crate run as a child process). Kept as a library so tests drive the same path.

pub mod bench;
pub mod fuzz;

use darwin_codegen::toolchain::{CompileError, Toolchain};
use darwin_codegen::Harness;
use darwin_connectors::Registry;
use darwin_exec::child::RunJob;
use darwin_plan::{LogicalPlan, PhysicalPlan, SinkTarget};
use darwin_planner::machine::Machine;
use darwin_runtime::{Observer, RunSummary};
use darwin_sql::{Binder, SqlError};

/// Execution options from the command line; a script's `SET` statements override them.
pub type Options = darwin_planner::machine::Requested;

/// Which executor runs a query.
pub use darwin_plan::Executor as Mode;

/// Why a `darwin` command failed; each message is meant to be shown to the user as it is.
#[derive(Debug, thiserror::Error)]
pub enum DarwinError {
    /// The script does not parse or bind.
    #[error("{rendered}")]
    Sql {
        /// The error with the offending line of the script and a caret under the column.
        rendered: String,
        /// The error itself.
        error: SqlError,
    },
    /// The run failed (a connector, an expression, a checkpoint).
    #[error("{0}")]
    Runtime(#[from] darwin_runtime::RuntimeError),
    /// A `SET` statement, or a benchmark's query or record layout, that cannot be used.
    #[error("{0}")]
    Setting(String),
    /// Compiled mode could not build the query.
    #[error("{0}")]
    Compile(#[from] CompileError),
    /// A compiled query failed (its message is the runtime's), or its process did.
    #[error("{0}")]
    Compiled(String),
    /// The script cannot be planned (a sink on a source's path, ...).
    #[error("{0}")]
    Plan(#[from] darwin_planner::PlanError),
    /// The benchmark harness failed.
    #[error("{0}")]
    Bench(#[from] darwin_bench::BenchError),
}

/// A script parsed, bound and planned for this machine: what `explain` prints and what runs.
pub struct Compiled {
    /// The bound logical plan of each sink, before the planner's rewrites.
    pub logical: Vec<(SinkTarget, LogicalPlan)>,
    /// The physical plan for this machine.
    pub physical: PhysicalPlan,
}

/// Parses, binds and plans a script for this machine; relative paths resolve against the
/// working directory.
pub fn compile(sql: &str, opts: &Options) -> Result<Compiled, DarwinError> {
    compile_at(sql, opts, None)
}

/// `compile`, with relative paths resolved against `base` when given (a resumed run resolves
/// them where the query first ran, so its output goes to the same files).
pub fn compile_at(sql: &str, opts: &Options, base: Option<&std::path::Path>) -> Result<Compiled, DarwinError> {
    let registry = Registry;
    let mut binder = Binder::new(&registry);
    if let Some(base) = base {
        binder = binder.with_base_dir(base.to_path_buf());
    }
    let bound = binder.bind_script(sql).map_err(|e| DarwinError::Sql { rendered: e.render(sql), error: e })?;
    let settings = darwin_planner::machine::choose(opts, &bound.settings, Machine::this())
        .map_err(|e| DarwinError::Setting(e.0))?;
    let physical = darwin_planner::plan(bound.sinks.clone(), &registry, settings)?;
    Ok(Compiled { logical: bound.sinks, physical })
}

/// The text `darwin explain` prints, with the [`warnings`] last.
pub fn explain(c: &Compiled) -> String {
    let mut text = darwin_planner::explain::explain(&c.logical, &c.physical);
    for w in warnings(c) {
        text.push_str(&format!("warning: {w}\n"));
    }
    text
}

/// What a user should know before running the plan: a query that aggregates an unbounded
/// source without a window writes nothing until its input ends (Darwin has no updating results
/// yet), so it says when its result appears.
pub fn warnings(c: &Compiled) -> Vec<String> {
    fn unbounded_source(n: &darwin_plan::PhysNode) -> Option<String> {
        match n {
            darwin_plan::PhysNode::Source { table, .. }
                if !darwin_plan::ConnectorCatalog::is_bounded(&Registry, table) =>
            {
                Some(table.name.clone())
            }
            _ => n.children().into_iter().find_map(unbounded_source),
        }
    }
    fn unwindowed(n: &darwin_plan::PhysNode) -> Option<String> {
        match n {
            darwin_plan::PhysNode::GlobalAggregate { input, .. } => unbounded_source(input),
            _ => n.children().into_iter().find_map(unwindowed),
        }
    }
    c.physical
        .pipelines
        .iter()
        .filter_map(|p| {
            let source = unwindowed(&p.root)?;
            Some(format!(
                "the query writing to {} aggregates the unbounded source {source} without a window: it writes its \
                 result only when stopped by Ctrl-C or SIGTERM without --checkpoint-dir (updating results, as \
                 Flink emits them, are not supported yet; a TUMBLE or HOP window gives results as time passes)",
                p.sink_name()
            ))
        })
        .collect()
}

/// Runs a compiled script to completion in this process, with checkpoints if configured.
pub fn execute(
    c: &Compiled,
    observer: &mut dyn Observer,
    checkpoint: Option<darwin_checkpoint::CheckpointConfig>,
) -> Result<RunSummary, DarwinError> {
    Ok(darwin_runtime::run_with(&c.physical, &Registry, observer, checkpoint)?)
}

/// Compiles plans to a native binary for `mode`, or returns None for the interpreter. `note`
/// receives what was chosen and why (also the fallback of `auto`).
pub fn prepare(
    plans: &[&PhysicalPlan],
    harness: Harness,
    mode: Mode,
    cache: &std::path::Path,
    note: &mut dyn FnMut(&str),
) -> Result<Option<std::path::PathBuf>, DarwinError> {
    if mode == Mode::Interpreted {
        return Ok(None);
    }
    // Everything compiled mode adds before the query starts: finding the toolchain,
    // generating the code, hashing the runtime sources, the cache lookup (and the build).
    let start = std::time::Instant::now();
    let tc = match Toolchain::find(cache.to_path_buf()) {
        Ok(t) => t,
        Err(e) if mode == Mode::Auto => {
            note(&format!("executor: interpreted (--mode auto fell back: {e})"));
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let source = darwin_codegen::generate(plans, harness);
    let fingerprint = match plans {
        [one] => one.fingerprint(),
        many => many
            .iter()
            .fold(darwin_common::hash::FNV_OFFSET, |h, p| darwin_common::hash::fnv1a_combine(h, p.fingerprint())),
    };
    let c = tc.compile(fingerprint, &source, harness, darwin_codegen::needs_arrow(plans), note)?;
    note(&match (c.build_time, c.cold) {
        (None, _) => format!(
            "executor: compiled (cache hit in {:.0} ms: {})",
            start.elapsed().as_secs_f64() * 1e3,
            c.binary.display()
        ),
        (Some(_), cold) => format!(
            "executor: compiled ({} compile in {:.1} s: {})",
            if cold { "cold" } else { "warm" },
            start.elapsed().as_secs_f64(),
            c.binary.display()
        ),
    });
    Ok(Some(c.binary))
}

/// The Rust `darwin explain --code` prints.
pub fn generated_code(c: &Compiled) -> String {
    darwin_codegen::generate(&[&c.physical], Harness::Query)
}

/// `execute` on the executor chosen by `mode`; compiled queries use `cache` for their binaries.
/// The observer hears what was chosen (and, in this process, the run's progress and notices;
/// a compiled query reports them itself, on the same stderr).
pub fn execute_mode(
    c: &Compiled,
    observer: &mut dyn Observer,
    checkpoint: Option<darwin_checkpoint::CheckpointConfig>,
    mode: Mode,
    cache: &std::path::Path,
) -> Result<RunSummary, DarwinError> {
    let Some(binary) = prepare(&[&c.physical], Harness::Query, mode, cache, &mut |m| observer.notice(m))? else {
        return execute(c, observer, checkpoint);
    };
    let show = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let job = RunJob { plan: c.physical.clone(), checkpoint, progress: show };
    let outcome =
        darwin_exec::child::spawn(&binary, &job, &mut || observer.stop_requested()).map_err(DarwinError::Compiled)?;
    outcome.map_err(DarwinError::Compiled)
}
