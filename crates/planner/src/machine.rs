//! Execution choices for this machine: parallelism, batch size, executor and the knobs a script
//! may set, each with the reason `darwin explain` shows. What a user asked for (command line,
//! then the script's `SET` statements, which win) is taken as given; the rest is chosen from
//! the machine (cores, memory).

use darwin_plan::physical::{DEFAULT_BATCH_SIZE, DEFAULT_PREAGG_PROBE_ROWS};
use darwin_plan::{ExecSettings, Executor, IdlePolicy};

/// What the user asked for on the command line; None where the machine decides.
#[derive(Debug, Clone, Default)]
pub struct Requested {
    /// Number of workers; None for one per core.
    pub parallelism: Option<usize>,
    /// The most rows per source batch; None for `DEFAULT_BATCH_SIZE`.
    pub batch_size: Option<usize>,
    /// The executor to run with (`Auto`: compiled if a Rust toolchain is found, else interpreted).
    pub executor: Executor,
    /// What idle workers do; None for the default (spin first).
    pub idle: Option<IdlePolicy>,
}

/// A `SET` the planner cannot take: the message is a sentence for the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SettingError(pub String);

/// The settings a script may `SET`, as its error message lists them.
const SETTINGS: &str = "parallelism, batch-size, darwin.preagg.probe-rows, darwin.idle, darwin.hop.max-windows-per-row";

/// What the machine offers.
#[derive(Debug, Clone, Copy)]
pub struct Machine {
    /// Cores available to this process (at least 1).
    pub cores: usize,
    /// Total memory of the machine, in bytes.
    pub memory_bytes: u64,
}

impl Machine {
    /// This machine: its cores and its memory (from /proc/meminfo; 8 GiB if unknown).
    pub fn this() -> Machine {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Machine { cores, memory_bytes: machine_memory().unwrap_or(8 << 30) }
    }
}

/// Total memory of the machine in bytes (from /proc/meminfo), if known.
pub fn machine_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
}

/// The settings for `machine`: `requested` overridden by the script's `set` statements.
pub fn choose(requested: &Requested, set: &[(String, String)], machine: Machine) -> Result<ExecSettings, SettingError> {
    let mut r = requested.clone();
    let mut probe_rows = None;
    for (k, v) in set {
        let number = |v: &str, min: usize| {
            v.parse::<usize>().ok().filter(|n| *n >= min).ok_or_else(|| {
                let what = if min == 0 { "a whole number" } else { "a positive whole number" };
                SettingError(format!("SET '{k}' needs {what}, not '{v}'"))
            })
        };
        match k.as_str() {
            "parallelism" | "parallelism.default" => r.parallelism = Some(number(v, 1)?),
            "batch-size" | "execution.batch-size" => r.batch_size = Some(number(v, 1)?),
            "darwin.preagg.probe-rows" => probe_rows = Some(number(v, 0)? as u64),
            // Checked and applied by the binder, where HOP windows are bound.
            "darwin.hop.max-windows-per-row" => {}
            "darwin.idle" => r.idle = Some(idle_policy(v).map_err(|m| SettingError(format!("SET '{k}': {m}")))?),
            other => return Err(SettingError(format!("unknown setting '{other}'; valid settings: {SETTINGS}"))),
        }
    }
    let mut reasons = Vec::new();
    let parallelism = match r.parallelism {
        Some(p) => {
            reasons.push(format!("parallelism {p}: set by the user"));
            p
        }
        None => {
            let c = machine.cores;
            reasons.push(format!("parallelism {c}: one source partition per core ({c} cores)"));
            c
        }
    };
    let batch_size = r.batch_size.unwrap_or(DEFAULT_BATCH_SIZE);
    reasons.push(format!(
        "batch size {batch_size} rows: large enough to amortise per-batch dispatch, small enough to stay in cache"
    ));
    let memory = machine.memory_bytes;
    reasons.push(format!(
        "state backend: memory, budget {} MiB (half of {} MiB on this machine); spilling comes with the state issue",
        (memory / 2) >> 20,
        memory >> 20
    ));
    reasons.push(executor_reason(r.executor).into());
    reasons.push(format!(
        "workers: {parallelism} threads, pinned one per core, each over its share of the source partitions; rows cross \
         workers only at the plan's exchanges: window aggregates of COUNT/SUM/MIN/MAX/AVG pre-aggregate per worker and \
         merge at window close (at most one row per group, window and worker moves instead of every input row), other \
         keyed state is hash-partitioned by key, file and print sinks gather to one writer"
    ));
    let preagg_probe_rows = probe_rows.unwrap_or(DEFAULT_PREAGG_PROBE_ROWS);
    if probe_rows.is_some() {
        reasons.push(format!(
            "pre-aggregation: decides after {preagg_probe_rows} rows whether aggregating reduces them (set by the user)"
        ));
    }
    let idle = r.idle.unwrap_or_default();
    if idle == IdlePolicy::Sleep {
        reasons.push("idle workers: sleep at once instead of spinning first (set by the user)".into());
    }
    Ok(ExecSettings { parallelism, batch_size, executor: r.executor, preagg_probe_rows, idle, reasons })
}

/// `spin` or `sleep`.
pub fn idle_policy(v: &str) -> Result<IdlePolicy, String> {
    match v {
        "spin" => Ok(IdlePolicy::Spin),
        "sleep" => Ok(IdlePolicy::Sleep),
        o => Err(format!("unknown idle policy '{o}'; use spin or sleep")),
    }
}

fn executor_reason(e: Executor) -> &'static str {
    match e {
        Executor::Interpreted => {
            "executor: interpreted (vectorised batches; starts at once); --mode compiled generates native code"
        }
        Executor::Compiled => {
            "executor: compiled (filters and projections become fused loops over typed columns, built with \
             target-cpu=native for this CPU and cached by plan fingerprint; `darwin explain --code` shows the code)"
        }
        Executor::Auto => "executor: auto (compiled if a Rust toolchain is found at run time, else interpreted)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MACHINE: Machine = Machine { cores: 2, memory_bytes: 24 << 30 };

    fn set(k: &str, v: &str) -> Vec<(String, String)> {
        vec![(k.to_string(), v.to_string())]
    }

    #[test]
    fn the_script_overrides_the_command_line_and_the_machine_decides_the_rest() {
        let r = Requested { parallelism: Some(3), ..Default::default() };
        let s = choose(&r, &set("parallelism", "4"), MACHINE).unwrap();
        assert_eq!((s.parallelism, s.batch_size), (4, DEFAULT_BATCH_SIZE));
        assert_eq!(choose(&Requested::default(), &[], MACHINE).unwrap().parallelism, 2);
        let s = choose(&r, &set("darwin.preagg.probe-rows", "0"), MACHINE).unwrap();
        assert_eq!(s.preagg_probe_rows, 0);
        assert!(s.reasons.iter().any(|r| r.contains("pre-aggregation")), "explain shows a knob that was set");
    }

    #[test]
    fn bad_settings_are_refused_with_the_valid_ones() {
        let e = choose(&Requested::default(), &set("parallelism", "0"), MACHINE).unwrap_err();
        assert_eq!(e.0, "SET 'parallelism' needs a positive whole number, not '0'");
        let e = choose(&Requested::default(), &set("nope", "1"), MACHINE).unwrap_err();
        assert!(e.0.contains("valid settings: parallelism, batch-size"), "{e}");
        assert!(choose(&Requested::default(), &set("darwin.idle", "nap"), MACHINE).is_err());
    }
}
