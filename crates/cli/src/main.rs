//! The `darwin` command: run, explain, and generate benchmark data.

use clap::{Parser, Subcommand, ValueEnum};
use darwin::{compile, explain, Mode, Options};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "darwin", version, about = "Darwin: streaming SQL that gets the most out of one machine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Script {
    /// A file of `;`-separated SQL statements.
    file: Option<PathBuf>,
    /// SQL text instead of a file.
    #[arg(short = 'e', long = "execute", conflicts_with = "file", allow_hyphen_values = true)]
    sql: Option<String>,
    /// Worker threads (default: the number of cores).
    #[arg(long, value_parser = positive)]
    parallelism: Option<usize>,
    /// Rows per batch (default 4096).
    #[arg(long, value_parser = positive)]
    batch_size: Option<usize>,
}

#[derive(clap::Args)]
struct ExecArgs {
    /// Executor: `interpreted`, `compiled` (native code built with the installed Rust toolchain),
    /// or `auto` (compiled when a toolchain is present, else interpreted; says which).
    #[arg(long, default_value = "interpreted")]
    mode: Mode,
    /// Where compiled queries are cached (default: $XDG_CACHE_HOME/darwin or ~/.cache/darwin).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
}

impl ExecArgs {
    fn cache(&self) -> PathBuf {
        self.cache_dir.clone().unwrap_or_else(darwin_codegen::toolchain::default_cache_dir)
    }
}

#[derive(clap::Args)]
struct CheckpointArgs {
    /// Take checkpoints into this directory, and resume from the newest one found there
    /// (exactly-once output to file sinks).
    #[arg(long)]
    checkpoint_dir: Option<PathBuf>,
    /// Time between checkpoints: 200ms, 1s, 1m.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    checkpoint_interval: std::time::Duration,
    /// Complete checkpoints kept in the directory.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    checkpoints_retained: u64,
    /// Ignore (and delete) the checkpoints in --checkpoint-dir and start over.
    #[arg(long, requires = "checkpoint_dir")]
    fresh: bool,
}

/// A whole number of at least 1 (workers, rows per batch): 0 would run nothing.
fn positive(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{s}' is not a whole number")),
    }
}

/// A duration with a unit: `250ms`, `1s`, `1.5s`, `2m`, `1h`.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    darwin_common::time::parse_duration(s)
}

#[derive(Clone, Copy, ValueEnum)]
enum Benchmark {
    Nexmark,
    Ysb,
}

#[derive(Clone, Copy, ValueEnum)]
enum BenchName {
    Ysb,
    Nexmark,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Json,
    Parquet,
    /// Arrow IPC files.
    Arrow,
}

