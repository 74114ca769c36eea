//! The `filesystem` connector: reads CSV or JSON-lines files (a file, or every file of a
//! directory, one partition each) and writes one file. Malformed records fail the run with
//! file, line and column, unless the format's ignore-parse-errors option skips and counts them.

use crate::format::{csv_field, from_json, json_value, parse_field, split_csv, text_value};
use darwin_checkpoint::StagedFile;
use darwin_common::{Schema, Value};
use darwin_plan::TableDef;
use darwin_runtime::{Batch, Result, RuntimeError, SinkContext, SinkWriter, SourceReader};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Format {
    Csv,
    Json,
}

fn format_of(t: &TableDef) -> std::result::Result<Format, String> {
    match t.option("format") {
        Some("csv") => Ok(Format::Csv),
        Some("json") => Ok(Format::Json),
        Some(other) => Err(format!("unknown format '{other}'; valid formats: csv, json")),
        None => Err("the 'format' option is required (csv or json)".into()),
    }
}

fn flag(t: &TableDef, key: &str) -> std::result::Result<bool, String> {
    match t.option(key) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(format!("option '{key}' must be 'true' or 'false', not '{other}'")),
    }
}

/// Checks a filesystem table: `path` and `format` (csv or json) are set, the flags are `true` or `false`,
/// and no column is an INTERVAL. The error is a sentence for the user.
pub fn validate(t: &TableDef) -> std::result::Result<(), String> {
    if t.option("path").is_none() {
        return Err("the 'path' option is required".into());
    }
    format_of(t)?;
    for k in ["csv.header", "csv.ignore-parse-errors", "json.ignore-parse-errors"] {
        flag(t, k)?;
    }
    if t.schema.fields.iter().any(|f| f.data_type == darwin_common::DataType::Interval) {
        return Err("INTERVAL columns cannot be stored in files".into());
    }
    Ok(())
}

/// The files a source reads: the path itself, or the files of a directory in name order.
pub fn files_of(t: &TableDef) -> std::io::Result<Vec<PathBuf>> {
    let path = PathBuf::from(t.option("path").unwrap_or_default());
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
            .collect();
        files.sort();
        Ok(files)
    } else {
        Ok(vec![path])
    }
}

struct FilePartition {
    path: String,
    reader: Option<BufReader<File>>,
    line_no: u64,
    offset: u64,
}

/// Reads a filesystem table: one partition per file, each line decoded as a CSV record or a JSON object.
pub struct FileSource {
    table: String,
    schema: Schema,
    format: Format,
    header: bool,
    ignore_errors: bool,
    parts: Vec<FilePartition>,
    skipped: u64,
    line: String,
    fields: Vec<(String, bool)>,
}

impl FileSource {
    /// Opens every file of the table (see `files_of`); fails on a bad option or a file that cannot be opened.
    pub fn open(t: &TableDef) -> Result<FileSource> {
        let format =
            format_of(t).map_err(|m| RuntimeError::Connector { connector: "filesystem".into(), message: m })?;
        let conn = |m: String| RuntimeError::Connector { connector: "filesystem".into(), message: m };
        let header = flag(t, "csv.header").map_err(conn)?;
        let ignore_errors =
            flag(t, if format == Format::Csv { "csv.ignore-parse-errors" } else { "json.ignore-parse-errors" })
                .map_err(conn)?;
        let path = t.option("path").unwrap_or_default().to_string();
        let files = files_of(t).map_err(|e| RuntimeError::Io { path: path.clone(), err: e })?;
        let mut parts = Vec::new();
        for f in files {
            let p = f.display().to_string();
            let file = File::open(&f).map_err(|e| RuntimeError::Io { path: p.clone(), err: e })?;
            parts.push(FilePartition {
                path: p,
                reader: Some(BufReader::with_capacity(1 << 16, file)),
                line_no: 0,
                offset: 0,
            });
        }
        Ok(FileSource {
            table: t.name.clone(),
            schema: t.schema.clone(),
            format,
            header,
            ignore_errors,
            parts,
            skipped: 0,
            line: String::new(),
            fields: Vec::new(),
        })
    }

    fn decode(&mut self, p: usize, row: &mut Vec<Value>) -> std::result::Result<(), (String, String)> {
        row.clear();
        let line = self.line.trim_end_matches(['\n', '\r']);
        match self.format {
            Format::Csv => {
                if split_csv(line, &mut self.fields).is_none() {
                    return Err(("*".into(), "unterminated quoted field".into()));
                }
                if self.fields.len() != self.schema.len() {
                    return Err((
                        "*".into(),
                        format!("expected {} fields, found {}", self.schema.len(), self.fields.len()),
                    ));
                }
                for (f, (field, quoted)) in self.schema.fields.iter().zip(&self.fields) {
                    row.push(parse_field(field, *quoted, f.data_type).map_err(|m| (f.name.clone(), m))?);
                }
            }
            Format::Json => {
                let v: serde_json::Value =
                    serde_json::from_str(line).map_err(|e| ("*".into(), format!("invalid JSON: {e}")))?;
                let obj = v.as_object().ok_or_else(|| ("*".to_string(), "expected a JSON object".to_string()))?;
                for f in &self.schema.fields {
                    let val = obj
                        .get(&f.name)
                        .or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(&f.name)).map(|(_, v)| v));
                    row.push(match val {
                        None => Value::Null,
                        Some(j) => from_json(j, f.data_type).map_err(|m| (f.name.clone(), m))?,
                    });
                }
            }
        }
        let _ = p;
        Ok(())
    }
}

