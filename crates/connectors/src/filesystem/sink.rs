//! Writing CSV or JSON lines to one file, all or nothing, and owning it for the run: the sink
//! locks the path (`.NAME.lock` beside it) so a second run writing there is refused. Without
//! checkpoints the rows go to a hidden in-progress file beside the output (`.NAME.inprogress`),
//! renamed over it only when the whole run succeeded, and deleted otherwise: a failed run leaves
//! the previous output as it was. With checkpoints each epoch's rows are staged in the checkpoint
//! directory and appended to the output when the epoch's checkpoint completes (two-phase commit).

use super::text_writer::encode_row;
use super::{format_of, Format};
use darwin_checkpoint::lock::{lock_file_for, PathLock};
use darwin_checkpoint::StagedFile;
use darwin_common::Schema;
use darwin_plan::TableDef;
use darwin_runtime::{Batch, Completed, Result, RuntimeError, SinkContext, SinkWriter};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes CSV or JSON lines to one file (see the module's doc).
pub struct FileSink {
    /// The output file.
    target: PathBuf,
    schema: Schema,
    format: Format,
    /// The file rows go to now: the in-progress file, or the current epoch's staged file.
    out: Option<Open>,
    line: String,
    staging: Option<Staging>,
    /// The in-progress file was handed over to be renamed (`completed`): not ours to delete.
    handed_over: bool,
    /// A Parquet or Arrow file's writer and the in-progress file it writes (`out` is then None).
    #[cfg(feature = "arrow")]
    parquet: Option<(PathBuf, super::columnar_writer::ColumnarWriter)>,
    _lock: PathLock,
}

/// An open file and its path, for error messages that name the file that failed.
struct Open {
    path: PathBuf,
    writer: BufWriter<File>,
}

struct Staging {
    dir: PathBuf,
    prefix: String,
    epoch: u64,
    /// Bytes staged for the current epoch.
    bytes: u64,
}

static SINKS_OPENED: AtomicU64 = AtomicU64::new(0);

fn io_err(path: &Path, err: std::io::Error) -> RuntimeError {
    RuntimeError::Io { path: path.display().to_string(), err }
}

impl FileSink {
    /// Opens the sink for one worker and locks its output path: without checkpoints it writes an
    /// in-progress file beside the output; with them (a staging directory in the context) it
    /// stages each epoch's rows there.
    pub fn create(t: &TableDef, ctx: &SinkContext) -> Result<FileSink> {
        let format =
            format_of(t).map_err(|m| RuntimeError::Connector { connector: "filesystem".into(), message: m })?;
        let target = PathBuf::from(t.option("path").unwrap_or_default());
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        }
        let what = format!("the output file {}", target.display());
        let lock = PathLock::acquire(&lock_file_for(&target), &what)
            .map_err(|e| RuntimeError::Connector { connector: "filesystem".into(), message: e.to_string() })?;
        #[cfg(feature = "arrow")]
        if format.columnar() {
            return columnar_sink(t, ctx, target, lock, format);
        }
        let (out, staging) = match &ctx.staging {
            None => {
                let path = in_progress_file(&target);
                let file = File::create(&path).map_err(|e| io_err(&path, e))?;
                (Some(Open { path, writer: BufWriter::new(file) }), None)
            }
            Some(dir) => {
                let safe: String = t.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
                let n = SINKS_OPENED.fetch_add(1, Ordering::Relaxed);
                let prefix = format!("{safe}-{n}-w{}", ctx.worker);
                (None, Some(Staging { dir: dir.clone(), prefix, epoch: ctx.first_epoch, bytes: 0 }))
            }
        };
        let schema = t.schema.clone();
        Ok(FileSink {
            target,
            schema,
            format,
            out,
            line: String::new(),
            staging,
            handed_over: false,
            #[cfg(feature = "arrow")]
            parquet: None,
            _lock: lock,
        })
    }

    /// The file rows go to: the in-progress file, or the current epoch's staged file (created at
    /// the epoch's first row).
    fn out(&mut self) -> Result<&mut Open> {
        if self.out.is_none() {
            if let Some(s) = &self.staging {
                let path = s.dir.join(format!("{}-e{:010}.part", s.prefix, s.epoch));
                let file = File::create(&path).map_err(|e| io_err(&path, e))?;
                self.out = Some(Open { path, writer: BufWriter::new(file) });
            }
        }
        self.out.as_mut().ok_or_else(|| RuntimeError::Connector {
            connector: "filesystem".into(),
            message: format!("the sink of {} wrote after it finished", self.target.display()),
        })
    }
}