#[derive(Subcommand)]
enum Command {
    /// Run a script: every INSERT and SELECT runs together until the sources end.
    Run {
        #[command(flatten)]
        script: Script,
        #[command(flatten)]
        checkpoint: CheckpointArgs,
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// Print the logical and physical plans and the choices made for this machine.
    Explain {
        #[command(flatten)]
        script: Script,
        /// Print the Rust that compiled mode generates for the query instead.
        #[arg(long)]
        code: bool,
        /// The executor the choices are explained for.
        #[arg(long, default_value = "interpreted")]
        mode: Mode,
    },
    /// Benchmark a query: events replayed from memory and end to end; results checked.
    Bench {
        benchmark: BenchName,
        /// Nexmark query: q0, q1, q2, q5, q7, q8.
        #[arg(long)]
        query: Option<String>,
        #[arg(long, default_value_t = 20_000_000)]
        events: u64,
        /// Worker threads (default: the number of cores).
        #[arg(long, value_parser = positive)]
        parallelism: Option<usize>,
        /// Rows per batch (default 4096).
        #[arg(long, value_parser = positive)]
        batch_size: Option<usize>,
        #[command(flatten)]
        exec: ExecArgs,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Take checkpoints at this interval during the replayed run (to measure their cost).
        #[arg(long, value_parser = parse_duration)]
        checkpoint_interval: Option<std::time::Duration>,
        /// YSB events as fixed-width records of 78 bytes (16-byte ids, type strings) or 64 bytes
        /// (64-bit integers), decoded in the timed run; default: generated straight into columns.
        #[arg(long, value_parser = ["78", "64"])]
        layout: Option<String>,
        /// Only the replayed run: skip the end-to-end run (for profiles and long runs).
        #[arg(long)]
        replay_only: bool,
        /// What workers do while they wait: `spin` (then yield, then sleep), or `sleep` at once
        /// (for counting work with callgrind, which would count spinning as work).
        #[arg(long, default_value = "spin", value_parser = darwin_planner::machine::idle_policy)]
        idle: darwin_plan::IdlePolicy,
    },
    /// Write a built-in generator's data to files, for other systems and tests.
    Gen {
        benchmark: Benchmark,
        /// Number of events (Nexmark: all three kinds together).
        #[arg(long, default_value_t = 100_000)]
        events: u64,
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
        #[arg(long)]
        out: PathBuf,
        /// YSB only: use the seeded random variant.
        #[arg(long)]
        seed: Option<u64>,
    },
}

/// Where the script's relative paths resolve: where the query first ran with this checkpoint
/// directory (so a resumed run writes to the same files from anywhere), else here.
fn base_dir(checkpoint: &CheckpointArgs) -> anyhow::Result<PathBuf> {
    let here = std::env::current_dir().map_err(|e| anyhow::anyhow!("cannot read the working directory: {e}"))?;
    let recorded = checkpoint
        .checkpoint_dir
        .as_deref()
        .filter(|_| !checkpoint.fresh)
        .and_then(darwin_checkpoint::store::recorded_workdir);
    match recorded {
        Some(first) if first != here => {
            eprintln!(
                "darwin: relative paths resolve against {}, where this query first ran with this checkpoint directory",
                first.display()
            );
            Ok(first)
        }
        _ => Ok(here),
    }
}

fn read_script(s: &Script) -> anyhow::Result<String> {
    match (&s.file, &s.sql) {
        (_, Some(sql)) => Ok(sql.clone()),
        (Some(f), None) => std::fs::read_to_string(f).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", f.display())),
        (None, None) => anyhow::bail!("give a script file or -e 'SQL'"),
    }
}

fn gen_script(b: Benchmark, events: u64, format: Format, out: &std::path::Path, seed: Option<u64>) -> String {
    let fmt = match format {
        Format::Csv => "csv",
        Format::Json => "json",
        Format::Parquet => "parquet",
        Format::Arrow => "arrow",
    };
    type Columns = &'static [(&'static str, darwin_common::DataType)];
    let (connector, tables): (&str, Vec<(&str, Columns)>) = match b {
        Benchmark::Nexmark => (
            "nexmark",
            ["person", "auction", "bid"]
                .iter()
                .map(|t| (*t, darwin_connectors::generators::nexmark_columns(t)))
                .collect(),
        ),
        Benchmark::Ysb => (
            "ysb",
            ["events", "campaigns"].iter().map(|t| (*t, darwin_connectors::generators::ysb_columns(t))).collect(),
        ),
    };
    let mut sql = String::new();
    for (t, cols) in tables {
        let decl = cols.iter().map(|(n, ty)| format!("{n} {ty}")).collect::<Vec<_>>().join(", ");
        let seed = seed
            .filter(|_| connector == "ysb" && t == "events")
            .map(|s| format!(", 'seed' = '{s}'"))
            .unwrap_or_default();
        let path = out.join(format!("{t}.{fmt}")).display().to_string().replace('\'', "''");
        sql.push_str(&format!(
            "CREATE TABLE src_{t} ({decl}) WITH ('connector' = '{connector}', 'table' = '{t}', 'events' = '{events}'{seed});\n\
             CREATE TABLE out_{t} ({decl}) WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = '{fmt}');\n\
             INSERT INTO out_{t} SELECT * FROM src_{t};\n"
        ));
    }
    sql
}

