//! Wiring of the `darwin` binary: SQL text → bound logical plans → physical plan for this
//! machine → a run on the interpreted executor. Kept as a library so tests drive the same path.

pub mod bench;

use darwin_connectors::Registry;
use darwin_plan::explain::{logical_to_string, physical_to_string};
use darwin_plan::{ExecSettings, LogicalPlan, PhysicalPlan, SinkTarget};
use darwin_runtime::build::Progress;
use darwin_runtime::RunSummary;
use darwin_sql::{Binder, SqlError};

/// Execution options from the command line; a script's `SET` statements override them.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub parallelism: Option<usize>,
    pub batch_size: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum DarwinError {
    #[error("{rendered}")]
    Sql { rendered: String, error: SqlError },
    #[error("{0}")]
    Runtime(#[from] darwin_runtime::RuntimeError),
    #[error("{0}")]
    Setting(String),
}

pub struct Compiled {
    pub logical: Vec<(SinkTarget, LogicalPlan)>,
    pub physical: PhysicalPlan,
}

/// Total memory of the machine in bytes (from /proc/meminfo), if known.
pub fn machine_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
}

/// Parses, binds and plans a script for this machine.
pub fn compile(sql: &str, opts: &Options) -> Result<Compiled, DarwinError> {
    let registry = Registry;
    let mut binder = Binder::new(&registry);
    let bound = binder.bind_script(sql).map_err(|e| DarwinError::Sql { rendered: e.render(sql), error: e })?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut reasons = Vec::new();
    let mut parallelism = opts.parallelism;
    let mut batch_size = opts.batch_size;
    for (k, v) in &bound.settings {
        let parse = |v: &str| {
            v.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| DarwinError::Setting(format!("SET '{k}' needs a positive whole number, not '{v}'")))
        };
        match k.as_str() {
            "parallelism" | "parallelism.default" => parallelism = Some(parse(v)?),
            "batch-size" | "execution.batch-size" => batch_size = Some(parse(v)?),
            other => {
                return Err(DarwinError::Setting(format!(
                    "unknown setting '{other}'; valid settings: parallelism, batch-size"
                )))
            }
        }
    }
    let parallelism = match parallelism {
        Some(p) => {
            reasons.push(format!("parallelism {p}: set by the user"));
            p
        }
        None => {
            reasons.push(format!("parallelism {cores}: one source partition per core ({cores} cores)"));
            cores
        }
    };
    let batch_size = batch_size.unwrap_or(4096);
    reasons.push(format!(
        "batch size {batch_size} rows: large enough to amortise per-batch dispatch, small enough to stay in cache"
    ));
    let memory = machine_memory().unwrap_or(8 << 30);
    let budget = memory / 2;
    reasons.push(format!(
        "state backend: memory, budget {} MiB (half of {} MiB on this machine); spilling comes with the state issue",
        budget >> 20,
        memory >> 20
    ));
    reasons.push(
        "executor: interpreted (vectorised batches); compiled mode comes with the query-compilation issue".into(),
    );
    reasons.push(format!(
        "workers: {parallelism} threads, pinned one per core, each over its share of the source partitions; rows cross \
         workers only at the plan's exchanges: window aggregates of COUNT/SUM/MIN/MAX/AVG pre-aggregate per worker and \
         merge at window close (at most one row per group, window and worker moves instead of every input row), other \
         keyed state is hash-partitioned by key, file and print sinks gather to one writer"
    ));
    let settings = ExecSettings {
        parallelism,
        batch_size,
        memory_budget_bytes: budget,
        state_backend: "memory".into(),
        executor: "interpreted".into(),
        reasons,
    };
    let physical = PhysicalPlan::from_logical(bound.sinks.clone(), &registry, settings);
    Ok(Compiled { logical: bound.sinks, physical })
}

/// The text `darwin explain` prints.
pub fn explain(c: &Compiled) -> String {
    let mut out = String::from("== Logical plan ==\n");
    for (i, (sink, plan)) in c.logical.iter().enumerate() {
        let name = match sink {
            SinkTarget::Table(t) => t.name.clone(),
            SinkTarget::Stdout { .. } => "stdout".into(),
        };
        out.push_str(&format!("Sink {} -> {name}\n", i + 1));
        for line in logical_to_string(plan).lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out.push_str("\n== Physical plan ==\n");
    out.push_str(&physical_to_string(&c.physical));
    out.push_str(&format!("\n== Choices for this machine ==\nplan fingerprint: {:016x}\n", c.physical.fingerprint()));
    for r in &c.physical.settings.reasons {
        out.push_str(&format!("- {r}\n"));
    }
    out
}

/// Runs a compiled script to completion, with checkpoints if configured.
pub fn execute(
    c: &Compiled,
    progress: &mut dyn FnMut(&Progress),
    checkpoint: Option<darwin_runtime::checkpoint::CheckpointConfig>,
) -> Result<RunSummary, DarwinError> {
    Ok(darwin_runtime::run_with(&c.physical, &Registry, progress, checkpoint)?)
}