/// A Parquet or Arrow sink: one file, written whole and renamed over the target when the run succeeded.
#[cfg(feature = "arrow")]
fn columnar_sink(t: &TableDef, ctx: &SinkContext, target: PathBuf, lock: PathLock, format: Format) -> Result<FileSink> {
    if ctx.staging.is_some() {
        return Err(RuntimeError::Connector {
            connector: "filesystem".into(),
            message: format!(
                "{}: a Parquet or Arrow file cannot be appended to at each checkpoint; write to a \
                 directory instead ('path' ending in '/'), whose part files each checkpoint commits",
                target.display()
            ),
        });
    }
    let path = in_progress_file(&target);
    let file = File::create(&path).map_err(|e| io_err(&path, e))?;
    let writer = super::columnar_writer::ColumnarWriter::new(t, file, &path, format == Format::Arrow)?;
    Ok(FileSink {
        target,
        schema: t.schema.clone(),
        format,
        out: None,
        line: String::new(),
        staging: None,
        handed_over: false,
        parquet: Some((path, writer)),
        _lock: lock,
    })
}

/// The hidden file a run without checkpoints writes before renaming it over `target`.
fn in_progress_file(target: &Path) -> PathBuf {
    let name = target.file_name().map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    target.with_file_name(format!(".{name}.inprogress"))
}

impl SinkWriter for FileSink {
    fn write(&mut self, batch: &Batch) -> Result<()> {
        #[cfg(feature = "arrow")]
        if let Some((path, w)) = &mut self.parquet {
            return w.write(batch, path);
        }
        for i in 0..batch.num_rows {
            self.line.clear();
            encode_row(self.format == Format::Json, &self.schema, batch, i, &mut self.line);
            let line = std::mem::take(&mut self.line);
            let out = self.out()?;
            out.writer.write_all(line.as_bytes()).map_err(|e| io_err(&out.path, e))?;
            if let Some(s) = &mut self.staging {
                s.bytes += line.len() as u64;
            }
            self.line = line;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.staging.is_some() {
            return Ok(());
        }
        #[cfg(feature = "arrow")]
        if let Some((path, w)) = &mut self.parquet {
            return w.finish(path);
        }
        let Some(out) = &mut self.out else { return Ok(()) };
        let io = |e| io_err(&out.path, e);
        out.writer.flush().map_err(io)?;
        out.writer.get_ref().sync_all().map_err(|e| io_err(&out.path, e))
    }

    fn precommit(&mut self) -> Result<Vec<StagedFile>> {
        let Some(s) = &mut self.staging else {
            return Ok(vec![]);
        };
        s.epoch += 1;
        let Some(Open { path, writer }) = self.out.take() else {
            return Ok(vec![]);
        };
        let file = writer.into_inner().map_err(|e| io_err(&path, e.into_error()))?;
        file.sync_all().map_err(|e| io_err(&path, e))?;
        let bytes = std::mem::take(&mut s.bytes);
        Ok(vec![StagedFile { target: self.target.clone(), staged: path, bytes, dir: None }])
    }

    fn output_file(&self) -> Option<PathBuf> {
        self.staging.as_ref().map(|_| self.target.clone())
    }

    fn completed(&mut self) -> Vec<Completed> {
        if self.staging.is_some() {
            return vec![];
        }
        #[cfg(feature = "arrow")]
        if let Some((path, _)) = self.parquet.take() {
            self.handed_over = true;
            return vec![Completed { written: path, target: self.target.clone() }];
        }
        let Some(out) = self.out.take() else { return vec![] };
        self.handed_over = true;
        vec![Completed { written: out.path, target: self.target.clone() }]
    }
}

impl Drop for FileSink {
    /// A run that did not finish leaves no in-progress file behind (the previous output stays).
    fn drop(&mut self) {
        if self.staging.is_none() && !self.handed_over {
            let _ = std::fs::remove_file(in_progress_file(&self.target));
        }
    }
}
