//! Instantiates the interpreted operators of a physical plan and drives its pipelines on
//! `parallelism` worker threads, one per core. Each worker builds the whole operator tree over
//! its share of the source partitions; exchanges connect the workers (see `ops::exchange`). On
//! each worker the pipelines of a script run together: the driver pulls from each in turn, so
//! unbounded sources progress side by side.

use crate::checkpointed::Checkpointed;
use crate::error::Result;
use crate::error::RuntimeError;
use crate::operator::{Counters, Msg, Operator, SinkContext, SinkWriter, SourceCounters, SourceReader};
use crate::ops::calc::CalcOp;
use crate::ops::exchange::{ExchangeOp, Packet, INBOX_CAPACITY};
use crate::ops::interval_join::{IntervalJoinOp, IntervalJoinSpec};
use crate::ops::lookup_join::LookupJoinOp;
use crate::ops::session_agg::SessionAggOp;
use crate::ops::slice_merge::SliceMergeOp;
use crate::ops::source::{Alignment, SourceOp};
use crate::ops::tee::Tee;
use crate::ops::window_agg::{GlobalAggOp, WindowAggOp};
use crate::ops::window_assign::WindowAssignOp;
use crate::ops::window_join::{WindowJoinOp, WindowJoinSpec};
use darwin_checkpoint::coordinator::{CheckpointStats, Coordinator, Restore};
use darwin_checkpoint::{CheckpointConfig, CheckpointError, Event};
use darwin_plan::physical::{Partitioning, WindowSpec};
use darwin_plan::{IdlePolicy, PhysNode, PhysicalPlan, Pipeline, SharedPlan, SinkTarget, TableDef, WindowKind};
use darwin_state::codec::Dec;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Opens sources and sinks; implemented by the connectors crate. Shared by the workers.
pub trait ConnectorFactory: Sync {
    fn open_source(&self, table: &TableDef, partitions: usize) -> Result<Box<dyn SourceReader>>;
    fn open_sink(&self, target: &SinkTarget, ctx: &SinkContext) -> Result<Box<dyn SinkWriter>>;
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RunSummary {
    /// (table, records read, malformed records skipped)
    pub sources: Vec<(String, u64, u64)>,
    /// (sink, rows written)
    pub sinks: Vec<(String, u64)>,
    pub late_records: u64,
    pub peak_state_bytes: u64,
    pub workers: usize,
    pub elapsed: Duration,
    pub checkpoints: Option<CheckpointStats>,
    /// Per worker: time it had nothing to do (waiting for rows from other workers, for a
    /// source's alignment, or for the other input of a join). Busy cores are the point of
    /// parallelism; this says where they were not.
    pub worker_idle: Vec<Duration>,
}

impl RunSummary {
    pub fn records_read(&self) -> u64 {
        self.sources.iter().map(|s| s.1).sum()
    }
}

type Channel = (usize, Packet);

/// A pipeline's source alignment: every source instance's watermark, and the allowed drift.
type Clock = (Arc<[AtomicI64]>, i64);

/// State shared by all workers of a run.
struct Shared {
    counters: Arc<Counters>,
    read: AtomicU64,
    written: AtomicU64,
    /// Set when a worker fails, so the others stop instead of waiting for it forever.
    abort: AtomicBool,
    /// Workers that have built (and restored) their operators.
    built: AtomicU64,
    /// Compiled mode's generated kernels (empty for the interpreter).
    kernels: crate::kernels::Kernels,
    /// Per pipeline, if its sources are aligned: every source instance's watermark (source
    /// `k` in build order, the same on every worker, on worker `w` at `k * workers + w`), and
    /// the allowed drift.
    align: Vec<Option<Clock>>,
    /// How far a join's input may run ahead of its other input (`TwoInputs::lead`).
    lead: Option<i64>,
}

struct Builder<'a> {
    factory: &'a dyn ConnectorFactory,
    /// Compiled mode's generated kernels (empty for the interpreter).
    kernels: &'a crate::kernels::Kernels,
    batch_size: usize,
    /// Rows a pre-aggregating phase watches before deciding (`ExecSettings::preagg_probe_rows`).
    preagg_probe_rows: u64,
    counters: Arc<Counters>,
    sources: Vec<Arc<SourceCounters>>,
    worker: usize,
    workers: usize,
    /// Per exchange (in build order): a sender to every worker, and this worker's inbox.
    senders: Vec<Vec<SyncSender<Channel>>>,
    inboxes: Vec<Option<Receiver<Channel>>>,
    next_exchange: usize,
    /// The current pipeline's source alignment (`Shared::align`), and its sources built so far.
    align: Option<Clock>,
    /// How far a join's input may run ahead of its other input (`TwoInputs::lead`).
    lead: Option<i64>,
    next_source: usize,
    /// Inside the build side of a lookup join: every worker reads all of it (again after a
    /// restore, so it is not checkpointed).
    replicated: bool,
    /// Checkpointing: where operator state goes, the epoch sources are asked to start, and the
    /// state to restore (operator id → bytes). Stateful operators are numbered in build order.
    events: Option<(Sender<Event>, Arc<AtomicU64>)>,
    epochs: Option<Arc<AtomicU64>>,
    restore: darwin_checkpoint::store::WorkerStates,
    next_op: usize,
    /// The last epoch before this run (the restored checkpoint's, or 0).
    start_epoch: u64,
    /// The current pipeline's shared sub-plans, with their one computation once built.
    shared: Vec<(PhysNode, Option<Rc<RefCell<Tee>>>)>,
}

