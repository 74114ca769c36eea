//! `darwin bench`: the harness Darwin's numbers come from. A query runs twice: on events
//! generated into memory beforehand and replayed with advancing timestamps (the engine's own
//! speed, as the scale-up literature measures it), and end to end with the generator inside
//! the timed run. Results are checked, not only timed: YSB against its closed-form counts,
//! Nexmark against a single-worker run of the same query on a smaller input.

pub mod machine;
pub mod queries;
pub mod replay;

use darwin_checkpoint::coordinator::CheckpointStats;
use darwin_checkpoint::CheckpointConfig;
use darwin_common::Value;
use darwin_connectors::generators::nexmark_type_count;
use darwin_plan::{PhysNode, PhysicalPlan, TableDef};
use darwin_runtime::kernels::Kernels;
use darwin_runtime::Result;
use replay::{record, BenchFactory, Collected, Recording};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchArgs {
    pub benchmark: String,
    pub query: Option<String>,
    pub events: u64,
    pub parallelism: usize,
    pub batch_size: Option<usize>,
    /// Take checkpoints during the replayed run (into a temporary directory).
    pub checkpoint_interval: Option<std::time::Duration>,
    /// `interpreted` or `compiled`: what the report says ran.
    pub mode: String,
    /// YSB's record layout (`78` or `64` bytes), or None for events generated as columns.
    #[serde(default)]
    pub layout: Option<String>,
    /// Skip the end-to-end run (for profiling and long replayed runs).
    #[serde(default)]
    pub replay_only: bool,
}

/// The plans a benchmark runs, made from SQL by the caller (the planner is not part of this
/// crate, so compiled benchmark binaries do not carry it): the measured query, and for Nexmark
/// the same query on a small input for the result check, on the requested workers and on one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchPlans {
    pub main: PhysicalPlan,
    pub check: Option<(PhysicalPlan, PhysicalPlan)>,
}

/// One timed run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunNumbers {
    pub events: u64,
    pub seconds: f64,
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    /// Per worker: % of the run it had nothing to do.
    pub idle_pct: Vec<f64>,
}