impl SourceReader for FileSource {
    fn partitions(&self) -> usize {
        self.parts.len()
    }

    fn next_batch(&mut self, p: usize, max_rows: usize) -> Result<Option<Batch>> {
        let types = self.schema.types();
        let mut rows: Vec<Vec<Value>> = Vec::new();
        let mut row = Vec::new();
        while rows.len() < max_rows {
            let part = &mut self.parts[p];
            let Some(reader) = part.reader.as_mut() else {
                break;
            };
            self.line.clear();
            let n =
                reader.read_line(&mut self.line).map_err(|e| RuntimeError::Io { path: part.path.clone(), err: e })?;
            if n == 0 {
                part.reader = None;
                break;
            }
            part.offset += n as u64;
            part.line_no += 1;
            if (part.line_no == 1 && self.header) || self.line.trim().is_empty() {
                continue;
            }
            let line_no = part.line_no;
            match self.decode(p, &mut row) {
                Ok(()) => rows.push(std::mem::take(&mut row)),
                Err(_) if self.ignore_errors => self.skipped += 1,
                Err((column, message)) => {
                    return Err(RuntimeError::Malformed {
                        source_name: format!("table '{}' ({})", self.table, self.parts[p].path),
                        position: format!("line {line_no}"),
                        column,
                        message,
                    })
                }
            }
        }
        if rows.is_empty() && self.parts[p].reader.is_none() {
            return Ok(None);
        }
        Ok(Some(Batch::from_rows(&rows, &types)))
    }

    fn offset(&self, p: usize) -> u64 {
        self.parts[p].offset
    }

    fn seek(&mut self, p: usize, offset: u64) -> Result<()> {
        use std::io::{Seek, SeekFrom};
        let part = &mut self.parts[p];
        let io = |e| RuntimeError::Io { path: part.path.clone(), err: e };
        let mut file = File::open(&part.path).map_err(io)?;
        file.seek(SeekFrom::Start(offset)).map_err(|e| RuntimeError::Io { path: part.path.clone(), err: e })?;
        part.reader = Some(BufReader::with_capacity(1 << 16, file));
        part.offset = offset;
        // Line numbers in error messages count from the start of the file: recount them.
        let mut head =
            BufReader::new(File::open(&part.path).map_err(|e| RuntimeError::Io { path: part.path.clone(), err: e })?);
        let (mut line, mut seen, mut buf) = (0u64, 0u64, String::new());
        while seen < offset {
            buf.clear();
            let n = head.read_line(&mut buf).map_err(|e| RuntimeError::Io { path: part.path.clone(), err: e })?;
            if n == 0 {
                break;
            }
            seen += n as u64;
            line += 1;
        }
        part.line_no = line;
        Ok(())
    }

    fn skipped(&self) -> u64 {
        self.skipped
    }
}

/// Writes CSV or JSON lines to a file. Without checkpoints it writes the file directly; with
/// checkpoints (a staging directory in the context) it is transactional: each epoch's lines go
/// to a staged file, handed to the checkpoint coordinator at the epoch's barrier, which appends
/// it to the output file once the checkpoint is complete (two-phase commit; exactly once).
pub struct FileSink {
    path: String,
    schema: Schema,
    format: Format,
    out: Option<BufWriter<File>>,
    line: String,
    staging: Option<Staging>,
}

struct Staging {
    dir: PathBuf,
    target: PathBuf,
    prefix: String,
    epoch: u64,
    /// The staged file of the current epoch (created at its first row) and its length.
    current: Option<PathBuf>,
    bytes: u64,
}

static SINKS_OPENED: AtomicU64 = AtomicU64::new(0);

