//! `darwin bench`: the harness Darwin's numbers come from. A query runs twice: on events
//! generated into memory beforehand and replayed with advancing timestamps (the engine's own
//! speed, as the scale-up literature measures it), and end to end with the generator inside
//! the timed run. Results are checked, not only timed: YSB against its closed-form counts,
//! Nexmark against a single-worker run of the same query on a smaller input.

pub mod child;
pub mod machine;
pub mod queries;
pub mod replay;
pub mod report;

use darwin_checkpoint::coordinator::CheckpointStats;
use darwin_checkpoint::CheckpointConfig;
use darwin_common::Value;
use darwin_connectors::generators::nexmark_type_count;
use darwin_plan::{Executor, IdlePolicy};
use darwin_plan::{PhysNode, PhysicalPlan, TableDef};
use darwin_runtime::kernels::Kernels;
use darwin_runtime::RuntimeError;
use replay::{record, BenchFactory, Collected, Recording};
use report::{percentile, RunNumbers};

pub use report::BenchReport;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What `darwin bench` was asked to run: the benchmark, its size and the execution settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchArgs {
    /// Which benchmark.
    pub benchmark: Benchmark,
    /// The Nexmark query (`q0`, `q1`, `q2`, `q5`, `q7`, `q8`); None for q5. Ignored by YSB.
    pub query: Option<String>,
    /// Events per timed run (for Nexmark, all three kinds together).
    pub events: u64,
    /// Number of workers.
    pub parallelism: usize,
    /// The most rows per source batch; None for the planner's default.
    pub batch_size: Option<usize>,
    /// Take checkpoints during the replayed run (into a temporary directory).
    pub checkpoint_interval: Option<std::time::Duration>,
    /// The executor the report says ran.
    pub mode: Executor,
    /// YSB's record layout (`78` or `64` bytes), or None for events generated as columns.
    #[serde(default)]
    pub layout: Option<String>,
    /// Skip the end-to-end run (for profiling and long replayed runs).
    #[serde(default)]
    pub replay_only: bool,
    /// What idle workers do (`sleep` for counting work with callgrind).
    #[serde(default)]
    pub idle: IdlePolicy,
}

/// The benchmarks `darwin bench` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Benchmark {
    /// The Yahoo Streaming Benchmark: a filter, a lookup join and 10 s windows per campaign.
    Ysb,
    /// Nexmark queries over persons, auctions and bids.
    Nexmark,
}

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The arguments name no benchmark query (or an impossible layout).
    #[error("{0}")]
    Setup(String),
    /// The query failed while it ran.
    #[error(transparent)]
    Run(#[from] RuntimeError),
}

/// Results of the harness.
pub type Result<T> = std::result::Result<T, BenchError>;

/// The plans a benchmark runs, made from SQL by the caller (the planner is not part of this
/// crate, so compiled benchmark binaries do not carry it): the measured query, and for Nexmark
/// the same query on a small input for the result check, on the requested workers and on one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchPlans {
    /// The measured query's plan, on the requested workers.
    pub main: PhysicalPlan,
    /// Nexmark only: the check query's plan on the requested workers, then on one worker; None for YSB.
    pub check: Option<(PhysicalPlan, PhysicalPlan)>,
}

/// The event tables of a plan (those a generator produces). One table read with different
/// column sets (sources read only the columns their query uses) is recorded once per set.
fn event_tables(plan: &PhysicalPlan) -> Vec<TableDef> {
    fn walk(n: &PhysNode, out: &mut Vec<TableDef>) {
        if let PhysNode::Source { table: t, .. } = n {
            let generated = matches!(t.connector.as_str(), "nexmark")
                || (t.connector == "ysb" && t.option("table") == Some("events"));
            if generated && !out.contains(t) {
                out.push(t.clone());
            }
        }
        n.children().into_iter().for_each(|c| walk(c, out));
    }
    let mut out = Vec::new();
    plan.pipelines.iter().for_each(|p| walk(&p.root, &mut out));
    out
}

/// How many of `events` benchmark events belong to a table.
fn table_events(t: &TableDef, events: u64) -> u64 {
    match (t.connector.as_str(), t.option("table")) {
        ("nexmark", Some("person")) => nexmark_type_count(events, nexmark::event::EventType::Person),
        ("nexmark", Some("auction")) => nexmark_type_count(events, nexmark::event::EventType::Auction),
        ("nexmark", _) => nexmark_type_count(events, nexmark::event::EventType::Bid),
        _ => events,
    }
}

/// A benchmark's query (`${EVENTS}` stands for the event count) and its replay parameters.
pub struct Setup {
    /// The benchmark's SQL script, `${EVENTS}` still to be replaced.
    pub sql: String,
    name: String,
    /// Events per replay loop (all kinds) and the event time one loop spans.
    buffer: u64,
    span_ms: i64,
    wm_delay: i64,
}

