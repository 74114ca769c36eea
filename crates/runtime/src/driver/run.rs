//! Running a plan: the driver thread opens the checkpoint directory (and the checkpoint to
//! resume from), wires the exchanges, starts one pinned worker thread per core, runs the
//! checkpoint coordinator beside them while reporting progress, and gathers their results into
//! the run's summary. A failing worker stops the others; the run reports its error, not the
//! others' `Aborted`.

use super::build::{count_exchanges, count_sources, Channel};
use super::worker::{run_worker, Shared, WorkerCheckpoint, WorkerResult};
use super::{ConnectorFactory, Observer, Progress, RunSummary, StopRequest, Stopped};
use crate::error::{Result, RuntimeError};
use crate::kernels::Kernels;
use crate::operator::Counters;
use crate::ops::exchange::INBOX_CAPACITY;
use darwin_checkpoint::coordinator::{Coordinator, Restore};
use darwin_checkpoint::{CheckpointConfig, Event};
use darwin_plan::PhysicalPlan;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A worker's stack: evaluation recurses once per level of an expression's nesting (up to the
/// binder's limit of 10,000). Only the pages used are touched.
const WORKER_STACK_BYTES: usize = 256 << 20;

/// Runs every pipeline of the plan to completion (for bounded sources) and returns the summary.
pub fn run(plan: &PhysicalPlan, factory: &dyn ConnectorFactory, observer: &mut dyn Observer) -> Result<RunSummary> {
    run_with(plan, factory, observer, None)
}

/// `run`, taking checkpoints into `checkpoint.dir` (and resuming from the newest one there).
pub fn run_with(
    plan: &PhysicalPlan,
    factory: &dyn ConnectorFactory,
    observer: &mut dyn Observer,
    checkpoint: Option<CheckpointConfig>,
) -> Result<RunSummary> {
    run_kernels(plan, factory, observer, checkpoint, &Kernels::default())
}

/// `run_with`, with compiled mode's generated kernels in place of interpreted expressions.
pub fn run_kernels(
    plan: &PhysicalPlan,
    factory: &dyn ConnectorFactory,
    observer: &mut dyn Observer,
    checkpoint: Option<CheckpointConfig>,
    kernels: &Kernels,
) -> Result<RunSummary> {
    let start = Instant::now();
    let n = plan.settings.parallelism.max(1);
    let (mut coord, restore) = match checkpoint {
        Some(cfg) => {
            let (mut c, r) = Coordinator::start(cfg, plan.fingerprint(), n, plan.pipelines.len())?;
            c.take_notices().iter().for_each(|m| observer.notice(m));
            (Some(c), r)
        }
        None => (None, None),
    };
    if let Some(Restore { finished: true, epoch, path, .. }) = &restore {
        observer.notice(&format!(
            "the query already ran to completion (checkpoint {epoch} in {}); its output is committed. \
             Run with --fresh to run it again.",
            path.display()
        ));
        let checkpoints = coord.map(|c| c.stats);
        return Ok(RunSummary { workers: n, elapsed: start.elapsed(), checkpoints, ..Default::default() });
    }
    if let Some(r) = &restore {
        observer.notice(&format!("resuming from checkpoint {} ({})", r.epoch, r.path.display()));
    }
    let (events_tx, events_rx) = channel::<Event>();
    let mut worker_ckpt: Vec<Option<WorkerCheckpoint>> = (0..n)
        .map(|w| {
            coord.as_ref().map(|c| WorkerCheckpoint {
                events: events_tx.clone(),
                epochs: c.epochs.clone(),
                durable: c.durable.clone(),
                restore: restore.as_ref().map(|r| r.workers.get(w).cloned().unwrap_or_default()),
                staging: c.staging_dir(),
                first_epoch: c.first_epoch(),
            })
        })
        .collect();
    drop(events_tx);
    let (senders, inboxes) = exchanges(plan, n);
    let shared = shared(plan, kernels);
    let mut driver =
        Driver { coord: coord.as_mut(), events: &events_rx, shared: &shared, start, failed: None, stopping: None };
    let results: Vec<Result<WorkerResult>> = std::thread::scope(|scope| {
        let handles: Vec<_> = inboxes
            .into_iter()
            .enumerate()
            .map(|(w, inbox)| {
                let (senders, shared) = (senders.clone(), &shared);
                let ckpt = worker_ckpt[w].take();
                std::thread::Builder::new()
                    .name(format!("darwin-worker-{w}"))
                    .stack_size(WORKER_STACK_BYTES)
                    .spawn_scoped(scope, move || {
                        crate::affinity::pin_to_core(w);
                        let mut guard = AbortOnDrop(&shared.abort, false);
                        let r = run_worker(w, plan, factory, senders, inbox, shared, ckpt);
                        guard.1 = r.is_ok();
                        r
                    })
                    .expect("spawning a worker thread")
            })
            .collect();
        drop(senders);
        let mut last = Instant::now();
        while !handles.iter().all(|h| h.is_finished()) {
            driver.step(observer, n);
            if last.elapsed() >= Duration::from_millis(500) {
                last = Instant::now();
                observer.progress(&driver.progress());
            }
        }
        handles.into_iter().enumerate().map(|(w, h)| h.join().unwrap_or_else(|p| Err(panicked(w, p)))).collect()
    });
    if let Some(e) = driver.failed.take() {
        return Err(e);
    }
    let stopping = driver.stopping.take();
    let ok = first_failure(results)?;
    if ok.iter().any(|r| r.halted) {
        // Stopped after the final checkpoint: nothing after it is committed or finished.
        let mut s = summary(plan, &ok, &shared, None, start);
        s.stopped = stopping.map(|st| st.outcome(coord.as_ref()));
        s.checkpoints = coord.map(|c| c.stats);
        return Ok(s);
    }
    publish(&ok)?;
    if let Some(c) = coord.as_mut() {
        while let Ok(ev) = events_rx.try_recv() {
            c.handle(ev)?;
        }
        c.finish()?;
        c.take_notices().iter().for_each(|m| observer.notice(m));
    }
    let mut s = summary(plan, &ok, &shared, coord.map(|c| c.stats), start);
    // Drained: the sources ended early, the run then finished as a bounded one does.
    s.stopped = stopping.filter(|st| st.epoch.is_none()).map(|st| st.outcome(None));
    Ok(s)
}

/// Per exchange, a bounded inbox on every worker: the senders to all of them, and each
/// worker's inboxes in exchange order.
type Wires = (Vec<Vec<SyncSender<Channel>>>, Vec<Vec<Option<Receiver<Channel>>>>);

fn exchanges(plan: &PhysicalPlan, n: usize) -> Wires {
    let mut senders = Vec::new();
    let mut inboxes: Vec<Vec<_>> = (0..n).map(|_| Vec::new()).collect();
    for _ in 0..plan.pipelines.iter().map(count_exchanges).sum::<usize>() {
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..n).map(|_| sync_channel(INBOX_CAPACITY)).unzip();
        for (w, rx) in rxs.into_iter().enumerate() {
            inboxes[w].push(Some(rx));
        }
        senders.push(txs);
    }
    (senders, inboxes)
}

