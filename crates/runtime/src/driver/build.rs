//! Builds a worker's operators from the physical plan: one operator per plan node, stateful
//! ones numbered in build order (a checkpoint's state is matched to them by that number) and
//! restored, shared sub-plans built once and read through a tee, exchanges wired to the other
//! workers, and compiled mode's kernels put in place of interpreted expressions.

use super::worker::{Shared, WorkerCheckpoint};
use super::ConnectorFactory;
use crate::checkpointed::Checkpointed;
use crate::error::Result;
use crate::operator::{Counters, Operator, SourceCounters};
use crate::ops::calc::CalcOp;
use crate::ops::exchange::{ExchangeOp, Packet};
use crate::ops::interval_join::{IntervalJoinOp, IntervalJoinSpec};
use crate::ops::lookup_join::LookupJoinOp;
use crate::ops::session_agg::SessionAggOp;
use crate::ops::slice_merge::SliceMergeOp;
use crate::ops::source::{Alignment, SourceOp, StopControl};
use crate::ops::tee::Tee;
use crate::ops::window_agg::{GlobalAggOp, WindowAggOp};
use crate::ops::window_assign::WindowAssignOp;
use crate::ops::window_join::{WindowJoinOp, WindowJoinSpec};
use darwin_checkpoint::{CheckpointError, Event};
use darwin_columnar::codec::Dec;
use darwin_plan::physical::{Partitioning, WindowSpec};
use darwin_plan::{PhysNode, PhysicalPlan, Pipeline, SharedPlan, WindowKind};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::sync::Arc;

pub(super) type Channel = (usize, Packet);

/// A pipeline's source alignment: every source instance's watermark, and the allowed drift.
pub(super) type Clock = (Arc<[AtomicI64]>, i64);

/// A worker's ends of the exchanges: per exchange (in build order) a sender to every worker,
/// and this worker's inbox.
pub(super) struct Wiring {
    pub senders: Vec<Vec<SyncSender<Channel>>>,
    pub inboxes: Vec<Option<Receiver<Channel>>>,
}

pub(super) struct Builder<'a> {
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
    /// How the run asks its sources to stop.
    stop: Arc<StopControl>,
}

impl<'a> Builder<'a> {
    /// The builder of worker `worker`'s operators; `ckpt` when the run takes checkpoints.
    pub(super) fn new(
        factory: &'a dyn ConnectorFactory,
        plan: &PhysicalPlan,
        shared: &'a Shared,
        worker: usize,
        wiring: Wiring,
        ckpt: Option<&WorkerCheckpoint>,
    ) -> Self {
        let settings = &plan.settings;
        Builder {
            factory,
            kernels: &shared.kernels,
            batch_size: settings.batch_size.max(1),
            preagg_probe_rows: settings.preagg_probe_rows,
            counters: shared.counters.clone(),
            sources: vec![],
            worker,
            workers: settings.parallelism.max(1),
            senders: wiring.senders,
            inboxes: wiring.inboxes,
            next_exchange: 0,
            align: None,
            lead: plan.join_lead,
            next_source: 0,
            replicated: false,
            events: ckpt.map(|c| (c.events.clone(), c.durable.clone())),
            epochs: ckpt.map(|c| c.epochs.clone()),
            restore: ckpt.and_then(|c| c.restore.clone()).unwrap_or_default(),
            next_op: 0,
            start_epoch: ckpt.map_or(0, |c| c.first_epoch - 1),
            shared: Vec::new(),
            stop: shared.stop.clone(),
        }
    }

    /// The operator tree of a pipeline; `align` is its sources' alignment, if any.
    pub(super) fn pipeline(&mut self, p: &Pipeline, align: Option<Clock>) -> Result<Box<dyn Operator>> {
        self.shared = p.shared.iter().map(|s| (s.node.clone(), None)).collect();
        (self.align, self.next_source) = (align, 0);
        self.build(&p.root)
    }

    /// After every pipeline is built: a restore must have matched each state of the checkpoint
    /// (`held` of them for this worker) to an operator.
    pub(super) fn check_restored(&self, held: usize) -> Result<()> {
        if self.restore.is_empty() && held == self.next_op {
            return Ok(());
        }
        Err(CheckpointError::OperatorCount { worker: self.worker, held, planned: self.next_op }.into())
    }

    /// The counters of the sources built so far.
    pub(super) fn sources(&self) -> &[Arc<SourceCounters>] {
        &self.sources
    }

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
                let idle = table
                    .option("scan.watermark.idle-timeout")
                    .and_then(|v| darwin_common::time::parse_duration(v).ok());
                let op = SourceOp::new(reader, wm, self.batch_size, c, &|p| all || p % n == w, epochs).idle_after(idle);
                let stop = if all { None } else { Some(self.stop.clone()) };
                self.stateful(op.aligned(align).stoppable(stop))?
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
                let columns = input.schema().fields.iter().map(|f| (f.name.clone(), f.data_type)).collect();
                Box::new(CalcOp::new(self.build(input)?, filter.clone(), project.clone(), kernel).named(columns))
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

/// Source nodes in a plan (an upper bound on the sources a worker builds: a shared sub-plan's
/// are built once).
pub(super) fn count_sources(n: &PhysNode) -> usize {
    usize::from(matches!(n, PhysNode::Source { .. })) + n.children().into_iter().map(count_sources).sum::<usize>()
}

/// Exchanges the workers build for a pipeline: a shared sub-plan's once.
pub(super) fn count_exchanges(pipeline: &Pipeline) -> usize {
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
pub(super) fn writes_sink(root: &PhysNode, worker: usize) -> bool {
    worker == 0 || !matches!(root, PhysNode::Exchange { partitioning: Partitioning::Gather, .. })
}
