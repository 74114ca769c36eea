//! The benchmark's source and sink. Events are generated once into memory by the real
//! generators and replayed with advancing timestamps for as many events as requested, so memory
//! stays bounded however long the run. The sink keeps the results for checking and measures
//! window latency: from the moment every partition's watermark has passed a window's end to the
//! moment the window's rows reach the sink.

use darwin_common::{DataType, FieldRole};
use darwin_connectors::generators::ysb_records;
use darwin_connectors::records::Recorded;
use darwin_connectors::Registry;
use darwin_plan::{SinkTarget, TableDef};
use darwin_runtime::{Batch, Column, ColumnData, ConnectorFactory, Result, SinkWriter, SourceReader};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Per partition: when (wall clock) its watermark reached which event time.
pub type WatermarkLog = Arc<Mutex<Vec<Vec<(i64, Instant)>>>>;

/// Pre-generated batches of one table, per partition, and how far one replay advances time.
pub struct Recording {
    /// Per partition, the recorded batches in order (empty when `records` holds the events).
    pub batches: Vec<Vec<Batch>>,
    /// Per partition and batch: the largest value of its timestamp columns (the replay logs
    /// each batch's watermark from it plus the loop's shift, without a pass over the times).
    pub max_time: Vec<Vec<Option<i64>>>,
    /// A YSB table with a record layout holds records instead of batches: the layout, the
    /// declared columns' fields, and per partition the records, decoded during the timed run.
    pub records: Option<Recorded>,
    /// Number of events recorded (one replay loop), over all partitions.
    pub events: u64,
    /// Event time one replay loop spans, in ms: loop `k` shifts timestamps by `k * span_ms`.
    pub span_ms: i64,
    /// Size of the recorded batches or records, in bytes.
    pub bytes: usize,
}

/// Generates a table's share of `events` benchmark events (the generator's `events` option:
/// for Nexmark all three kinds together), split over `partitions`.
pub fn record(table: &TableDef, partitions: usize, events: u64, span_ms: i64, batch: usize) -> Result<Recording> {
    let mut t = table.clone();
    t.options.insert("events".into(), events.to_string());
    if let Some((layout, fields, parts)) = ysb_records(&t, partitions, events)? {
        let bytes: usize = parts.iter().map(Vec::len).sum();
        let n = (bytes / layout.record_size()) as u64;
        let batches = vec![Vec::new(); parts.len()];
        let max_time = vec![Vec::new(); parts.len()];
        return Ok(Recording { batches, max_time, records: Some((layout, fields, parts)), events: n, span_ms, bytes });
    }
    let mut reader = Registry.open_source(&t, partitions)?;
    let mut batches = vec![Vec::new(); partitions];
    let (mut n, mut bytes) = (0u64, 0usize);
    for (p, out) in batches.iter_mut().enumerate() {
        while let Some(mut b) = reader.next_batch(p, batch)? {
            n += b.num_rows as u64;
            bytes += b.size_bytes();
            // Shared, so a replay hands out the recorded values by reference (a source that
            // generates or decodes its batches hands them over without a copy either).
            b.share();
            out.push(b);
        }
    }
    let time_cols = timestamp_columns(table);
    let max_time = batches.iter().map(|part| part.iter().map(|b| max_time(b, &time_cols)).collect()).collect();
    Ok(Recording { batches, max_time, records: None, events: n, span_ms, bytes })
}

/// The largest value of a batch's timestamp columns.
fn max_time(b: &Batch, time_cols: &[usize]) -> Option<i64> {
    time_cols.iter().filter_map(|&c| b.columns[c].i64s().iter().copied().max()).max()
}

/// The positions of a table's timestamp columns (the ones a replay shifts).
fn timestamp_columns(table: &TableDef) -> Vec<usize> {
    let fields = table.schema.fields.iter().enumerate();
    fields.filter(|(_, f)| f.data_type == DataType::Timestamp).map(|(i, _)| i).collect()
}

/// Replays a recording: loop `k` adds `k * span` to every timestamp column.
pub struct ReplaySource {
    rec: Arc<Recording>,
    /// Per partition: (loop, batch index, rows still to emit).
    pos: Vec<(i64, usize, u64)>,
    time_cols: Vec<usize>,
    wm_delay: i64,
    log: WatermarkLog,
}

impl ReplaySource {
    /// Replays `rec` for `total_events` events, split evenly over its partitions; watermarks (the batch's
    /// largest timestamp less `wm_delay`) are logged to `log`.
    pub fn new(rec: Arc<Recording>, table: &TableDef, total_events: u64, wm_delay: i64, log: WatermarkLog) -> Self {
        let parts = rec.batches.len() as u64;
        let pos = (0..parts).map(|p| (0, 0, total_events / parts + u64::from(p < total_events % parts))).collect();
        let time_cols = timestamp_columns(table);
        log.lock().expect("not poisoned").resize(parts as usize, Vec::new());
        ReplaySource { rec, pos, time_cols, wm_delay, log }
    }