fn shared(plan: &PhysicalPlan, kernels: &Kernels) -> Shared {
    let n = plan.settings.parallelism.max(1);
    let align = plan.pipelines.iter().map(|p| {
        let drift = p.alignment_drift?;
        // A slot no instance takes stays at +infinity and holds no one back.
        let clock = (0..count_sources(&p.root) * n).map(|_| AtomicI64::new(i64::MAX)).collect();
        Some((clock, drift))
    });
    Shared {
        counters: Arc::new(Counters::default()),
        read: AtomicU64::new(0),
        written: AtomicU64::new(0),
        abort: AtomicBool::new(false),
        stop: Arc::default(),
        halt: AtomicBool::new(false),
        built: AtomicU64::new(0),
        kernels: kernels.clone(),
        align: align.collect(),
    }
}

/// The driver thread's work while the workers run.
struct Driver<'a> {
    coord: Option<&'a mut Coordinator>,
    events: &'a Receiver<Event>,
    shared: &'a Shared,
    start: Instant,
    /// The coordinator's failure, which stopped the workers.
    failed: Option<RuntimeError>,
    /// A stop the user asked for, once seen.
    stopping: Option<Stopping>,
}

/// A stop under way: the request, and with checkpoints the epoch of the final checkpoint.
struct Stopping {
    request: StopRequest,
    epoch: Option<u64>,
}

