//! Writing a directory of part files, as Flink's filesystem sink does: each worker writes its
//! own part files, `part-<run>-<worker>-<n>.<format>`, first as hidden in-progress files
//! (`.part-...inprogress`) in the same directory. A part is closed when it reaches
//! `sink.rolling-policy.file-size` (default 128 MiB) or has been open
//! `sink.rolling-policy.rollover-interval` (default 30 min), and at every checkpoint. Closed
//! parts become visible (renamed) only when their checkpoint completes (exactly-once: the
//! checkpoint lists them, so recovery publishes those and drops the rest); without checkpoints,
//! only when the whole run succeeded. With `PARTITIONED BY (...)` rows go to `col=value/`
//! sub-directories and the partition columns are not written into the files (as in Flink).

use super::text_writer::encode_row;
use super::Format;
use darwin_checkpoint::lock::{lock_file_for, PathLock};
use darwin_checkpoint::StagedFile;
use darwin_columnar::column::Batch;
use darwin_common::{DataType, Schema, Value};
use darwin_plan::TableDef;
use darwin_runtime::{Completed, Result, RuntimeError, SinkContext, SinkWriter};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Default `sink.rolling-policy.file-size` (Flink's).
const ROLL_BYTES: u64 = 128 << 20;
/// Default `sink.rolling-policy.rollover-interval` (Flink's).
const ROLL_INTERVAL: Duration = Duration::from_secs(30 * 60);

fn conn(message: String) -> RuntimeError {
    RuntimeError::Connector { connector: "filesystem".into(), message }
}

fn io_err(path: &Path, err: std::io::Error) -> RuntimeError {
    RuntimeError::Io { path: path.display().to_string(), err }
}

/// Whether a filesystem sink writes a directory of part files: its path is a directory (or
/// ends with `/`), the table is partitioned, or a rolling policy is set.
pub fn is_directory(t: &TableDef) -> bool {
    let path = t.option("path").unwrap_or_default();
    path.ends_with('/')
        || Path::new(path).is_dir()
        || !t.partition_keys.is_empty()
        || t.options.keys().any(|k| k.starts_with("sink.rolling-policy."))
}

/// Checks the rolling options; the error is a sentence for the user.
pub fn validate(t: &TableDef) -> std::result::Result<(), String> {
    roll_bytes(t)?;
    roll_interval(t)?;
    Ok(())
}

fn roll_bytes(t: &TableDef) -> std::result::Result<u64, String> {
    let Some(v) = t.option("sink.rolling-policy.file-size") else { return Ok(ROLL_BYTES) };
    let (num, unit) = v.trim().split_at(v.trim().find(|c: char| !c.is_ascii_digit()).unwrap_or(v.trim().len()));
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" | "bytes" => 1,
        "kb" | "k" => 1 << 10,
        "mb" | "m" => 1 << 20,
        "gb" | "g" => 1 << 30,
        _ => 0,
    };
    num.parse::<u64>()
        .ok()
        .filter(|n| *n > 0 && scale > 0)
        .map(|n| n * scale)
        .ok_or_else(|| format!("'sink.rolling-policy.file-size' must be a size such as 128MB, not '{v}'"))
}

fn roll_interval(t: &TableDef) -> std::result::Result<Duration, String> {
    match t.option("sink.rolling-policy.rollover-interval") {
        None => Ok(ROLL_INTERVAL),
        Some(v) => {
            darwin_common::time::parse_duration(v).map_err(|m| format!("'sink.rolling-policy.rollover-interval': {m}"))
        }
    }
}

/// Unique to this process (its start time and pid), so parts of earlier runs are never
/// overwritten and a run's parts are recognisable.
fn run_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        format!("{:x}{:04x}", since.as_millis(), std::process::id() & 0xffff)
    })
}

/// An open part file.
struct Part {
    staged: PathBuf,
    target: PathBuf,
    writer: PartWriter,
    opened: Instant,
}

enum PartWriter {
    Text {
        out: BufWriter<File>,
        bytes: u64,
    },
    #[cfg(feature = "arrow")]
    Columnar(Box<super::columnar_writer::ColumnarWriter>),
}

