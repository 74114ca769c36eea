//! Wiring of the `darwin` binary: SQL text → bound logical plans → physical plan for this
//! machine → a run on the interpreted executor, or on the query compiled to native code (a
//! generated crate run as a child process). Kept as a library so tests drive the same path.

pub mod bench;

use darwin_codegen::toolchain::{CompileError, Toolchain};
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
    pub mode: Mode,
}

/// Which executor runs a query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Interpreted,
    Compiled,
    /// Compiled when a Rust toolchain is present, else the interpreter (and says so).
    Auto,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "interpreted" => Ok(Mode::Interpreted),
            "compiled" => Ok(Mode::Compiled),
            "auto" => Ok(Mode::Auto),
            o => Err(format!("unknown mode '{o}'; use interpreted, compiled or auto")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DarwinError {
    #[error("{rendered}")]
    Sql { rendered: String, error: SqlError },
    #[error("{0}")]
    Runtime(#[from] darwin_runtime::RuntimeError),
    #[error("{0}")]
    Setting(String),
    #[error("{0}")]
    Compile(#[from] CompileError),
    /// A compiled query failed (its message is the runtime's), or its process did.
    #[error("{0}")]
    Compiled(String),
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
    let executor = match opts.mode {
        Mode::Interpreted => {
            reasons.push(
                "executor: interpreted (vectorised batches; starts at once); --mode compiled generates native code"
                    .into(),
            );
            "interpreted"
        }
        Mode::Compiled => {
            reasons.push(
                "executor: compiled (filters and projections become fused loops over typed columns, built with \
                 target-cpu=native for this CPU and cached by plan fingerprint; `darwin explain --code` shows the code)"
                    .into(),
            );
            "compiled"
        }
        Mode::Auto => {
            reasons.push("executor: auto (compiled if a Rust toolchain is found at run time, else interpreted)".into());
            "auto"
        }
    };
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
        executor: executor.into(),
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
    let shared: usize = c.physical.pipelines.iter().map(|p| darwin_plan::share::shared_subplans(&p.root).len()).sum();
    if shared > 0 {
        out.push_str(&format!(
            "- shared sub-plans: {shared} (an aggregate or join that occurs more than once is computed once per \
             worker and its output handed to each reader; repeated plain scans are not shared, so their readers \
             need not advance in lockstep)\n"
        ));
    }
    let drift = c
        .physical
        .pipelines
        .iter()
        .filter_map(|p| darwin_plan::parallel::alignment_drift(&p.root, c.physical.settings.parallelism))
        .max();
    if let Some(d) = drift {
        out.push_str(&format!(
            "- source alignment: an instance of a source (on any worker, or another source of the query) waits \
             while its watermark is more than {d} ms (twice the largest window) ahead of the slowest, so operators whose \
             watermark is the minimum of several inputs (behind exchanges, joins) hold a bounded number of windows \
             and rows\n"
        ));
    }
    if c.physical.settings.executor != "interpreted" {
        // (filter/projection nodes, of them fused with the lookup join below, window aggregates
        // with a generated update, other nodes)
        fn count(n: &darwin_plan::PhysNode, k: &mut [usize; 4]) {
            let children = n.children();
            match n {
                darwin_plan::PhysNode::Calc { .. } => {
                    k[0] += 1;
                    k[1] += usize::from(darwin_plan::physical::fused_lookup_key(n).is_some());
                }
                _ if darwin_plan::physical::agg_kernel_key(n).is_some() => k[2] += 1,
                _ => k[3] += 1,
            }
            children.into_iter().for_each(|c| count(c, k));
        }
        let mut k = [0; 4];
        c.physical.pipelines.iter().for_each(|p| count(&p.root, &mut k));
        let [calc, fused, aggs, other] = k;
        out.push_str(&format!(
            "- compiled code: {calc} filter/projection node(s) become generated loops, {fused} of them fused with \
             the probe of the lookup join below; {aggs} window aggregate(s) get a generated update loop (window \
             assignment, typed keys and accumulators, into the operator's own group tables) (`darwin explain \
             --code`); the other {other} node(s) (sources, exchanges, window assignment, joins, session and other \
             aggregates) run the runtime's operator library, instantiated with those loops\n"
        ));
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

/// Compiles plans to a native binary for `mode`, or returns None for the interpreter. `note`
/// receives what was chosen and why (also the fallback of `auto`).
pub fn prepare(
    plans: &[&PhysicalPlan],
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
    let source = darwin_codegen::generate(plans);
    let fingerprint = match plans {
        [one] => one.fingerprint(),
        many => many.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, p| (h ^ p.fingerprint()).wrapping_mul(0x100_0000_01b3)),
    };
    let c = tc.compile(fingerprint, &source, note)?;
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
    darwin_codegen::generate(&[&c.physical])
}

/// `execute` on the executor chosen by `mode`; compiled queries use `cache` for their binaries.
pub fn execute_mode(
    c: &Compiled,
    progress: &mut dyn FnMut(&Progress),
    checkpoint: Option<darwin_runtime::checkpoint::CheckpointConfig>,
    mode: Mode,
    cache: &std::path::Path,
    note: &mut dyn FnMut(&str),
) -> Result<RunSummary, DarwinError> {
    let Some(binary) = prepare(&[&c.physical], mode, cache, note)? else {
        return execute(c, progress, checkpoint);
    };
    let show = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let job = darwin_exec::child::Job::Run { plan: c.physical.clone(), checkpoint, progress: show };
    match darwin_exec::child::spawn(&binary, &job).map_err(DarwinError::Compiled)? {
        darwin_exec::child::Outcome::Run(s) => Ok(*s),
        darwin_exec::child::Outcome::Failed(m) => Err(DarwinError::Compiled(m)),
        darwin_exec::child::Outcome::Bench(_) => {
            Err(DarwinError::Compiled("the compiled query answered a run with a benchmark".into()))
        }
    }
}