impl Builder<'_> {
    /// This worker's instance of the next source, in the pipeline's alignment if it has one.
    fn alignment(&mut self) -> Option<Alignment> {
        let k = self.next_source;
        self.next_source += 1;
        let (clock, drift) = self.align.clone()?;
        Some(Alignment { clock, slot: k * self.workers + self.worker, drift })
    }

    /// Restores a stateful operator's state and wraps it to report its state at barriers.
    fn stateful<O: Operator + 'static>(&mut self, mut op: O) -> Result<Box<dyn Operator>> {
        if self.replicated {
            return Ok(Box::new(op));
        }
        let id = self.next_op;
        self.next_op += 1;
        if let Some(bytes) = self.restore.remove(&id) {
            let what = format!("state of operator {id} of worker {}", self.worker);
            let bytes = bytes.as_slice().ok_or_else(|| CheckpointError::NotInOnePiece { what: what.clone() })?;
            op.restore(&mut Dec::new(bytes, &what))?;
        }
        Ok(match &self.events {
            Some((tx, durable)) => Box::new(Checkpointed::new(op, self.worker, id, tx.clone(), durable.clone())),
            None => Box::new(op),
        })
    }

    /// The table side is read whole by every worker (replicated), then the stream side is built.
    fn lookup_join(
        &mut self,
        stream: &PhysNode,
        table: &PhysNode,
        join_type: darwin_plan::JoinType,
        stream_keys: &[darwin_plan::Expr],
        table_keys: &[darwin_plan::Expr],
        residual: &Option<darwin_plan::Expr>,
    ) -> Result<LookupJoinOp> {
        let was = std::mem::replace(&mut self.replicated, true);
        let table_op = self.build(table);
        self.replicated = was;
        let table_op = table_op?;
        let stream_op = self.build(stream)?;
        LookupJoinOp::new(
            stream_op,
            table_op,
            table.schema().types(),
            join_type,
            stream_keys.to_vec(),
            table_keys.to_vec(),
            residual.clone(),
        )
    }

    /// Builds `node`, or another reader of it if it is a shared sub-plan built already.
    fn build(&mut self, node: &PhysNode) -> Result<Box<dyn Operator>> {
        let shared = if self.replicated { None } else { self.shared.iter().position(|(n, _)| n == node) };
        let Some(i) = shared else { return self.build_node(node) };
        if let Some(tee) = &self.shared[i].1 {
            return Ok(Box::new(Tee::reader(tee)));
        }
        let tee = Tee::new(self.build_node(node)?);
        self.shared[i].1 = Some(tee.clone());
        Ok(Box::new(Tee::reader(&tee)))
    }

    fn build_node(&mut self, node: &PhysNode) -> Result<Box<dyn Operator>> {
        Ok(match node {
            PhysNode::Exchange { input, partitioning, .. } => {
                let id = self.next_exchange;
                self.next_exchange += 1;
                let input = self.build(input)?;
                let inbox = self.inboxes[id].take().expect("each exchange is built once per worker");
                self.stateful(ExchangeOp::new(
                    input,
                    partitioning.clone(),
                    self.worker,
                    self.senders[id].clone(),
                    inbox,
                ))?
            }
            PhysNode::Source { table, partitions } => {
                let reader = self.factory.open_source(table, *partitions)?;
                let c = Arc::new(SourceCounters { name: table.name.clone(), ..Default::default() });
                self.sources.push(c.clone());
                let (w, n, all) = (self.worker, self.workers, self.replicated);
                let wm = table.watermark.as_ref().map(|w| w.expr.clone());
                let epochs = if all { None } else { self.epochs.clone().map(|e| (e, self.start_epoch)) };
                // Replicated (lookup) tables are read whole by every worker: nothing to align.
                let align = if !all && wm.is_some() { self.alignment() } else { None };
                let op = SourceOp::new(reader, wm, self.batch_size, c, &|p| all || p % n == w, epochs);
                self.stateful(op.aligned(align))?
            }
            PhysNode::Calc { input, .. } if self.kernels.probe(node).is_some() => {
                let PhysNode::LookupJoin { stream, table, join_type, stream_keys, table_keys, residual, .. } = &**input
                else {
                    unreachable!("fused_lookup_key matched a lookup join")
                };
                let op = self.lookup_join(stream, table, *join_type, stream_keys, table_keys, residual)?;
                Box::new(op.fused(self.kernels.probe(node)))
            }
            PhysNode::Calc { input, filter, project, .. } => {
                let kernel = self.kernels.calc(node)?;
                Box::new(CalcOp::new(self.build(input)?, filter.clone(), project.clone(), kernel))
            }
            PhysNode::WindowAssign { input, window, time_col, .. } => {
                Box::new(WindowAssignOp::new(self.build(input)?, *window, *time_col, self.counters.clone()))
            }
            PhysNode::WindowAggregate { input, spec, group, aggs, partial, .. } => {
                let kernel = self.kernels.agg(node)?;
                let input_op = self.build(input)?;
                match spec {
                    WindowSpec::Slices { slide, size, start_col } => {
                        let spec = (*slide, *size, *start_col);
                        let op = SliceMergeOp::new(input_op, spec, group.clone(), aggs, self.counters.clone())?;
                        self.stateful(op)?
                    }
                    WindowSpec::Assign { window: WindowKind::Session { gap }, time_col } => {
                        let op = SessionAggOp::new(
                            input_op,
                            *gap,
                            *time_col,
                            group.clone(),
                            aggs.clone(),
                            self.counters.clone(),
                        );
                        self.stateful(op)?
                    }
                    _ => {
                        let op = WindowAggOp::new(
                            input_op,
                            spec.clone(),
                            group.clone(),
                            aggs.clone(),
                            self.counters.clone(),
                        );
                        self.stateful(op.with_kernel(kernel).partial(*partial, self.preagg_probe_rows))?
                    }
                }
            }
            PhysNode::GlobalAggregate { input, group, aggs, .. } => {
                let op = GlobalAggOp::new(self.build(input)?, group.clone(), aggs.clone(), self.counters.clone());
                self.stateful(op)?
            }
            PhysNode::LookupJoin { stream, table, join_type, stream_keys, table_keys, residual, .. } => {
                Box::new(self.lookup_join(stream, table, *join_type, stream_keys, table_keys, residual)?)
            }
            PhysNode::WindowJoin {
                left,
                right,
                join_type,
                left_start,
                left_end,
                right_start,
                right_end,
                left_keys,
                right_keys,
                residual,
                ..
            } => {
                let spec = WindowJoinSpec {
                    join_type: *join_type,
                    left_cols: (*left_start, *left_end),
                    right_cols: (*right_start, *right_end),
                    left_keys: left_keys.clone(),
                    right_keys: right_keys.clone(),
                    residual: residual.clone(),
                    left_types: left.schema().types(),
                    right_types: right.schema().types(),
                };
                let op = WindowJoinOp::new(self.build(left)?, self.build(right)?, spec, self.counters.clone());
                let op = op.lead(self.lead, [left.runs_locally(), right.runs_locally()]);
                self.stateful(op)?
            }
            PhysNode::IntervalJoin {
                left,
                right,
                left_time,
                right_time,
                lower,
                upper,
                left_keys,
                right_keys,
                residual,
                ..
            } => {
                let spec = IntervalJoinSpec {
                    left_time: *left_time,
                    right_time: *right_time,
                    lower: *lower,
                    upper: *upper,
                    left_keys: left_keys.clone(),
                    right_keys: right_keys.clone(),
                    residual: residual.clone(),
                    left_types: left.schema().types(),
                    right_types: right.schema().types(),
                };
                let op = IntervalJoinOp::new(self.build(left)?, self.build(right)?, spec, self.counters.clone());
                let op = op.lead(self.lead, [left.runs_locally(), right.runs_locally()]);
                self.stateful(op)?
            }
        })
    }
}