/// Writes a directory of part files (see the module's doc).
pub struct DirSink {
    dir: PathBuf,
    table: TableDef,
    format: Format,
    /// The columns written into files (all but the partition columns).
    data: Schema,
    data_cols: Vec<usize>,
    /// Positions of the partition columns, in `PARTITIONED BY` order.
    keys: Vec<usize>,
    /// The full row's types.
    types: Vec<DataType>,
    checkpoints: bool,
    name: String,
    counter: u64,
    roll_bytes: u64,
    roll_interval: Duration,
    /// Open parts by partition directory (relative; empty without partitions).
    open: BTreeMap<String, Part>,
    /// Closed parts not yet handed over (to a checkpoint, or to the end of the run).
    closed: Vec<(PathBuf, PathBuf)>,
    line: String,
    handed_over: bool,
    _lock: PathLock,
}

impl DirSink {
    /// Opens the directory sink of one worker (creating the directory) and locks it.
    pub fn create(t: &TableDef, ctx: &SinkContext) -> Result<DirSink> {
        let format = super::format_of(t).map_err(conn)?;
        let dir = PathBuf::from(t.option("path").unwrap_or_default());
        std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        let what = format!("the output directory {}", dir.display());
        // One lock per worker (each writes its own parts): a second run is refused.
        let lock = PathLock::acquire(&lock_file_for(&dir.join(format!("darwin-writer-{}", ctx.worker))), &what)
            .map_err(|e| conn(e.to_string()))?;
        let keys: Vec<usize> = t
            .partition_keys
            .iter()
            .map(|k| t.schema.fields.iter().position(|f| &f.name == k))
            .collect::<Option<_>>()
            .ok_or_else(|| conn(format!("a PARTITIONED BY column of '{}' is not one of its columns", t.name)))?;
        let data_cols: Vec<usize> = (0..t.schema.len()).filter(|c| !keys.contains(c)).collect();
        let data = Schema::new(data_cols.iter().map(|c| t.schema.fields[*c].clone()).collect());
        let name = format!("{}-{}", run_id(), ctx.worker);
        let mut table = t.clone();
        table.schema = data.clone();
        Ok(DirSink {
            dir,
            table,
            format,
            data,
            data_cols,
            keys,
            types: t.schema.types(),
            checkpoints: ctx.staging.is_some(),
            name,
            counter: 0,
            roll_bytes: roll_bytes(t).map_err(conn)?,
            roll_interval: roll_interval(t).map_err(conn)?,
            open: BTreeMap::new(),
            closed: Vec::new(),
            line: String::new(),
            handed_over: false,
            _lock: lock,
        })
    }