/// The query and replay parameters of the benchmark `args` names; Err says the query or layout is unknown.
pub fn setup(args: &BenchArgs) -> std::result::Result<Setup, String> {
    match args.benchmark {
        Benchmark::Ysb => Ok(Setup {
            sql: queries::ysb(args.layout.as_deref())?,
            name: match &args.layout {
                Some(l) => format!("YSB ({l}-byte records)"),
                None => "YSB".into(),
            },
            // A multiple of 3,000 (the ad/type pattern), of the events per ms, and of common
            // worker counts, so replayed events equal the generator's: the check stays exact.
            buffer: 1_200_000,
            span_ms: (1_200_000 * 1000 / queries::YSB_RATE) as i64,
            wm_delay: 1000,
        }),
        Benchmark::Nexmark => {
            let q = args.query.clone().unwrap_or_else(|| "q5".into());
            let sql = queries::nexmark(&q).ok_or_else(|| {
                format!("unknown Nexmark query '{q}'; available: {}", queries::NEXMARK_QUERIES.join(", "))
            })?;
            // 1M events at the generator's 10,000 events/s of event time span 100 s.
            Ok(Setup { sql, name: format!("Nexmark {q}"), buffer: 1_000_000, span_ms: 100_000, wm_delay: 4000 })
        }
    }
}

/// A timed run's numbers, its result rows (when kept) and its checkpointing figures.
type RunOutcome = (RunNumbers, Vec<Vec<Value>>, Option<CheckpointStats>);

fn run_once(
    plan: &PhysicalPlan,
    recordings: HashMap<String, Arc<Recording>>,
    totals: HashMap<String, u64>,
    wm_delay: i64,
    keep_rows: bool,
    checkpoint: Option<std::time::Duration>,
    kernels: &Kernels,
) -> Result<RunOutcome> {
    let out = Arc::new(Mutex::new(Collected { keep_rows, ..Default::default() }));
    let factory = BenchFactory {
        recordings,
        total_events: totals.clone(),
        wm_delay,
        log: Arc::new(Mutex::new(Vec::new())),
        out: out.clone(),
    };
    let t = Instant::now();
    let dir = std::env::temp_dir().join(format!("darwin-bench-checkpoints-{}", std::process::id()));
    let cfg = checkpoint.map(|interval| CheckpointConfig {
        dir: dir.clone(),
        interval,
        retained: 2,
        fresh: true,
        plan_text: String::new(),
        workdir: None,
    });
    let summary = darwin_runtime::driver::run_kernels(plan, &factory, &mut (), cfg, kernels)?;
    let seconds = t.elapsed().as_secs_f64();
    if checkpoint.is_some() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    // Each input event once, even where a query scans a table twice (q5 reads `bid` twice).
    let mut per_table: HashMap<&str, u64> = HashMap::new();
    for (name, read, _) in summary.sources.iter().filter(|(n, _, _)| totals.contains_key(n)) {
        let e = per_table.entry(name).or_default();
        *e = (*e).max(*read);
    }
    let events = per_table.values().sum();
    let mut c = out.lock().expect("not poisoned");
    let p50 = percentile(&mut c.latencies_ms, 0.5);
    let p99 = percentile(&mut c.latencies_ms, 0.99);
    let idle_pct = summary.worker_idle.iter().map(|d| 100.0 * d.as_secs_f64() / seconds.max(1e-9)).collect();
    let numbers = RunNumbers { events, seconds, latency_p50_ms: p50, latency_p99_ms: p99, idle_pct };
    Ok((numbers, std::mem::take(&mut c.rows), summary.checkpoints))
}

/// Expected YSB view counts per (window end, campaign) for the first `events` deterministic events.
fn ysb_expected(events: u64) -> HashMap<(i64, i64), i64> {
    let base = darwin_connectors::generators::DEFAULT_BASE_TIME;
    let per_window = 10 * queries::YSB_RATE; // events in a 10 s window
                                             // Views of campaign c among events [0, x): each 3,000 events hold 10 views per campaign.
    let views_before = |x: u64, c: u64| -> i64 {
        let full = (x / 3000) * 10;
        let rest = (x / 3000 * 3000..x).filter(|i| i % 3 == 0 && (i % 1000) / 10 == c).count() as u64;
        (full + rest) as i64
    };
    let mut out = HashMap::new();
    let mut start = 0;
    while start < events {
        let end = (start + per_window).min(events);
        let w_end = base + ((start / per_window + 1) * 10_000) as i64;
        for c in 0..100 {
            let n = views_before(end, c) - views_before(start, c);
            if n > 0 {
                out.insert((w_end, c as i64), n);
            }
        }
        start = end;
    }
    out
}

