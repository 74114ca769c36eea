//! A worker's loop: it builds its operators, then pulls each of its pipelines in turn and hands
//! what comes out to the pipeline's sink: rows to write, barriers to pre-commit at (and report
//! to the checkpoint coordinator), the end to finish at. When a round produced nothing (rows are
//! on their way from other workers), it backs off: spin, yield, then sleep.

use super::build::{writes_sink, Builder, Channel, Clock, Wiring};
use super::ConnectorFactory;
use crate::error::{Result, RuntimeError};
use crate::kernels::Kernels;
use crate::operator::{Completed, Counters, Msg, Operator, SinkContext, SinkWriter, SourceCounters};
use darwin_checkpoint::{Event, StagedFile};
use darwin_plan::{IdlePolicy, PhysicalPlan};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What every worker of a run shares.
pub(super) struct Shared {
    pub counters: Arc<Counters>,
    pub read: AtomicU64,
    pub written: AtomicU64,
    /// Set when a worker fails, so the others stop instead of waiting for it forever.
    pub abort: AtomicBool,
    /// How the run asks its sources to stop (a signal).
    pub stop: Arc<crate::ops::source::StopControl>,
    /// Set once a stop's final checkpoint is settled: workers leave their pipelines where they
    /// are (nothing after that checkpoint is committed; a restart resumes from it).
    pub halt: AtomicBool,
    /// Workers that have built (and restored) their operators.
    pub built: AtomicU64,
    /// Compiled mode's generated kernels (empty for the interpreter).
    pub kernels: Kernels,
    /// Per pipeline, if its sources are aligned: every source instance's watermark (source
    /// `k` in build order, the same on every worker, on worker `w` at `k * workers + w`), and
    /// the allowed drift.
    pub align: Vec<Option<Clock>>,
}

/// A worker's part in checkpointing.
pub(super) struct WorkerCheckpoint {
    pub events: Sender<Event>,
    pub epochs: Arc<AtomicU64>,
    pub durable: Arc<AtomicU64>,
    pub restore: Option<darwin_checkpoint::store::WorkerStates>,
    pub staging: std::path::PathBuf,
    pub first_epoch: u64,
}

impl WorkerCheckpoint {
    fn send(&self, event: Event) {
        // The coordinator only goes away when the run is over.
        let _ = self.events.send(event);
    }
}

/// What a worker did.
pub(super) struct WorkerResult {
    /// Per source it built: (table, records read, malformed records skipped).
    pub sources: Vec<(String, u64, u64)>,
    /// Per pipeline: rows written.
    pub written: Vec<u64>,
    /// Output of sinks that finished, to become visible once the whole run has succeeded.
    pub completed: Vec<Completed>,
    pub idle: Duration,
    /// The worker left its pipelines unfinished because the run was stopped (`Shared::halt`).
    pub halted: bool,
}

/// A pipeline on this worker.
struct Running {
    root: Box<dyn Operator>,
    sink: Option<Box<dyn SinkWriter>>,
    written: u64,
    done: bool,
    /// The epoch the pipeline is in (checkpointing only).
    epoch: u64,
    /// Its one source, when a failing row is surely in the batch that source read last.
    trace: Option<Arc<SourceCounters>>,
}

/// Below an exchange at the top of a pipeline (the gather to one writer): nothing above it
/// evaluates, so rows failing on this worker were read here.
fn top_below_exchange(root: &darwin_plan::PhysNode) -> &darwin_plan::PhysNode {
    match root {
        darwin_plan::PhysNode::Exchange { input, .. } => input,
        other => other,
    }
}

/// Whether a pipeline computes on its source's rows as they are read (projections, filters,
/// window assignment): a row that fails is then in the source's last batch.
fn reads_as_it_goes(node: &darwin_plan::PhysNode) -> bool {
    use darwin_plan::PhysNode;
    match node {
        PhysNode::Source { .. } => true,
        PhysNode::Calc { input, .. } | PhysNode::WindowAssign { input, .. } => reads_as_it_goes(input),
        _ => false,
    }
}