/// Progress of a running query, reported about twice a second.
#[derive(Debug, Clone)]
pub struct Progress {
    pub records_read: u64,
    pub rows_written: u64,
    pub elapsed: Duration,
}

/// Source nodes in a plan (an upper bound on the sources a worker builds: a shared sub-plan's
/// are built once).
fn count_sources(n: &PhysNode) -> usize {
    usize::from(matches!(n, PhysNode::Source { .. })) + n.children().into_iter().map(count_sources).sum::<usize>()
}

/// Exchanges the workers build for a pipeline: a shared sub-plan's once.
fn count_exchanges(pipeline: &Pipeline) -> usize {
    type Seen<'a> = Vec<&'a PhysNode>;
    fn count<'a>(node: &'a PhysNode, replicated: bool, shared: &[SharedPlan], seen: &mut Seen<'a>) -> usize {
        if !replicated && shared.iter().any(|s| s.node == *node) {
            if seen.contains(&node) {
                return 0;
            }
            seen.push(node);
        }
        let own = usize::from(matches!(node, PhysNode::Exchange { .. }));
        match node {
            PhysNode::LookupJoin { stream, table, .. } => {
                own + count(stream, replicated, shared, seen) + count(table, true, shared, seen)
            }
            _ => own + node.children().iter().map(|c| count(c, replicated, shared, seen)).sum::<usize>(),
        }
    }
    count(&pipeline.root, false, &pipeline.shared, &mut Vec::new())
}