impl FileSink {
    /// Opens the sink for one worker: without checkpoints it creates (truncating) the output file and
    /// writes to it; with them it stages each epoch's rows in the context's staging directory.
    pub fn create(t: &TableDef, ctx: &SinkContext) -> Result<FileSink> {
        let format =
            format_of(t).map_err(|m| RuntimeError::Connector { connector: "filesystem".into(), message: m })?;
        let path = t.option("path").unwrap_or_default().to_string();
        if let Some(dir) = std::path::Path::new(&path).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| RuntimeError::Io { path: dir.display().to_string(), err: e })?;
        }
        let io = |e| RuntimeError::Io { path: path.clone(), err: e };
        let (out, staging) = match &ctx.staging {
            None => (Some(BufWriter::new(File::create(&path).map_err(io)?)), None),
            Some(dir) => {
                let safe: String = t.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
                let n = SINKS_OPENED.fetch_add(1, Ordering::Relaxed);
                let staging = Staging {
                    dir: dir.clone(),
                    target: std::path::absolute(&path).map_err(io)?,
                    prefix: format!("{safe}-{n}-w{}", ctx.worker),
                    epoch: ctx.first_epoch,
                    current: None,
                    bytes: 0,
                };
                (None, Some(staging))
            }
        };
        Ok(FileSink { path, schema: t.schema.clone(), format, out, line: String::new(), staging })
    }

    #[expect(clippy::expect_used, reason = "a sink without an output file stages, and the file was just opened")]
    fn out(&mut self) -> Result<&mut BufWriter<File>> {
        if self.out.is_none() {
            let s = self.staging.as_mut().expect("a sink without output file is staged");
            let p = s.dir.join(format!("{}-e{:010}.part", s.prefix, s.epoch));
            let f = File::create(&p).map_err(|e| RuntimeError::Io { path: p.display().to_string(), err: e })?;
            s.current = Some(p);
            self.out = Some(BufWriter::new(f));
        }
        Ok(self.out.as_mut().expect("just opened"))
    }
}

impl SinkWriter for FileSink {
    fn write(&mut self, batch: &Batch) -> Result<()> {
        let types = self.schema.types();
        for i in 0..batch.num_rows {
            self.line.clear();
            match self.format {
                Format::Csv => {
                    for (k, (c, t)) in batch.columns.iter().zip(&types).enumerate() {
                        if k > 0 {
                            self.line.push(',');
                        }
                        if let Some(s) = text_value(&c.get(i, *t)) {
                            csv_field(&s, &mut self.line);
                        }
                    }
                }
                Format::Json => {
                    let mut obj = serde_json::Map::new();
                    for ((c, t), f) in batch.columns.iter().zip(&types).zip(&self.schema.fields) {
                        obj.insert(f.name.clone(), json_value(&c.get(i, *t)));
                    }
                    self.line = serde_json::Value::Object(obj).to_string();
                }
            }
            self.line.push('\n');
            let line = std::mem::take(&mut self.line);
            let r = self.out()?.write_all(line.as_bytes());
            r.map_err(|e| RuntimeError::Io { path: self.path.clone(), err: e })?;
            if let Some(s) = &mut self.staging {
                s.bytes += line.len() as u64;
            }
            self.line = line;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        match &mut self.out {
            Some(o) => o.flush().map_err(|e| RuntimeError::Io { path: self.path.clone(), err: e }),
            None => Ok(()),
        }
    }

    fn precommit(&mut self) -> Result<Vec<StagedFile>> {
        let Some(s) = &mut self.staging else {
            return Ok(vec![]);
        };
        s.epoch += 1;
        let Some(staged) = s.current.take() else {
            return Ok(vec![]);
        };
        #[expect(clippy::expect_used, reason = "a current staged file has its writer open")]
        let out = self.out.take().expect("a staged file is open");
        let io = |e: std::io::Error| RuntimeError::Io { path: staged.display().to_string(), err: e };
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        let bytes = std::mem::take(&mut s.bytes);
        Ok(vec![StagedFile { target: s.target.clone(), staged, bytes }])
    }

    fn output_file(&self) -> Option<PathBuf> {
        self.staging.as_ref().map(|s| s.target.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use darwin_common::{DataType, Field};
    use std::collections::BTreeMap;

    #[test]
    fn files_replay_from_a_byte_offset_and_keep_line_numbers() {
        let dir = std::env::temp_dir().join(format!("darwin-fs-seek-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("in.csv");
        std::fs::write(&path, "1\n2\n3\nx\n5\n").unwrap();
        let mut options = BTreeMap::new();
        options.insert("path".to_string(), path.display().to_string());
        options.insert("format".to_string(), "csv".to_string());
        let t = TableDef {
            name: "t".into(),
            schema: Schema::new(vec![Field::new("k", DataType::BigInt)]),
            connector: "filesystem".into(),
            options,
            watermark: None,
        };
        let mut a = FileSource::open(&t).unwrap();
        assert_eq!(a.next_batch(0, 2).unwrap().unwrap().num_rows, 2);
        let pos = a.offset(0);
        assert_eq!(pos, 4);
        let mut b = FileSource::open(&t).unwrap();
        b.seek(0, pos).unwrap();
        let batch = b.next_batch(0, 1).unwrap().unwrap();
        assert_eq!(batch.columns[0].get(0, DataType::BigInt), darwin_common::Value::BigInt(3));
        let err = b.next_batch(0, 10).unwrap_err().to_string();
        assert!(err.contains("line 4"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