    fn extension(&self) -> &'static str {
        match self.format {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Parquet => "parquet",
            Format::Arrow => "arrow",
        }
    }

    /// Opens a new part in the partition directory `sub`.
    fn open_part(&mut self, sub: &str) -> Result<Part> {
        let dir = self.dir.join(sub);
        std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        let file_name = format!("part-{}-{}.{}", self.name, self.counter, self.extension());
        self.counter += 1;
        let target = dir.join(&file_name);
        let staged = dir.join(format!(".{file_name}.inprogress"));
        let file = File::create(&staged).map_err(|e| io_err(&staged, e))?;
        let writer = match self.format {
            #[cfg(feature = "arrow")]
            Format::Parquet | Format::Arrow => PartWriter::Columnar(Box::new(
                super::columnar_writer::ColumnarWriter::new(&self.table, file, &staged, self.format == Format::Arrow)?,
            )),
            _ => PartWriter::Text { out: BufWriter::with_capacity(1 << 16, file), bytes: 0 },
        };
        Ok(Part { staged, target, writer, opened: Instant::now() })
    }

    /// Writes rows of one partition (columns of `data` only) to its open part, rolling it when
    /// it reaches the size (text: after the row that reached it; columnar: after the batch) or
    /// its time.
    fn write_part(&mut self, sub: String, batch: &Batch) -> Result<()> {
        let mut part = match self.open.remove(&sub) {
            Some(p) => p,
            None => self.open_part(&sub)?,
        };
        for i in 0..batch.num_rows {
            let size = match &mut part.writer {
                PartWriter::Text { out, bytes } => {
                    self.line.clear();
                    encode_row(self.format == Format::Json, &self.data, batch, i, &mut self.line);
                    out.write_all(self.line.as_bytes()).map_err(|e| io_err(&part.staged, e))?;
                    *bytes += self.line.len() as u64;
                    *bytes
                }
                #[cfg(feature = "arrow")]
                PartWriter::Columnar(w) => {
                    w.write(batch, &part.staged)?;
                    w.bytes_written()
                }
            };
            #[cfg(feature = "arrow")]
            let whole = matches!(part.writer, PartWriter::Columnar(_));
            #[cfg(not(feature = "arrow"))]
            let whole = false;
            let last = whole || i + 1 == batch.num_rows;
            if size >= self.roll_bytes || (last && part.opened.elapsed() >= self.roll_interval) {
                self.close(part)?;
                if last {
                    return Ok(());
                }
                part = self.open_part(&sub)?;
            }
            if whole {
                break;
            }
        }
        self.open.insert(sub, part);
        Ok(())
    }

    /// Finishes a part's file (footer, flush, fsync) and keeps it to hand over.
    fn close(&mut self, part: Part) -> Result<()> {
        match part.writer {
            PartWriter::Text { out, .. } => {
                let file = out.into_inner().map_err(|e| io_err(&part.staged, e.into_error()))?;
                file.sync_all().map_err(|e| io_err(&part.staged, e))?;
            }
            #[cfg(feature = "arrow")]
            PartWriter::Columnar(mut w) => w.finish(&part.staged)?,
        }
        self.closed.push((part.staged, part.target));
        Ok(())
    }

    fn close_all(&mut self) -> Result<()> {
        for (_, part) in std::mem::take(&mut self.open) {
            self.close(part)?;
        }
        Ok(())
    }

    /// The partition directory of row `i`: `col=value/...`, values escaped as Hive does.
    fn partition_of(&self, batch: &Batch, i: usize) -> String {
        let mut sub = String::new();
        for (j, &k) in self.keys.iter().enumerate() {
            let v = batch.columns[k].get(i, self.types[k]);
            if !sub.is_empty() {
                sub.push('/');
            }
            sub.push_str(&escape(&self.table.partition_keys[j]));
            sub.push('=');
            sub.push_str(&match v {
                Value::Null => "__DEFAULT_PARTITION__".to_string(),
                v => escape(&crate::format::text_value(&v).unwrap_or_default()),
            });
        }
        sub
    }
}

/// A partition value or name as a path component: the characters Hive escapes become `%XX`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || "\"#%'*/:=?\\\u{7f}{[]^".contains(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl SinkWriter for DirSink {
    fn write(&mut self, batch: &Batch) -> Result<()> {
        if batch.num_rows == 0 {
            return Ok(());
        }
        let data = Batch::new(self.data_cols.iter().map(|c| batch.columns[*c].clone()).collect(), batch.num_rows);
        if self.keys.is_empty() {
            return self.write_part(String::new(), &data);
        }
        let mut rows: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for i in 0..batch.num_rows {
            rows.entry(self.partition_of(batch, i)).or_default().push(i as u32);
        }
        for (sub, idx) in rows {
            self.write_part(sub, &data.take(&idx))?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.close_all()
    }

    fn precommit(&mut self) -> Result<Vec<StagedFile>> {
        if !self.checkpoints {
            return Ok(vec![]);
        }
        self.close_all()?;
        let mut staged = Vec::new();
        for (s, target) in std::mem::take(&mut self.closed) {
            let bytes = std::fs::metadata(&s).map_err(|e| io_err(&s, e))?.len();
            staged.push(StagedFile { target, staged: s, bytes, dir: Some(self.dir.clone()) });
        }
        Ok(staged)
    }

    fn output_file(&self) -> Option<PathBuf> {
        self.checkpoints.then(|| self.dir.clone())
    }

    fn completed(&mut self) -> Vec<Completed> {
        if self.checkpoints {
            return vec![];
        }
        self.handed_over = true;
        std::mem::take(&mut self.closed).into_iter().map(|(written, target)| Completed { written, target }).collect()
    }
}

impl Drop for DirSink {
    /// A run without checkpoints that did not finish leaves no in-progress part behind.
    fn drop(&mut self) {
        if self.checkpoints || self.handed_over {
            return;
        }
        for (staged, _) in &self.closed {
            let _ = std::fs::remove_file(staged);
        }
        for part in self.open.values() {
            let _ = std::fs::remove_file(&part.staged);
        }
    }
}