/// Worker `w`'s whole run: builds (and restores) its operators, then runs its pipelines until
/// every one has ended.
// Never inlined: `bench/work.sh` counts the instructions executed inside this function by name.
#[inline(never)]
pub(super) fn run_worker(
    w: usize,
    plan: &PhysicalPlan,
    factory: &dyn ConnectorFactory,
    senders: Vec<Vec<SyncSender<Channel>>>,
    inboxes: Vec<Option<Receiver<Channel>>>,
    shared: &Shared,
    ckpt: Option<WorkerCheckpoint>,
) -> Result<WorkerResult> {
    let wiring = Wiring { senders, inboxes };
    let mut b = Builder::new(factory, plan, shared, w, wiring, ckpt.as_ref());
    let ctx = SinkContext {
        worker: w,
        staging: ckpt.as_ref().map(|c| c.staging.clone()),
        first_epoch: ckpt.as_ref().map_or(0, |c| c.first_epoch),
    };
    let mut pipes = Vec::new();
    for (i, p) in plan.pipelines.iter().enumerate() {
        let before = b.sources().len();
        let root = b.pipeline(p, shared.align[i].clone())?;
        let trace = match &b.sources()[before..] {
            [one] if reads_as_it_goes(top_below_exchange(&p.root)) => Some(one.clone()),
            _ => None,
        };
        let sink = if writes_sink(&p.root, w) { Some(factory.open_sink(&p.sink, &ctx)?) } else { None };
        if let (Some(c), Some(target)) = (&ckpt, sink.as_ref().and_then(|s| s.output_file())) {
            c.send(Event::Output { target });
        }
        pipes.push(Running { root, sink, written: 0, done: false, epoch: ctx.first_epoch, trace });
    }
    if let Some(restore) = ckpt.as_ref().and_then(|c| c.restore.as_ref()) {
        b.check_restored(restore.len())?;
    }
    shared.built.fetch_add(1, Ordering::Relaxed);
    let mut last_read = 0;
    let mut idle = Idle::new(plan.settings.idle);
    let mut completed = Vec::new();
    let mut halted = false;
    while pipes.iter().any(|p| !p.done) {
        if shared.abort.load(Ordering::Relaxed) {
            return Err(RuntimeError::Aborted);
        }
        if shared.halt.load(Ordering::Relaxed) {
            halted = true;
            break;
        }
        let mut worked = false;
        for (i, p) in pipes.iter_mut().enumerate().filter(|(_, p)| !p.done) {
            worked |= step(w, i, p, shared, ckpt.as_ref())
                .map_err(|e| in_query(e, &plan.pipelines[i], p.trace.as_deref()))?;
            if p.done {
                completed.extend(p.sink.as_mut().map(|s| s.completed()).unwrap_or_default());
            }
        }
        worked |= crate::operator::take_worked();
        let read: u64 = b.sources().iter().map(|s| s.read.load(Ordering::Relaxed)).sum();
        shared.read.fetch_add(read - last_read, Ordering::Relaxed);
        last_read = read;
        idle.round(worked);
    }
    let sources = b.sources().iter();
    Ok(WorkerResult {
        sources: sources
            .map(|s| (s.name.clone(), s.read.load(Ordering::Relaxed), s.skipped.load(Ordering::Relaxed)))
            .collect(),
        written: pipes.iter().map(|p| p.written).collect(),
        completed,
        idle: idle.total(),
        halted,
    })
}

/// Pulls pipeline `i` once and hands what came out to its sink; whether anything happened.
fn step(w: usize, i: usize, p: &mut Running, shared: &Shared, ckpt: Option<&WorkerCheckpoint>) -> Result<bool> {
    match p.root.next()? {
        Some(Msg::Batch(batch)) => {
            p.written += batch.num_rows as u64;
            shared.written.fetch_add(batch.num_rows as u64, Ordering::Relaxed);
            match &mut p.sink {
                Some(s) => s.write(&batch)?,
                None => unreachable!("rows reached worker {w}, which does not write this sink"),
            }
        }
        Some(Msg::Idle) => return Ok(false),
        Some(Msg::Barrier(epoch)) => {
            let staged = precommit(&mut p.sink)?;
            p.epoch = epoch + 1;
            if let Some(c) = ckpt {
                c.send(Event::Barrier { worker: w, pipeline: i, epoch, staged });
            }
        }
        Some(Msg::Watermark(_)) => {}
        None => {
            if let Some(s) = &mut p.sink {
                s.finish()?;
            }
            let staged = precommit(&mut p.sink)?;
            if let Some(c) = ckpt {
                c.send(Event::Done { worker: w, pipeline: i, epoch: p.epoch, staged });
            }
            p.done = true;
        }
    }
    Ok(true)
}

/// An evaluation error told with the query it happened in: its sink and the tables it reads
/// (other errors name their file or table already).
fn in_query(e: RuntimeError, pipeline: &darwin_plan::Pipeline, trace: Option<&SourceCounters>) -> RuntimeError {
    if !matches!(e, RuntimeError::Eval(_) | RuntimeError::EvalOnRow { .. }) {
        return e;
    }
    fn sources(n: &darwin_plan::PhysNode, out: &mut Vec<String>) {
        if let darwin_plan::PhysNode::Source { table, .. } = n {
            if !out.contains(&table.name) {
                out.push(table.name.clone());
            }
        }
        n.children().into_iter().for_each(|c| sources(c, out));
    }
    let mut names = Vec::new();
    sources(&pipeline.root, &mut names);
    let read = trace.and_then(|t| t.last.told(&t.name));
    RuntimeError::InQuery {
        sink: pipeline.sink_name().to_string(),
        sources: names.join(", "),
        read,
        error: Box::new(e),
    }
}

/// The sink's output of the epoch that just ended (none on workers without the sink).
fn precommit(sink: &mut Option<Box<dyn SinkWriter>>) -> Result<Vec<StagedFile>> {
    sink.as_mut().map_or(Ok(Vec::new()), |s| s.precommit())
}

/// A worker's back-off while it waits for rows from other workers, and the time it waited.
struct Idle {
    policy: IdlePolicy,
    rounds: u32,
    /// Time with nothing to do: clocked only when the worker turns idle and busy again.
    since: Option<Instant>,
    total: Duration,
}

impl Idle {
    fn new(policy: IdlePolicy) -> Idle {
        Idle { policy, rounds: 0, since: None, total: Duration::ZERO }
    }

    /// After a round of pulling every pipeline: backs off if it did nothing. Spin briefly, then
    /// yield the core, and sleep only after a long wait (a short sleep costs ~60 us on Linux,
    /// far more than a batch takes), unless the plan says to sleep at once.
    fn round(&mut self, worked: bool) {
        if worked {
            self.rounds = 0;
            if let Some(t) = self.since.take() {
                self.total += t.elapsed();
            }
            return;
        }
        self.since.get_or_insert_with(Instant::now);
        self.rounds += 1;
        if self.policy == IdlePolicy::Sleep {
            std::thread::sleep(Duration::from_micros(50));
        } else if self.rounds < 64 {
            std::hint::spin_loop();
        } else if self.rounds < 4096 {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_micros(50));
        }
    }

    fn total(&self) -> Duration {
        self.total + self.since.map_or(Duration::ZERO, |t| t.elapsed())
    }
}