impl Stopping {
    fn outcome(&self, coord: Option<&Coordinator>) -> Stopped {
        let taken = |e| coord.and_then(|c| c.settled(e)).unwrap_or(false);
        Stopped {
            signo: self.request.signo,
            signal: self.request.name.clone(),
            drained: self.epoch.is_none(),
            final_checkpoint: self.epoch.filter(|e| taken(*e)),
            resumes_from: coord.and_then(Coordinator::durable_epoch),
        }
    }
}

impl Driver<'_> {
    /// Handles the checkpoint events of up to 5 ms (or sleeps that long without checkpoints),
    /// and a stop the user asks for.
    fn step(&mut self, observer: &mut dyn Observer, workers: usize) {
        self.stop(observer);
        let Some(c) = self.coord.as_deref_mut() else {
            std::thread::sleep(Duration::from_millis(5));
            return;
        };
        if c.stats.resume_time.is_zero() && self.shared.built.load(Ordering::Relaxed) == workers as u64 {
            c.stats.resume_time = self.start.elapsed();
            if let Some(e) = c.stats.restored_from {
                let ms = c.stats.resume_time.as_secs_f64() * 1e3;
                observer.notice(&format!("checkpoint {e} restored; processing again after {ms:.1} ms"));
            }
        }
        if self.failed.is_some() {
            std::thread::sleep(Duration::from_millis(5));
            return;
        }
        let events = self.events;
        let first = events.recv_timeout(Duration::from_millis(5)).ok();
        let step = first
            .into_iter()
            .chain(std::iter::from_fn(|| events.try_recv().ok()))
            .try_for_each(|ev| c.handle(ev))
            .and_then(|_| c.tick());
        c.take_notices().iter().for_each(|m| observer.notice(m));
        if let Err(e) = step {
            self.shared.abort.store(true, Ordering::Relaxed);
            self.failed = Some(e.into());
        }
    }

    /// Starts a stop when the observer asks for one; halts the workers once its final
    /// checkpoint is settled (written or failed).
    fn stop(&mut self, observer: &mut dyn Observer) {
        if let Some(st) = &self.stopping {
            let settled = st.epoch.and_then(|e| self.coord.as_deref().and_then(|c| c.settled(e)));
            if settled.is_some() {
                self.shared.halt.store(true, Ordering::Relaxed);
            }
            return;
        }
        let Some(request) = observer.stop_requested() else { return };
        test_stop_delay();
        let epoch = self.coord.as_deref_mut().map(Coordinator::checkpoint_now);
        let how = match epoch {
            Some(e) => {
                self.shared.stop.pause_after.store(e, Ordering::Relaxed);
                format!("sources stop after checkpoint {e}, which is being taken; a restart resumes from it")
            }
            None => {
                self.shared.stop.drain.store(true, Ordering::Relaxed);
                "sources stop reading; open windows close as at the end of the input and the output is \
                 written (run with --checkpoint-dir to stop and resume instead)"
                    .to_string()
            }
        };
        observer.notice(&format!("{}: stopping: {how}. A second signal stops at once.", request.name));
        self.stopping = Some(Stopping { request, epoch });
    }

    fn progress(&self) -> Progress {
        Progress {
            records_read: self.shared.read.load(Ordering::Relaxed),
            rows_written: self.shared.written.load(Ordering::Relaxed),
            elapsed: self.start.elapsed(),
        }
    }
}

