//! What a benchmark run reports: events/s replayed and end to end, window latency, memory,
//! the roofline the machine's memory bandwidth implies, the result check and the cost of
//! checkpoints; as text (a table for people) or JSON (one object for the scripts).

use darwin_checkpoint::coordinator::CheckpointStats;
use darwin_plan::Executor;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// One timed run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunNumbers {
    /// Input events read (each table's events counted once, though a query may scan it twice).
    pub events: u64,
    /// Wall-clock duration of the run, in seconds.
    pub seconds: f64,
    /// Median window latency in ms; None when no window closed during the run.
    pub latency_p50_ms: Option<f64>,
    /// 99th percentile window latency in ms; None when no window closed during the run.
    pub latency_p99_ms: Option<f64>,
    /// Per worker: % of the run it had nothing to do.
    pub idle_pct: Vec<f64>,
}

impl RunNumbers {
    /// Throughput: `events / seconds` (0 for a run that took no time).
    pub fn events_per_sec(&self) -> f64 {
        if self.seconds > 0.0 {
            self.events as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Everything `darwin bench` reports for one benchmark run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchReport {
    /// The benchmark and query, e.g. `Nexmark q5` or `YSB (78-byte records)`.
    pub name: String,
    /// The executor that ran it.
    pub mode: Executor,
    /// Nexmark counts every event of the stream (all three kinds), also those a query does not
    /// read; Darwin's generator tables deliver only the kinds a query reads.
    pub stream_events: Option<u64>,
    /// Number of workers.
    pub parallelism: usize,
    /// The run over pre-generated events replayed from memory (the engine's own speed).
    pub replay: RunNumbers,
    /// None with `replay_only`.
    pub end_to_end: Option<RunNumbers>,
    /// Bytes of recorded input per event: what the engine reads from memory for one event.
    pub bytes_per_event: f64,
    /// Measured memory read bandwidth on `parallelism` threads, in bytes per second.
    pub memory_bandwidth: f64,
    /// Peak resident memory (VmHWM) of the process that ran the benchmark, read before the end-to-end
    /// run, in bytes.
    pub peak_rss_bytes: u64,
    /// Outcome of the result check, a sentence starting `passed`, `FAILED` or `not checked`.
    pub check: String,
    /// Checkpointing during the replayed run: the interval and what was taken.
    pub checkpoints: Option<(std::time::Duration, CheckpointStats)>,
}

pub(crate) fn percentile(v: &mut [f64], p: f64) -> Option<f64> {
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
    /// Events/s the memory bandwidth allows if each event's bytes are read once: `memory_bandwidth / bytes_per_event`.
    pub fn roofline(&self) -> f64 {
        self.memory_bandwidth / self.bytes_per_event.max(1.0)
    }

    /// The report as one JSON object (`darwin bench --json`; the bench scripts read it).
    pub fn to_json(&self) -> String {
        let per_core = |r: &RunNumbers| r.events_per_sec() / self.parallelism as f64;
        let r = &self.replay;
        let end_to_end = self.end_to_end.as_ref().map(|e| {
            json!({
                "events": e.events,
                "seconds": e.seconds,
                "events_per_sec": e.events_per_sec().round(),
                "events_per_sec_per_core": per_core(e).round(),
                "latency_p50_ms": e.latency_p50_ms,
                "latency_p99_ms": e.latency_p99_ms,
            })
        });
        let mut out = json!({
            "benchmark": self.name,
            "mode": self.mode.name(),
            "parallelism": self.parallelism,
            "events": r.events,
            "seconds": r.seconds,
            "events_per_sec": r.events_per_sec().round(),
            "events_per_sec_per_core": per_core(r).round(),
            "latency_p50_ms": r.latency_p50_ms,
            "latency_p99_ms": r.latency_p99_ms,
            "peak_rss_bytes": self.peak_rss_bytes,
            "bytes_per_event": self.bytes_per_event,
            "memory_read_bandwidth_bytes_per_sec": self.memory_bandwidth.round(),
            "roofline_events_per_sec": self.roofline().round(),
            "check": self.check,
            "stream_events": self.stream_events,
            "worker_idle_pct": r.idle_pct,
            "end_to_end": end_to_end,
        });
        if let Some((every, k)) = &self.checkpoints {
            out["checkpoints"] = json!({
                "interval_ms": every.as_millis() as u64,
                "taken": k.taken,
                "failed": k.failed,
                "max_ms": k.max_duration.as_secs_f64() * 1e3,
                "mean_ms": k.total_duration.as_secs_f64() * 1e3 / k.taken.max(1) as f64,
                "max_write_ms": k.max_write.as_secs_f64() * 1e3,
                "max_capture_ms": k.max_capture.as_secs_f64() * 1e3,
                "last_state_bytes": k.last_state_bytes,
            });
        }
        out.to_string()
    }

    /// The report as a table for people (`darwin bench` without `--json`).
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