/// Whether worker `w` writes this pipeline's rows: all workers for a parallel sink, worker 0
/// when the plan gathers the rows to it.
fn writes_sink(root: &PhysNode, worker: usize) -> bool {
    worker == 0 || !matches!(root, PhysNode::Exchange { partitioning: Partitioning::Gather, .. })
}

struct WorkerResult {
    sources: Vec<(String, u64, u64)>,
    written: Vec<u64>,
    idle: Duration,
}

struct Running {
    root: Box<dyn Operator>,
    sink: Option<Box<dyn SinkWriter>>,
    written: u64,
    done: bool,
    /// The epoch the pipeline is in (checkpointing only).
    epoch: u64,
}

/// A worker's part in checkpointing.
struct WorkerCheckpoint {
    events: Sender<Event>,
    epochs: Arc<AtomicU64>,
    durable: Arc<AtomicU64>,
    restore: Option<darwin_checkpoint::store::WorkerStates>,
    staging: std::path::PathBuf,
    first_epoch: u64,
}

fn worker(
    w: usize,
    plan: &PhysicalPlan,
    factory: &dyn ConnectorFactory,
    senders: Vec<Vec<SyncSender<Channel>>>,
    inboxes: Vec<Option<Receiver<Channel>>>,
    shared: &Shared,
    ckpt: Option<WorkerCheckpoint>,
) -> Result<WorkerResult> {
    let workers = plan.settings.parallelism.max(1);
    let restoring = ckpt.as_ref().is_some_and(|c| c.restore.is_some());
    let (events, epochs) = match &ckpt {
        Some(c) => (Some((c.events.clone(), c.durable.clone())), Some(c.epochs.clone())),
        None => (None, None),
    };
    let mut b = Builder {
        factory,
        kernels: &shared.kernels,
        batch_size: plan.settings.batch_size.max(1),
        preagg_probe_rows: plan.settings.preagg_probe_rows,
        counters: shared.counters.clone(),
        sources: vec![],
        worker: w,
        workers,
        senders,
        inboxes,
        next_exchange: 0,
        align: None,
        lead: shared.lead,
        next_source: 0,
        replicated: false,
        events,
        epochs,
        restore: ckpt.as_ref().and_then(|c| c.restore.clone()).unwrap_or_default(),
        next_op: 0,
        start_epoch: ckpt.as_ref().map_or(0, |c| c.first_epoch - 1),
        shared: Vec::new(),
    };
    let ctx = SinkContext {
        worker: w,
        staging: ckpt.as_ref().map(|c| c.staging.clone()),
        first_epoch: ckpt.as_ref().map_or(0, |c| c.first_epoch),
    };
    let mut pipes = Vec::new();
    for (i, p) in plan.pipelines.iter().enumerate() {
        b.shared = p.shared.iter().map(|s| (s.node.clone(), None)).collect();
        (b.align, b.next_source) = (shared.align[i].clone(), 0);
        let root = b.build(&p.root)?;
        let sink = if writes_sink(&p.root, w) { Some(factory.open_sink(&p.sink, &ctx)?) } else { None };
        if let (Some(c), Some(target)) = (&ckpt, sink.as_ref().and_then(|s| s.output_file())) {
            let _ = c.events.send(Event::Output { target });
        }
        pipes.push(Running { root, sink, written: 0, done: false, epoch: ctx.first_epoch });
    }
    if restoring && (!b.restore.is_empty() || restored_count(&ckpt) != b.next_op) {
        let (held, planned) = (restored_count(&ckpt), b.next_op);
        return Err(CheckpointError::OperatorCount { worker: w, held, planned }.into());
    }
    shared.built.fetch_add(1, Ordering::Relaxed);
    let mut last_read = 0;
    let mut idle_rounds = 0u32;
    // Time with nothing to do: clocked only when the worker turns idle and busy again.
    let (mut idle_since, mut idle_total) = (None::<Instant>, Duration::ZERO);
    while pipes.iter().any(|p| !p.done) {
        if shared.abort.load(Ordering::Relaxed) {
            return Err(RuntimeError::Connector {
                connector: "worker".into(),
                message: "stopped because another worker failed".into(),
            });
        }
        let mut idle = true;
        for (i, p) in pipes.iter_mut().enumerate().filter(|(_, p)| !p.done) {
            match p.root.next()? {
                Some(Msg::Batch(batch)) => {
                    idle = false;
                    p.written += batch.num_rows as u64;
                    shared.written.fetch_add(batch.num_rows as u64, Ordering::Relaxed);
                    match &mut p.sink {
                        Some(s) => s.write(&batch)?,
                        None => {
                            unreachable!("rows reached worker {w}, which does not write this sink")
                        }
                    }
                }
                Some(Msg::Idle) => {}
                Some(Msg::Barrier(epoch)) => {
                    idle = false;
                    let staged = match &mut p.sink {
                        Some(s) => s.precommit()?,
                        None => vec![],
                    };
                    p.epoch = epoch + 1;
                    if let Some(c) = &ckpt {
                        let _ = c.events.send(Event::Barrier { worker: w, pipeline: i, epoch, staged });
                    }
                }
                Some(Msg::Watermark(_)) => idle = false,
                None => {
                    let mut staged = vec![];
                    if let Some(s) = &mut p.sink {
                        s.finish()?;
                        staged = s.precommit()?;
                    }
                    if let Some(c) = &ckpt {
                        let _ = c.events.send(Event::Done { worker: w, pipeline: i, epoch: p.epoch, staged });
                    }
                    p.done = true;
                    idle = false;
                }
            }
        }
        if crate::operator::take_worked() {
            idle = false;
        }
        let read: u64 = b.sources.iter().map(|s| s.read.load(Ordering::Relaxed)).sum();
        shared.read.fetch_add(read - last_read, Ordering::Relaxed);
        last_read = read;
        // Waiting for rows from other workers: spin briefly, then yield the core, and sleep only
        // after a long wait (a short sleep costs ~60 us on Linux, far more than a batch takes).
        if idle {
            idle_since.get_or_insert_with(Instant::now);
            idle_rounds += 1;
            if plan.settings.idle == IdlePolicy::Sleep {
                std::thread::sleep(Duration::from_micros(50));
            } else if idle_rounds < 64 {
                std::hint::spin_loop();
            } else if idle_rounds < 4096 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(50));
            }
        } else {
            idle_rounds = 0;
            if let Some(t) = idle_since.take() {
                idle_total += t.elapsed();
            }
        }
    }
    idle_total += idle_since.map_or(Duration::ZERO, |t| t.elapsed());
    Ok(WorkerResult {
        sources: b
            .sources
            .iter()
            .map(|s| (s.name.clone(), s.read.load(Ordering::Relaxed), s.skipped.load(Ordering::Relaxed)))
            .collect(),
        written: pipes.iter().map(|p| p.written).collect(),
        idle: idle_total,
    })
}