impl RunNumbers {
    pub fn events_per_sec(&self) -> f64 {
        if self.seconds > 0.0 {
            self.events as f64 / self.seconds
        } else {
            0.0
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchReport {
    pub name: String,
    pub mode: String,
    /// Nexmark counts every event of the stream (all three kinds), also those a query does not
    /// read; Darwin's generator tables deliver only the kinds a query reads.
    pub stream_events: Option<u64>,
    pub parallelism: usize,
    pub replay: RunNumbers,
    /// None with `replay_only`.
    pub end_to_end: Option<RunNumbers>,
    pub bytes_per_event: f64,
    pub memory_bandwidth: f64,
    pub peak_rss_bytes: u64,
    pub check: String,
    /// Checkpointing during the replayed run: the interval and what was taken.
    pub checkpoints: Option<(std::time::Duration, CheckpointStats)>,
}

fn percentile(v: &mut [f64], p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[((v.len() - 1) as f64 * p).round() as usize])
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or("null".into(), |x| format!("{x:.3}"))
}

impl BenchReport {
    pub fn roofline(&self) -> f64 {
        self.memory_bandwidth / self.bytes_per_event.max(1.0)
    }

    pub fn to_json(&self) -> String {
        let r = &self.replay;
        let end_to_end = self.end_to_end.as_ref().map_or("null".to_string(), |e| {
            format!(
                "{{\"events\":{},\"seconds\":{:.6},\"events_per_sec\":{:.0},\"events_per_sec_per_core\":{:.0},\"latency_p50_ms\":{},\"latency_p99_ms\":{}}}",
                e.events,
                e.seconds,
                e.events_per_sec(),
                e.events_per_sec() / self.parallelism as f64,
                fmt_opt(e.latency_p50_ms),
                fmt_opt(e.latency_p99_ms),
            )
        });
        format!(
            "{{\"benchmark\":\"{}\",\"mode\":\"{}\",\"parallelism\":{},\"events\":{},\"seconds\":{:.6},\"events_per_sec\":{:.0},\"events_per_sec_per_core\":{:.0},\"latency_p50_ms\":{},\"latency_p99_ms\":{},\"peak_rss_bytes\":{},\"bytes_per_event\":{:.1},\"memory_read_bandwidth_bytes_per_sec\":{:.0},\"roofline_events_per_sec\":{:.0},\"check\":\"{}\",\"stream_events\":{},\"worker_idle_pct\":[{}],\"end_to_end\":{}}}",
            self.name,
            self.mode,
            self.parallelism,
            r.events,
            r.seconds,
            r.events_per_sec(),
            r.events_per_sec() / self.parallelism as f64,
            fmt_opt(r.latency_p50_ms),
            fmt_opt(r.latency_p99_ms),
            self.peak_rss_bytes,
            self.bytes_per_event,
            self.memory_bandwidth,
            self.roofline(),
            self.check.replace('"', "'"),
            self.stream_events.map_or("null".to_string(), |n| n.to_string()),
            r.idle_pct.iter().map(|p| format!("{p:.1}")).collect::<Vec<_>>().join(","),
            end_to_end,
        )
        .strip_suffix('}')
        .expect("a JSON object")
        .to_string()
            + &match &self.checkpoints {
                None => "}".to_string(),
                Some((every, k)) => format!(
                    ",\"checkpoints\":{{\"interval_ms\":{},\"taken\":{},\"failed\":{},\"max_ms\":{:.3},\"mean_ms\":{:.3},\"max_write_ms\":{:.3},\"max_capture_ms\":{:.3},\"last_state_bytes\":{}}}}}",
                    every.as_millis(),
                    k.taken,
                    k.failed,
                    k.max_duration.as_secs_f64() * 1e3,
                    k.total_duration.as_secs_f64() * 1e3 / k.taken.max(1) as f64,
                    k.max_write.as_secs_f64() * 1e3,
                    k.max_capture.as_secs_f64() * 1e3,
                    k.last_state_bytes
                ),
            }
    }

    pub fn to_text(&self) -> String {
        let row = |label: &str, r: &RunNumbers| {
            format!(
                "{label:<26}{:>14} events {:>9.3} s {:>14.0} events/s {:>13.0} /core   latency p50 {} ms, p99 {} ms{}\n",
                r.events,
                r.seconds,
                r.events_per_sec(),
                r.events_per_sec() / self.parallelism as f64,
                fmt_opt(r.latency_p50_ms),
                fmt_opt(r.latency_p99_ms),
                match r.idle_pct.len() {
                    0 | 1 => String::new(),
                    _ => format!(
                        "; workers idle {}",
                        r.idle_pct.iter().map(|p| format!("{p:.0}%")).collect::<Vec<_>>().join(" / ")
                    ),
                }
            )
        };
        let mut s = format!("{} ({}, {} workers)\n", self.name, self.mode, self.parallelism);
        s += &row("replayed from memory:", &self.replay);
        match &self.end_to_end {
            Some(e) => s += &row("end to end (generator):", e),
            None => s += "end to end (generator):   not run (--replay-only)\n",
        }
        s += &format!(
            "in-memory event size {:.1} B; memory read bandwidth {:.1} GB/s -> roofline {:.0} events/s ({:.1}% reached)\n",
            self.bytes_per_event,
            self.memory_bandwidth / 1e9,
            self.roofline(),
            100.0 * self.replay.events_per_sec() / self.roofline()
        );
        if let Some(n) = self.stream_events {
            s += &format!(
                "Nexmark convention (all {} stream events, also kinds the query does not read): {:.0} events/s replayed\n",
                n,
                n as f64 / self.replay.seconds.max(1e-9)
            );
        }
        if let Some((every, k)) = &self.checkpoints {
            s += &format!(
                "checkpoints every {:?} during the replayed run: {} taken ({} failed), barrier to durable mean {:.1} ms, \
                 max {:.1} ms (write max {:.1} ms), workers paused to capture at most {:.1} ms, last {} KiB of state\n",
                every,
                k.taken,
                k.failed,
                k.total_duration.as_secs_f64() * 1e3 / k.taken.max(1) as f64,
                k.max_duration.as_secs_f64() * 1e3,
                k.max_write.as_secs_f64() * 1e3,
                k.max_capture.as_secs_f64() * 1e3,
                k.last_state_bytes / 1024
            );
        }
        s += &format!(
            "peak resident memory {:.1} MiB; result check: {}\n",
            self.peak_rss_bytes as f64 / (1 << 20) as f64,
            self.check
        );
        s
    }
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
    pub sql: String,
    name: String,
    /// Events per replay loop (all kinds) and the event time one loop spans.
    buffer: u64,
    span_ms: i64,
    wm_delay: i64,
}

pub fn setup(args: &BenchArgs) -> std::result::Result<Setup, String> {
    let bad = |m: String| m;
    match args.benchmark.as_str() {
        "ysb" => Ok(Setup {
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
        "nexmark" => {
            let q = args.query.clone().unwrap_or_else(|| "q5".into());
            let sql = queries::nexmark(&q).ok_or_else(|| {
                bad(format!("unknown Nexmark query '{q}'; available: {}", queries::NEXMARK_QUERIES.join(", ")))
            })?;
            // 1M events at the generator's 10,000 events/s of event time span 100 s.
            Ok(Setup { sql, name: format!("Nexmark {q}"), buffer: 1_000_000, span_ms: 100_000, wm_delay: 4000 })
        }
        other => Err(bad(format!("unknown benchmark '{other}'; available: ysb, nexmark"))),
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
    });
    let summary = darwin_runtime::build::run_kernels(plan, &factory, &mut |_| {}, cfg, kernels)?;
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
    let is_ysb = args.benchmark == "ysb";
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
        mode: args.mode.clone(),
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