/// `DARWIN_TEST_STOP_DELAY_MS`: a test hook that makes a stop wait before it acts, so a test can
/// send the second signal while the first is being handled.
fn test_stop_delay() {
    if let Some(ms) = std::env::var("DARWIN_TEST_STOP_DELAY_MS").ok().and_then(|v| v.parse().ok()) {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// Sets the abort flag unless the worker finished cleanly (also on panic).
struct AbortOnDrop<'a>(&'a AtomicBool, bool);

impl Drop for AbortOnDrop<'_> {
    fn drop(&mut self) {
        if !self.1 {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// The error of a worker thread that panicked, with the panic's message.
fn panicked(worker: usize, payload: Box<dyn std::any::Any + Send>) -> RuntimeError {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into());
    RuntimeError::WorkerPanicked { worker, message }
}

/// The workers' results, or the first real failure: not a worker that stopped because
/// another one failed. On failure, output that finished sinks wrote is deleted unseen.
fn first_failure(results: Vec<Result<WorkerResult>>) -> Result<Vec<WorkerResult>> {
    let (ok, mut errors): (Vec<_>, Vec<_>) = results.into_iter().partition(|r| r.is_ok());
    let ok: Vec<WorkerResult> = ok.into_iter().flatten().collect();
    if errors.is_empty() {
        return Ok(ok);
    }
    for c in ok.iter().flat_map(|r| &r.completed) {
        let _ = std::fs::remove_file(&c.written);
    }
    let first = errors.iter().position(|e| !matches!(e, Err(RuntimeError::Aborted))).unwrap_or(0);
    match errors.swap_remove(first) {
        Err(e) => Err(e),
        Ok(_) => unreachable!("partitioned"),
    }
}

/// The run's summary from the workers' results: sources and sinks summed over workers.
fn summary(
    plan: &PhysicalPlan,
    ok: &[WorkerResult],
    shared: &Shared,
    checkpoints: Option<darwin_checkpoint::coordinator::CheckpointStats>,
    start: Instant,
) -> RunSummary {
    let mut sources: Vec<(String, u64, u64)> = Vec::new();
    let mut written = vec![0u64; plan.pipelines.len()];
    for r in ok {
        for (i, (name, read, skipped)) in r.sources.iter().enumerate() {
            match sources.get_mut(i) {
                Some(s) => {
                    s.1 += read;
                    s.2 += skipped;
                }
                None => sources.push((name.clone(), *read, *skipped)),
            }
        }
        for (i, w) in r.written.iter().enumerate() {
            written[i] += w;
        }
    }
    let sinks = plan.pipelines.iter().zip(written).map(|(p, w)| (p.sink_name().to_string(), w)).collect();
    RunSummary {
        sources,
        sinks,
        late_records: shared.counters.late(),
        peak_state_bytes: shared.counters.peak_state_bytes.load(Ordering::Relaxed),
        workers: plan.settings.parallelism.max(1),
        elapsed: start.elapsed(),
        checkpoints,
        worker_idle: ok.iter().map(|r| r.idle).collect(),
        stopped: None,
    }
}

/// Makes the output of every finished sink visible (all or nothing: only once every worker of
/// the run has succeeded): each file is renamed over its target, and the rename made durable.
fn publish(ok: &[WorkerResult]) -> Result<()> {
    for c in ok.iter().flat_map(|r| &r.completed) {
        let io = |path: &std::path::Path, err| RuntimeError::Io { path: path.display().to_string(), err };
        std::fs::rename(&c.written, &c.target).map_err(|e| io(&c.target, e))?;
        if let Some(dir) = c.target.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, e))?;
        }
    }
    Ok(())
}
