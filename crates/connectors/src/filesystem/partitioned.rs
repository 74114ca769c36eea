//! Reading a `PARTITIONED BY` table's directory, as a directory sink writes it: the files under
//! `col=value/...` sub-directories, each read whole as one partition by the format's own source
//! (the files hold the other columns), with the partition columns filled from the path (values
//! unescaped as Hive escapes them; `__DEFAULT_PARTITION__` is NULL). Hidden files and files
//! outside a full `col=value` path are not read.

use super::open_source;
use crate::format::parse_field;
use darwin_columnar::column::{Batch, Column};
use darwin_common::{DataType, Schema, Value};
use darwin_plan::TableDef;
use darwin_runtime::{Result, RuntimeError, SourceReader, SpanTeller};
use std::path::{Path, PathBuf};

/// A file of the table and its partition values (per partition column, as written in the path).
pub(super) struct Leaf {
    pub path: PathBuf,
    values: Vec<Option<String>>,
}

fn conn(message: String) -> RuntimeError {
    RuntimeError::Connector { connector: "filesystem".into(), message }
}

/// The files under the table's directory whose path names every partition column, in order.
pub(super) fn leaves(t: &TableDef) -> std::io::Result<Vec<Leaf>> {
    let mut out = Vec::new();
    walk(Path::new(t.option("path").unwrap_or_default()), &t.partition_keys, &mut Vec::new(), &mut out)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn walk(dir: &Path, keys: &[String], values: &mut Vec<Option<String>>, out: &mut Vec<Leaf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let path = e.path();
        match keys.get(values.len()) {
            Some(key) if path.is_dir() => {
                let Some((k, v)) = name.split_once('=') else { continue };
                if unescape(k) != *key {
                    continue;
                }
                values.push((v != "__DEFAULT_PARTITION__").then(|| unescape(v)));
                walk(&path, keys, values, out)?;
                values.pop();
            }
            None if path.is_file() => out.push(Leaf { path, values: values.clone() }),
            _ => {}
        }
    }
    Ok(())
}

/// Undoes the sink's `%XX` escapes.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex =
            b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(x)) => {
                out.push(x);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A partition column's value for a file, and its type.
type KeyValue = (Value, DataType);

/// Reads a partitioned table: one partition per file (see the module's doc).
pub struct PartitionedSource {
    /// Per file: its reader, and the partition columns' values as columns are built.
    files: Vec<(Box<dyn SourceReader>, Vec<KeyValue>)>,
    /// For each column of the table's (narrowed) schema: where it comes from.
    layout: Vec<Slot>,
}

#[derive(Clone, Copy)]
enum Slot {
    /// Column `i` of the file's reader.
    File(usize),
    /// Partition value `i`.
    Key(usize),
}

impl PartitionedSource {
    /// Opens every file under the table's directory (see `leaves`). A CSV table is not
    /// narrowed (`positions` is None: its files hold the declared columns but the partition
    /// columns, in order); the other formats find columns by name.
    pub fn open(t: &TableDef) -> Result<PartitionedSource> {
        let path = t.option("path").unwrap_or_default().to_string();
        let leaves = leaves(t).map_err(|e| RuntimeError::Io { path, err: e })?;
        let mut layout = Vec::new();
        let mut inner_fields = Vec::new();
        for f in &t.schema.fields {
            match t.partition_keys.iter().position(|k| *k == f.name) {
                Some(k) => layout.push(Slot::Key(k)),
                None => {
                    layout.push(Slot::File(inner_fields.len()));
                    inner_fields.push(f.clone());
                }
            }
        }
        // (Without file columns, e.g. `SELECT dt, COUNT(*)`, the readers still count rows.)
        let inner_schema = Schema::new(inner_fields);
        let mut files = Vec::new();
        for leaf in leaves {
            let mut inner = t.clone();
            inner.partition_keys = Vec::new();
            inner.options.insert("path".into(), leaf.path.display().to_string());
            inner.options.insert("source.split-bytes".into(), "0".into());
            inner.schema = inner_schema.clone();
            inner.watermark = None;
            inner.positions = None;
            let values = partition_values(t, &leaf)?;
            files.push((open_source(&inner, 1)?, values));
        }
        Ok(PartitionedSource { files, layout })
    }
}

/// The partition columns' values of a file, parsed as their declared types (Varchar for one
/// the query does not read).
fn partition_values(t: &TableDef, leaf: &Leaf) -> Result<Vec<KeyValue>> {
    let mut values = Vec::new();
    for (k, key) in t.partition_keys.iter().enumerate() {
        let ty = t.schema.fields.iter().find(|f| &f.name == key).map_or(DataType::Varchar, |f| f.data_type);
        let v = match &leaf.values[k] {
            None => Value::Null,
            Some(text) => parse_field(text, true, ty)
                .map_err(|m| conn(format!("{}: partition value {key}={text}: {m}", leaf.path.display())))?,
        };
        values.push((v, ty));
    }
    Ok(values)
}

impl SourceReader for PartitionedSource {
    fn partitions(&self) -> usize {
        self.files.len()
    }

    fn next_batch(&mut self, p: usize, max_rows: usize) -> Result<Option<Batch>> {
        let (reader, values) = &mut self.files[p];
        let Some(b) = reader.next_batch(0, max_rows)? else { return Ok(None) };
        let columns: Vec<Column> = self
            .layout
            .iter()
            .map(|slot| match *slot {
                Slot::File(i) => b.columns[i].clone(),
                Slot::Key(k) => Column::constant(&values[k].0, values[k].1, b.num_rows),
            })
            .collect();
        Ok(Some(Batch::new(columns, b.num_rows)))
    }

    fn offset(&self, p: usize) -> u64 {
        self.files[p].0.offset(0)
    }

    fn seek(&mut self, p: usize, offset: u64) -> Result<()> {
        self.files[p].0.seek(0, offset)
    }

    fn check(&self, p: usize) -> u64 {
        self.files[p].0.check(0)
    }

    fn describe(&self, p: usize) -> String {
        self.files[p].0.describe(0)
    }

    fn position(&self, p: usize) -> u64 {
        self.files[p].0.position(0)
    }

    fn span_teller(&self) -> Option<SpanTeller> {
        None
    }

    fn skipped(&self) -> u64 {
        self.files.iter().map(|(r, _)| r.skipped()).sum()
    }
}