/// The stack of the thread that parses, plans and drives a query: deep SQL (views on views,
/// deeply nested expressions up to the binder's limits) recurses that deep, and a crash is
/// never an answer. Only the pages used are ever touched.
const STACK_BYTES: usize = 1 << 30;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let run = std::thread::Builder::new().name("darwin".into()).stack_size(STACK_BYTES).spawn(|| real_main(cli));
    let result = match run {
        Ok(handle) => {
            handle.join().unwrap_or_else(|_| Err(anyhow::anyhow!("darwin panicked (a bug; please report it)")))
        }
        Err(e) => Err(anyhow::anyhow!("cannot start darwin's main thread: {e}")),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the command; the process's exit code: 0, or 128 plus the signal's number for a run
/// that a signal stopped.
fn real_main(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Explain { script: s, code, mode } => {
            let sql = read_script(&s)?;
            let opts = Options { parallelism: s.parallelism, batch_size: s.batch_size, executor: mode, idle: None };
            let c = compile(&sql, &opts)?;
            print!("{}", if code { darwin::generated_code(&c) } else { explain(&c) });
            Ok(0)
        }
        Command::Run { script: s, checkpoint, exec } => {
            let sql = read_script(&s)?;
            let opts =
                Options { parallelism: s.parallelism, batch_size: s.batch_size, executor: exec.mode, idle: None };
            let base = base_dir(&checkpoint)?;
            let c = darwin::compile_at(&sql, &opts, Some(&base))?;
            darwin::warnings(&c).iter().for_each(|w| eprintln!("darwin: warning: {w}"));
            let cfg = checkpoint.checkpoint_dir.map(|dir| darwin_checkpoint::CheckpointConfig {
                dir,
                interval: checkpoint.checkpoint_interval,
                retained: checkpoint.checkpoints_retained as usize,
                fresh: checkpoint.fresh,
                plan_text: darwin_planner::explain::physical_to_string(&c.physical),
                workdir: Some(base),
            });
            run(&c, cfg, &exec)
        }
        Command::Bench {
            benchmark,
            query,
            events,
            parallelism,
            batch_size,
            exec,
            json,
            checkpoint_interval,
            layout,
            replay_only,
            idle,
        } => {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let args = darwin::bench::BenchArgs {
                benchmark: match benchmark {
                    BenchName::Ysb => darwin_bench::Benchmark::Ysb,
                    BenchName::Nexmark => darwin_bench::Benchmark::Nexmark,
                },
                query,
                events,
                parallelism: parallelism.unwrap_or(cores).max(1),
                batch_size,
                checkpoint_interval,
                mode: exec.mode,
                layout,
                replay_only,
                idle,
            };
            let report = darwin::bench::run_bench(&args, exec.mode, &exec.cache())?;
            if json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            if report.check.starts_with("FAILED") {
                anyhow::bail!("the benchmark's result check failed: {}", report.check);
            }
            Ok(0)
        }
        Command::Gen { benchmark, events, format, out, seed } => {
            std::fs::create_dir_all(&out).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out.display()))?;
            // One worker: each file is then in event-time order (two workers would each write a
            // sorted run, one after the other, and a query's watermark would drop the second as late).
            let opts = Options { parallelism: Some(1), ..Options::default() };
            let c = compile(&gen_script(benchmark, events, format, &out, seed), &opts)?;
            run(&c, None, &ExecArgs { mode: Mode::Interpreted, cache_dir: None })
        }
    }
}

/// The files a script's sinks write.
fn output_files(c: &darwin::Compiled) -> Vec<&str> {
    c.physical
        .pipelines
        .iter()
        .filter_map(|p| match &p.sink {
            darwin_plan::SinkTarget::Table(t) if t.connector == "filesystem" => t.option("path"),
            _ => None,
        })
        .collect()
}

/// After a failed run: what its output files hold now.
fn say_what_outputs_hold(c: &darwin::Compiled, checkpointed: bool) {
    let files = output_files(c);
    if files.is_empty() {
        return;
    }
    let list = files.join(", ");
    if checkpointed {
        eprintln!(
            "darwin: {list} hold the output committed up to the last complete checkpoint; run the same command \
             to resume from it"
        );
    } else {
        let keeps = if files.len() == 1 { "keeps its" } else { "keep their" };
        eprintln!("darwin: nothing was written: {list} {keeps} previous content (output replaces it only when a run completes)");
    }
}