fn canonical(rows: &[Vec<Value>]) -> Vec<String> {
    let mut v: Vec<String> = rows.iter().map(|r| format!("{r:?}")).collect();
    v.sort();
    v
}

/// The script of the Nexmark result check: the query on a small input, into a sink that keeps rows.
pub fn check_sql(s: &Setup) -> String {
    s.sql.replace("${EVENTS}", &CHECK_EVENTS.to_string()).replace("'blackhole'", "'print'")
}

const CHECK_EVENTS: u64 = 200_000;

/// Runs a benchmark's plans with the given kernels (none: the interpreter).
pub fn run_bench(args: &BenchArgs, plans: &BenchPlans, kernels: &Kernels) -> Result<BenchReport> {
    let s = setup(args)
        .map_err(|message| darwin_runtime::RuntimeError::Connector { connector: "bench".into(), message })?;
    let tables = event_tables(&plans.main);
    let batch = plans.main.settings.batch_size;
    // Record one replay buffer per event table (before timing).
    let mut recordings = HashMap::new();
    let mut totals = HashMap::new();
    let mut bytes = 0usize;
    let mut recorded = 0u64;
    for t in &tables {
        let rec = record(t, args.parallelism, s.buffer, s.span_ms, batch)?;
        bytes += rec.bytes;
        recorded += rec.events;
        recordings.insert(replay::recording_key(t), Arc::new(rec));
        totals.insert(t.name.clone(), table_events(t, args.events));
    }
    let bytes_per_event = bytes as f64 / recorded.max(1) as f64;
    let is_ysb = args.benchmark == Benchmark::Ysb;
    let (replay, rows, checkpoints) =
        run_once(&plans.main, recordings, totals.clone(), s.wm_delay, is_ysb, args.checkpoint_interval, kernels)?;
    let check = if is_ysb {
        let expected = ysb_expected(args.events);
        let got: HashMap<(i64, i64), i64> = rows
            .iter()
            .filter_map(|r| match (&r[0], &r[1], &r[2]) {
                (Value::Timestamp(w), Value::BigInt(c), Value::BigInt(n)) => Some(((*w, *c), *n)),
                _ => None,
            })
            .collect();
        if got == expected {
            format!("passed ({} window counts equal the closed form)", got.len())
        } else {
            let wrong = expected.iter().filter(|(k, v)| got.get(k) != Some(v)).count()
                + got.keys().filter(|k| !expected.contains_key(k)).count();
            format!("FAILED ({wrong} of {} window counts differ from the closed form)", expected.len())
        }
    } else {
        match &plans.check {
            Some((parallel, single)) => nexmark_check(&s, args, parallel, single, kernels)?,
            None => "not checked (no check plans given)".into(),
        }
    };
    let peak_rss_bytes = machine::peak_rss_bytes();
    // End to end: the same query with the generators inside the timed run.
    let end_to_end = match args.replay_only {
        true => None,
        false => Some(run_once(&plans.main, HashMap::new(), totals, s.wm_delay, false, None, kernels)?.0),
    };
    Ok(BenchReport {
        mode: args.mode,
        stream_events: (!is_ysb).then_some(args.events),
        name: s.name,
        parallelism: args.parallelism,
        replay,
        end_to_end,
        bytes_per_event,
        // Read the high-water mark before the bandwidth probe allocates its buffer.
        peak_rss_bytes,
        memory_bandwidth: machine::memory_read_bandwidth(args.parallelism),
        check,
        checkpoints: args.checkpoint_interval.zip(checkpoints),
    })
}

/// A Nexmark query on 200,000 events: replayed on the requested workers (with the benchmark's
/// kernels), compared with a single-worker run of the generator by the plain interpreter.
fn nexmark_check(
    s: &Setup,
    args: &BenchArgs,
    parallel: &PhysicalPlan,
    single: &PhysicalPlan,
    kernels: &Kernels,
) -> Result<String> {
    let small = CHECK_EVENTS;
    let tables = event_tables(parallel);
    let mut recordings = HashMap::new();
    let mut totals = HashMap::new();
    for t in &tables {
        recordings.insert(
            replay::recording_key(t),
            Arc::new(record(t, args.parallelism, small, s.span_ms, parallel.settings.batch_size)?),
        );
        totals.insert(t.name.clone(), table_events(t, small));
    }
    let (_, got, _) = run_once(parallel, recordings, totals.clone(), s.wm_delay, true, None, kernels)?;
    let (_, want, _) = run_once(single, HashMap::new(), totals, s.wm_delay, true, None, &Kernels::default())?;
    Ok(if canonical(&got) == canonical(&want) {
        format!("passed ({} rows equal a single-worker interpreted run on {small} events)", want.len())
    } else {
        format!("FAILED ({} rows vs {} in a single-worker interpreted run on {small} events)", got.len(), want.len())
    })
}
