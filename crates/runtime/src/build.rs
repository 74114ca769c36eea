//! Instantiates the interpreted operators of a physical plan and drives its pipelines. All
//! pipelines of a script run together: the driver pulls from each in turn, so unbounded sources
//! progress side by side.

use crate::error::Result;
use crate::operator::{Counters, Msg, Operator, SinkWriter, SourceCounters, SourceReader};
use crate::ops::calc::CalcOp;
use crate::ops::interval_join::{IntervalJoinOp, IntervalJoinSpec};
use crate::ops::lookup_join::LookupJoinOp;
use crate::ops::session_agg::SessionAggOp;
use crate::ops::source::SourceOp;
use crate::ops::window_agg::{GlobalAggOp, WindowAggOp};
use crate::ops::window_assign::WindowAssignOp;
use crate::ops::window_join::{WindowJoinOp, WindowJoinSpec};
use darwin_plan::physical::WindowSpec;
use darwin_plan::{PhysNode, PhysicalPlan, SinkTarget, TableDef, WindowKind};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Opens sources and sinks; implemented by the connectors crate.
pub trait ConnectorFactory {
    fn open_source(&self, table: &TableDef, partitions: usize) -> Result<Box<dyn SourceReader>>;
    fn open_sink(&self, target: &SinkTarget) -> Result<Box<dyn SinkWriter>>;
}

#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// (table, records read, malformed records skipped)
    pub sources: Vec<(String, u64, u64)>,
    /// (sink, rows written)
    pub sinks: Vec<(String, u64)>,
    pub late_records: u64,
    pub peak_state_bytes: u64,
    pub elapsed: Duration,
}

impl RunSummary {
    pub fn records_read(&self) -> u64 {
        self.sources.iter().map(|s| s.1).sum()
    }
}

struct Builder<'a> {
    factory: &'a dyn ConnectorFactory,
    batch_size: usize,
    counters: Arc<Counters>,
    sources: Vec<Arc<SourceCounters>>,
}

impl Builder<'_> {
    fn build(&mut self, node: &PhysNode) -> Result<Box<dyn Operator>> {
        Ok(match node {
            PhysNode::Source { table, partitions } => {
                let reader = self.factory.open_source(table, *partitions)?;
                let c = Arc::new(SourceCounters {
                    name: table.name.clone(),
                    ..Default::default()
                });
                self.sources.push(c.clone());
                Box::new(SourceOp::new(
                    reader,
                    table.watermark.as_ref().map(|w| w.expr.clone()),
                    self.batch_size,
                    c,
                ))
            }
            PhysNode::Calc {
                input,
                filter,
                project,
                ..
            } => Box::new(CalcOp::new(
                self.build(input)?,
                filter.clone(),
                project.clone(),
            )),
            PhysNode::WindowAssign {
                input,
                window,
                time_col,
                ..
            } => Box::new(WindowAssignOp::new(
                self.build(input)?,
                *window,
                *time_col,
                self.counters.clone(),
            )),
            PhysNode::WindowAggregate {
                input,
                spec,
                group,
                aggs,
                ..
            } => {
                let input_op = self.build(input)?;
                match spec {
                    WindowSpec::Assign {
                        window: WindowKind::Session { gap },
                        time_col,
                    } => Box::new(SessionAggOp::new(
                        input_op,
                        *gap,
                        *time_col,
                        group.clone(),
                        aggs.clone(),
                        self.counters.clone(),
                    )),
                    _ => Box::new(WindowAggOp::new(
                        input_op,
                        spec.clone(),
                        group.clone(),
                        aggs.clone(),
                        self.counters.clone(),
                    )),
                }
            }
            PhysNode::GlobalAggregate {
                input, group, aggs, ..
            } => Box::new(GlobalAggOp::new(
                self.build(input)?,
                group.clone(),
                aggs.clone(),
                self.counters.clone(),
            )),
            PhysNode::LookupJoin {
                stream,
                table,
                join_type,
                stream_keys,
                table_keys,
                residual,
                ..
            } => {
                let table_op = self.build(table)?;
                let stream_op = self.build(stream)?;
                Box::new(LookupJoinOp::new(
                    stream_op,
                    table_op,
                    table.schema().types(),
                    *join_type,
                    stream_keys.clone(),
                    table_keys.clone(),
                    residual.clone(),
                )?)
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
                Box::new(WindowJoinOp::new(
                    self.build(left)?,
                    self.build(right)?,
                    spec,
                    self.counters.clone(),
                ))
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
                Box::new(IntervalJoinOp::new(
                    self.build(left)?,
                    self.build(right)?,
                    spec,
                    self.counters.clone(),
                ))
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

/// Runs every pipeline of the plan to completion (for bounded sources) and returns the summary.
pub fn run(
    plan: &PhysicalPlan,
    factory: &dyn ConnectorFactory,
    progress: &mut dyn FnMut(&Progress),
) -> Result<RunSummary> {
    let start = Instant::now();
    let counters = Arc::new(Counters::default());
    let mut b = Builder {
        factory,
        batch_size: plan.settings.batch_size.max(1),
        counters: counters.clone(),
        sources: vec![],
    };
    struct Running {
        root: Box<dyn Operator>,
        sink: Box<dyn SinkWriter>,
        name: String,
        written: u64,
        done: bool,
    }
    let mut pipes = Vec::new();
    for p in &plan.pipelines {
        let root = b.build(&p.root)?;
        let sink = factory.open_sink(&p.sink)?;
        let name = match &p.sink {
            SinkTarget::Table(t) => t.name.clone(),
            SinkTarget::Stdout { .. } => "stdout".into(),
        };
        pipes.push(Running {
            root,
            sink,
            name,
            written: 0,
            done: false,
        });
    }
    let mut last_report = Instant::now();
    let mut steps = 0u64;
    while pipes.iter().any(|p| !p.done) {
        for p in pipes.iter_mut().filter(|p| !p.done) {
            match p.root.next()? {
                Some(Msg::Batch(batch)) => {
                    p.written += batch.num_rows as u64;
                    p.sink.write(&batch)?;
                }
                Some(_) => {}
                None => {
                    p.sink.finish()?;
                    p.done = true;
                }
            }
        }
        steps += 1;
        if steps.is_multiple_of(64) && last_report.elapsed() >= Duration::from_millis(500) {
            last_report = Instant::now();
            progress(&Progress {
                records_read: b
                    .sources
                    .iter()
                    .map(|s| s.read.load(Ordering::Relaxed))
                    .sum(),
                rows_written: pipes.iter().map(|p| p.written).sum(),
                elapsed: start.elapsed(),
            });
        }
    }
    Ok(RunSummary {
        sources: b
            .sources
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.read.load(Ordering::Relaxed),
                    s.skipped.load(Ordering::Relaxed),
                )
            })
            .collect(),
        sinks: pipes.iter().map(|p| (p.name.clone(), p.written)).collect(),
        late_records: counters.late(),
        peak_state_bytes: counters.peak_state_bytes.load(Ordering::Relaxed),
        elapsed: start.elapsed(),
    })
}