fn restored_count(ckpt: &Option<WorkerCheckpoint>) -> usize {
    ckpt.as_ref().and_then(|c| c.restore.as_ref()).map_or(0, |r| r.len())
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

/// Runs every pipeline of the plan to completion (for bounded sources) and returns the summary.
pub fn run(
    plan: &PhysicalPlan,
    factory: &dyn ConnectorFactory,
    progress: &mut dyn FnMut(&Progress),
) -> Result<RunSummary> {
    run_with(plan, factory, progress, None)
}

/// `run`, taking checkpoints into `checkpoint.dir` (and resuming from the newest one there).
pub fn run_with(
    plan: &PhysicalPlan,
    factory: &dyn ConnectorFactory,
    progress: &mut dyn FnMut(&Progress),
    checkpoint: Option<CheckpointConfig>,
) -> Result<RunSummary> {
    run_kernels(plan, factory, progress, checkpoint, &crate::kernels::Kernels::default())
}

/// `run_with`, with compiled mode's generated kernels in place of interpreted expressions.
pub fn run_kernels(
    plan: &PhysicalPlan,
    factory: &dyn ConnectorFactory,
    progress: &mut dyn FnMut(&Progress),
    checkpoint: Option<CheckpointConfig>,
    kernels: &crate::kernels::Kernels,
) -> Result<RunSummary> {
    let start = Instant::now();
    let n = plan.settings.parallelism.max(1);
    let (mut coord, restore) = match checkpoint {
        Some(cfg) => {
            let (c, r) = Coordinator::start(cfg, plan.fingerprint(), n, plan.pipelines.len())?;
            (Some(c), r)
        }
        None => (None, None),
    };
    if let Some(Restore { finished: true, epoch, path, .. }) = &restore {
        eprintln!(
            "darwin: the query already ran to completion (checkpoint {epoch} in {}); its output is committed. \
             Run with --fresh to run it again.",
            path.display()
        );
        return Ok(RunSummary {
            workers: n,
            elapsed: start.elapsed(),
            checkpoints: coord.map(|c| c.stats),
            ..Default::default()
        });
    }
    if let Some(r) = &restore {
        eprintln!("darwin: resuming from checkpoint {} ({})", r.epoch, r.path.display());
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
    let exchanges: usize = plan.pipelines.iter().map(count_exchanges).sum();
    let mut senders: Vec<Vec<SyncSender<Channel>>> = Vec::new();
    let mut inboxes: Vec<Vec<Option<Receiver<Channel>>>> = (0..n).map(|_| Vec::new()).collect();
    for _ in 0..exchanges {
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..n).map(|_| sync_channel(INBOX_CAPACITY)).unzip();
        for (w, rx) in rxs.into_iter().enumerate() {
            inboxes[w].push(Some(rx));
        }
        senders.push(txs);
    }
    let shared = Shared {
        counters: Arc::new(Counters::default()),
        read: AtomicU64::new(0),
        written: AtomicU64::new(0),
        abort: AtomicBool::new(false),
        built: AtomicU64::new(0),
        kernels: kernels.clone(),
        align: plan
            .pipelines
            .iter()
            .map(|p| {
                let drift = p.alignment_drift?;
                // A slot no instance takes stays at +infinity and holds no one back.
                let clock = (0..count_sources(&p.root) * n).map(|_| AtomicI64::new(i64::MAX)).collect();
                Some((clock, drift))
            })
            .collect(),
        lead: plan.join_lead,
    };
    let mut coord_err: Option<RuntimeError> = None;
    let results: Vec<Result<WorkerResult>> = std::thread::scope(|scope| {
        let handles: Vec<_> = inboxes
            .into_iter()
            .enumerate()
            .map(|(w, inbox)| {
                let (senders, shared) = (senders.clone(), &shared);
                let ckpt = worker_ckpt[w].take();
                std::thread::Builder::new()
                    .name(format!("darwin-worker-{w}"))
                    .spawn_scoped(scope, move || {
                        crate::affinity::pin_to_core(w);
                        let mut guard = AbortOnDrop(&shared.abort, false);
                        let r = worker(w, plan, factory, senders, inbox, shared, ckpt);
                        guard.1 = r.is_ok();
                        r
                    })
                    .expect("spawning a worker thread")
            })
            .collect();
        drop(senders);
        let mut last = Instant::now();
        while !handles.iter().all(|h| h.is_finished()) {
            if let Some(c) = coord.as_mut() {
                if c.stats.resume_time.is_zero() && shared.built.load(Ordering::Relaxed) == n as u64 {
                    c.stats.resume_time = start.elapsed();
                    if let Some(e) = c.stats.restored_from {
                        eprintln!(
                            "darwin: checkpoint {e} restored; processing again after {:.1} ms",
                            c.stats.resume_time.as_secs_f64() * 1e3
                        );
                    }
                }
            }
            match coord.as_mut() {
                Some(c) if coord_err.is_none() => {
                    let step = events_rx
                        .recv_timeout(Duration::from_millis(5))
                        .ok()
                        .into_iter()
                        .chain(std::iter::from_fn(|| events_rx.try_recv().ok()))
                        .try_for_each(|ev| c.handle(ev))
                        .and_then(|_| c.tick());
                    if let Err(e) = step {
                        shared.abort.store(true, Ordering::Relaxed);
                        coord_err = Some(e.into());
                    }
                }
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
            if last.elapsed() >= Duration::from_millis(500) {
                last = Instant::now();
                progress(&Progress {
                    records_read: shared.read.load(Ordering::Relaxed),
                    rows_written: shared.written.load(Ordering::Relaxed),
                    elapsed: start.elapsed(),
                });
            }
        }
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(RuntimeError::Connector {
                        connector: "worker".into(),
                        message: "a worker thread panicked".into(),
                    })
                })
            })
            .collect()
    });
    if let Some(e) = coord_err {
        return Err(e);
    }
    // Report the first real failure, not the "another worker failed" echoes.
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(v) => ok.push(v),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        let first = errors.iter().position(|e| !e.to_string().contains("another worker failed")).unwrap_or(0);
        return Err(errors.swap_remove(first));
    }
    if let Some(c) = coord.as_mut() {
        while let Ok(ev) = events_rx.try_recv() {
            c.handle(ev)?;
        }
        c.finish()?;
    }
    let mut sources: Vec<(String, u64, u64)> = Vec::new();
    let mut written = vec![0u64; plan.pipelines.len()];
    for r in &ok {
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
    let sinks = plan
        .pipelines
        .iter()
        .zip(written)
        .map(|(p, w)| {
            let name = match &p.sink {
                SinkTarget::Table(t) => t.name.clone(),
                SinkTarget::Stdout { .. } => "stdout".into(),
            };
            (name, w)
        })
        .collect();
    Ok(RunSummary {
        sources,
        sinks,
        late_records: shared.counters.late(),
        peak_state_bytes: shared.counters.peak_state_bytes.load(Ordering::Relaxed),
        workers: n,
        elapsed: start.elapsed(),
        checkpoints: coord.map(|c| c.stats),
        worker_idle: ok.iter().map(|r| r.idle).collect(),
    })
}