    /// The next records of partition `p`, decoded with timestamps shifted for the loop.
    fn next_records(&mut self, p: usize, max_rows: usize) -> Option<Batch> {
        let rec = self.rec.clone();
        let (layout, fields, parts) = rec.records.as_ref()?;
        let recs = &parts[p];
        let (lp, at, left) = self.pos[p];
        let size = layout.record_size();
        let total = recs.len() / size;
        if left == 0 || total == 0 {
            return None;
        }
        let take = ((total - at) as u64).min(left).min(max_rows.max(1) as u64) as usize;
        let batch = layout.decode(&recs[at * size..(at + take) * size], fields, lp * self.rec.span_ms);
        self.pos[p] =
            if at + take == total { (lp + 1, 0, left - take as u64) } else { (lp, at + take, left - take as u64) };
        if let Some(ts) = max_time(&batch, &self.time_cols) {
            self.log.lock().expect("not poisoned")[p].push((ts - self.wm_delay, Instant::now()));
        }
        Some(batch)
    }
}

impl SourceReader for ReplaySource {
    fn partitions(&self) -> usize {
        self.pos.len()
    }

    fn next_batch(&mut self, p: usize, max_rows: usize) -> Result<Option<Batch>> {
        if self.rec.records.is_some() {
            return Ok(self.next_records(p, max_rows));
        }
        let (lp, bi, left) = self.pos[p];
        let parts = &self.rec.batches[p];
        if left == 0 || parts.is_empty() {
            return Ok(None);
        }
        let src = &parts[bi];
        let take = (src.num_rows as u64).min(left).min(max_rows.max(1) as u64) as usize;
        let shift = lp * self.rec.span_ms;
        let mut cols = Vec::with_capacity(src.columns.len());
        for (i, c) in src.columns.iter().enumerate() {
            if self.time_cols.contains(&i) {
                // Shifted straight from the recording: one pass, no copy first.
                let ColumnData::I64(v) = &c.data else { unreachable!("timestamps are i64") };
                let shifted: Vec<i64> = v[..take].iter().map(|t| t + shift).collect();
                let validity = c.validity.as_ref().map(|m| m[..take].to_vec());
                cols.push(Column::new(ColumnData::I64(shifted.into()), validity));
            } else if take < src.num_rows {
                cols.push(c.take(&(0..take as u32).collect::<Vec<_>>()));
            } else {
                // A reference to the recorded buffer (shared when recorded), not a copy.
                cols.push(c.clone());
            }
        }
        let next = if bi + 1 == parts.len() { (lp + 1, 0) } else { (lp, bi + 1) };
        self.pos[p] = (next.0, next.1, left - take as u64);
        let batch = Batch::new(cols, take);
        // A whole recorded batch's largest time is known; a partly taken one's is computed.
        let max_ts = if take == src.num_rows {
            self.rec.max_time[p][bi].map(|m| m + shift)
        } else {
            max_time(&batch, &self.time_cols)
        };
        if let Some(ts) = max_ts {
            self.log.lock().expect("not poisoned")[p].push((ts - self.wm_delay, Instant::now()));
        }
        Ok(Some(batch))
    }

    fn offset(&self, p: usize) -> u64 {
        self.pos[p].2
    }

    fn seek(&mut self, _: usize, _: u64) -> Result<()> {
        Err(darwin_runtime::RuntimeError::Connector {
            connector: "replay".into(),
            message: "the benchmark replay cannot seek".into(),
        })
    }
}

/// Results and latencies gathered by the benchmark sink.
#[derive(Default)]
pub struct Collected {
    /// The result rows, when `keep_rows` is set.
    pub rows: Vec<Vec<darwin_common::Value>>,
    /// Window latencies in ms of wall-clock time, one per written batch that carries window ends.
    pub latencies_ms: Vec<f64>,
    /// Whether to keep result rows (for the result check).
    pub keep_rows: bool,
}

/// The benchmark's sink: keeps result rows if asked, and measures window latency from `window_end`.
pub struct BenchSink {
    types: Vec<DataType>,
    window_end: Option<usize>,
    log: WatermarkLog,
    out: Arc<Mutex<Collected>>,
}

impl BenchSink {
    /// When every partition's watermark first reached `t` (None if some never did).
    fn crossing(&self, t: i64) -> Option<Instant> {
        let log = self.log.lock().expect("not poisoned");
        let mut latest: Option<Instant> = None;
        for part in log.iter() {
            let i = part.partition_point(|(wm, _)| *wm < t);
            let at = part.get(i)?.1;
            latest = Some(latest.map_or(at, |l: Instant| l.max(at)));
        }
        latest
    }
}