/// Runs a compiled script, prints its summary and returns the exit code (0, or 128 plus the
/// signal that stopped it).
fn run(
    c: &darwin::Compiled,
    checkpoint: Option<darwin_checkpoint::CheckpointConfig>,
    exec: &ExecArgs,
) -> anyhow::Result<u8> {
    let tty = std::io::stderr().is_terminal();
    let mut progress = |p: &darwin_runtime::Progress| {
        if tty {
            eprint!("{}", darwin_exec::progress_line(p));
        }
    };
    let mut notice = |m: &str| eprintln!("darwin: {m}");
    // Polled once the query runs: the handlers go in then, so a signal while planning or
    // compiling ends the process as usual.
    let mut stop = || {
        darwin_exec::signals::install();
        darwin_exec::signals::requested()
    };
    let mut observer = darwin_runtime::Callbacks { progress: &mut progress, notice: &mut notice, stop: &mut stop };
    let checkpointed = checkpoint.is_some();
    let summary = match darwin::execute_mode(c, &mut observer, checkpoint, exec.mode, &exec.cache()) {
        Ok(s) => s,
        Err(e) => {
            if tty {
                eprint!("\r{:60}\r", "");
            }
            say_what_outputs_hold(c, checkpointed);
            return Err(e.into());
        }
    };
    if tty {
        eprint!("\r{:60}\r", "");
    }
    let secs = summary.elapsed.as_secs_f64();
    eprintln!("-- summary --");
    for (name, read, skipped) in &summary.sources {
        let skip = if *skipped > 0 { format!(" ({skipped} malformed records skipped)") } else { String::new() };
        eprintln!("source {name}: {read} records read{skip}");
    }
    for (name, rows) in &summary.sinks {
        eprintln!("sink {name}: {rows} rows written");
    }
    eprintln!("late records dropped: {}", summary.late_records);
    eprintln!("peak operator state: {} KiB", summary.peak_state_bytes / 1024);
    if summary.worker_idle.len() > 1 {
        let secs = summary.elapsed.as_secs_f64().max(1e-9);
        let idle: Vec<String> =
            summary.worker_idle.iter().map(|d| format!("{:.0}%", 100.0 * d.as_secs_f64() / secs)).collect();
        eprintln!(
            "workers idle: {} of the run (waiting for other workers, a source's alignment or a join's other input)",
            idle.join(" / ")
        );
    }
    if let Some(k) = &summary.checkpoints {
        if let Some(e) = k.restored_from {
            eprintln!(
                "restored from checkpoint {e}: read and verified in {:.1} ms, processing again after {:.1} ms",
                k.restore_time.as_secs_f64() * 1e3,
                k.resume_time.as_secs_f64() * 1e3
            );
        }
        eprintln!(
            "checkpoints: {} taken, {} failed; last: epoch {}, {} KiB of state; slowest {:.1} ms (write {:.1} ms)",
            k.taken,
            k.failed,
            k.last_epoch.map_or("-".to_string(), |e| e.to_string()),
            k.last_state_bytes / 1024,
            k.max_duration.as_secs_f64() * 1e3,
            k.max_write.as_secs_f64() * 1e3,
        );
        eprintln!(
            "checkpoint capture: workers paused at most {:.1} ms; {} of the {} KiB written were copied unchanged \
             from the previous checkpoint, not captured again",
            k.max_capture.as_secs_f64() * 1e3,
            k.reused_bytes / 1024,
            k.written_bytes / 1024
        );
    }
    let read = summary.records_read();
    eprintln!("elapsed: {secs:.3} s, {:.0} events/s", if secs > 0.0 { read as f64 / secs } else { 0.0 });
    Ok(summary.stopped.as_ref().map_or(0, |st| {
        say_how_it_stopped(c, st);
        (128 + st.signo).clamp(0, 255) as u8
    }))
}

/// After a run a signal stopped: what its output holds and how to go on.
fn say_how_it_stopped(c: &darwin::Compiled, st: &darwin_runtime::Stopped) {
    let files = output_files(c).join(", ");
    let outputs = if files.is_empty() { String::new() } else { format!(" ({files})") };
    let how = if st.drained {
        format!(
            "the sources stopped where they were, every open window was closed as at the end of the input, and \
             the output{outputs} holds the complete result for the records read"
        )
    } else {
        match (st.final_checkpoint, st.resumes_from) {
            (Some(e), _) => format!(
                "checkpoint {e} was taken and the output{outputs} committed up to it; run the same command to \
                 resume exactly there"
            ),
            (None, Some(e)) => format!(
                "the final checkpoint could not be written; the output{outputs} is committed up to checkpoint {e}, \
                 and running the same command resumes from it"
            ),
            (None, None) => format!(
                "no checkpoint was complete yet; the output{outputs} holds nothing of this run, and running the \
                 same command starts over"
            ),
        }
    };
    eprintln!("darwin: stopped by {}: {how}. Exit code {}.", st.signal, 128 + st.signo);
}