impl SinkWriter for BenchSink {
    fn write(&mut self, batch: &Batch) -> Result<()> {
        let now = Instant::now();
        let lat = self.window_end.and_then(|c| {
            let ends = batch.columns[c].i64s();
            let end = ends.iter().copied().max()?;
            // The window fired when the watermark reached end - 1 ms; a final flush at the end
            // of input (no crossing) is not a latency sample.
            self.crossing(end - 1).map(|at| now.saturating_duration_since(at).as_secs_f64() * 1000.0)
        });
        let mut out = self.out.lock().expect("not poisoned");
        if let Some(l) = lat {
            out.latencies_ms.push(l);
        }
        if out.keep_rows {
            for i in 0..batch.num_rows {
                out.rows.push(batch.row(i, &self.types));
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Which recording a source replays: its table and the columns it reads.
pub fn recording_key(t: &TableDef) -> String {
    let cols: Vec<&str> = t.schema.fields.iter().map(|f| f.name.as_str()).collect();
    format!("{}({})", t.name, cols.join(","))
}

/// Sources of the benchmarked tables replay recordings; everything else is the real connector.
pub struct BenchFactory {
    /// Recordings to replay, by `recording_key`.
    pub recordings: HashMap<String, Arc<Recording>>,
    /// Events each replayed table delivers in the run, by table name.
    pub total_events: HashMap<String, u64>,
    /// How far each partition's watermark trails the largest replayed timestamp, in ms of event time.
    pub wm_delay: i64,
    /// Where replay sources log when their watermarks advanced, for the latency measurement.
    pub log: WatermarkLog,
    /// What the benchmark sink collects.
    pub out: Arc<Mutex<Collected>>,
}

impl ConnectorFactory for BenchFactory {
    fn open_source(&self, table: &TableDef, partitions: usize) -> Result<Box<dyn SourceReader>> {
        match self.recordings.get(&recording_key(table)) {
            Some(rec) => Ok(Box::new(ReplaySource::new(
                rec.clone(),
                table,
                self.total_events[&table.name],
                self.wm_delay,
                self.log.clone(),
            ))),
            None => Registry.open_source(table, partitions),
        }
    }

    fn open_sink(&self, target: &SinkTarget, _ctx: &darwin_runtime::SinkContext) -> Result<Box<dyn SinkWriter>> {
        let schema = match target {
            SinkTarget::Table(t) => t.schema.clone(),
            SinkTarget::Stdout { schema } => schema.clone(),
        };
        let window_end = schema
            .fields
            .iter()
            .position(|f| f.role == FieldRole::WindowEnd || f.name.eq_ignore_ascii_case("window_end"));
        Ok(Box::new(BenchSink { types: schema.types(), window_end, log: self.log.clone(), out: self.out.clone() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use darwin_common::{Field, Schema};
    use std::collections::BTreeMap;

    /// The replay hands out the recorded columns by reference (not a copy per batch) and the
    /// timestamps shifted by one span per loop; every row of every loop is the recorded row.
    #[test]
    fn replay_shares_recorded_columns_and_shifts_time_per_loop() {
        let mut options = BTreeMap::new();
        options.insert("table".to_string(), "bid".to_string());
        let table = TableDef {
            name: "bid".into(),
            schema: Schema::new(vec![
                Field::new("auction", DataType::BigInt),
                Field::new("date_time", DataType::Timestamp),
            ]),
            connector: "nexmark".into(),
            options,
            watermark: None,
            positions: None,
            ranges: Vec::new(),
            partition_keys: Vec::new(),
        };
        let (span, batch) = (100_000, 64);
        let rec = Arc::new(record(&table, 2, 5_000, span, batch).unwrap());
        let recorded: usize = rec.batches.iter().flatten().map(|b| b.num_rows).sum();
        let total = 2 * recorded as u64 + 17;
        let log: WatermarkLog = Arc::default();
        let mut src = ReplaySource::new(rec.clone(), &table, total, 0, log);
        let mut seen = 0u64;
        for p in 0..2 {
            let (mut lp, mut bi) = (0i64, 0usize);
            while let Some(b) = src.next_batch(p, batch).unwrap() {
                let want = &rec.batches[p][bi];
                let ColumnData::I64(ids) = &b.columns[0].data else { panic!("auction is i64") };
                let ColumnData::I64(recorded_ids) = &want.columns[0].data else { panic!("auction is i64") };
                if b.num_rows == want.num_rows {
                    assert!(ids.is_shared() && std::ptr::eq(ids.as_ptr(), recorded_ids.as_ptr()), "a copy");
                }
                assert_eq!(&ids[..], &recorded_ids[..b.num_rows]);
                let shifted: Vec<i64> = want.columns[1].i64s()[..b.num_rows].iter().map(|t| t + lp * span).collect();
                assert_eq!(b.columns[1].i64s(), &shifted[..]);
                seen += b.num_rows as u64;
                bi += 1;
                if bi == rec.batches[p].len() {
                    (lp, bi) = (lp + 1, 0);
                }
            }
        }
        assert_eq!(seen, total);
    }
}
