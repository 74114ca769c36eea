//! The `filesystem` connector: reads CSV or JSON-lines files (a file, or every file of a
//! directory, one partition each) and writes one file. Malformed records fail the run with
//! file, line and column, unless the format's ignore-parse-errors option skips and counts them.

#[cfg(feature = "arrow")]
mod arrow_file;
#[cfg(feature = "arrow")]
mod columnar;
#[cfg(feature = "arrow")]
mod columnar_writer;
mod compression;
mod csv;
mod dir_sink;
mod json;
#[cfg(feature = "arrow")]
mod parquet;
mod partition;
mod partitioned;
mod sink;
mod source;
mod text_writer;

use darwin_plan::TableDef;
use std::path::PathBuf;

pub use dir_sink::{is_directory, DirSink};
pub use sink::FileSink;
pub use source::FileSource;

/// Opens a filesystem table for reading as `partitions` partitions (see `partitions`).
pub fn open_source(t: &TableDef, partitions: usize) -> darwin_runtime::Result<Box<dyn darwin_runtime::SourceReader>> {
    if !t.partition_keys.is_empty() {
        return Ok(Box::new(partitioned::PartitionedSource::open(t)?));
    }
    #[cfg(feature = "arrow")]
    match format_of(t) {
        Ok(Format::Parquet) => return Ok(Box::new(parquet::open(t, partitions)?)),
        Ok(Format::Arrow) => return Ok(Box::new(arrow_file::open(t, partitions)?)),
        _ => {}
    }
    Ok(Box::new(FileSource::open(t, partitions)?))
}

#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Format {
    Csv,
    Json,
    /// Parquet files (built with the `arrow` feature only).
    Parquet,
    /// Arrow IPC files (built with the `arrow` feature only).
    Arrow,
}

impl Format {
    /// Whether files of this format are columnar (read by `columnar`, written whole).
    pub fn columnar(self) -> bool {
        matches!(self, Format::Parquet | Format::Arrow)
    }
}

pub(crate) fn format_of(t: &TableDef) -> std::result::Result<Format, String> {
    match t.option("format") {
        Some("csv") => Ok(Format::Csv),
        Some("json") => Ok(Format::Json),
        Some("parquet") if cfg!(feature = "arrow") => Ok(Format::Parquet),
        Some("arrow") if cfg!(feature = "arrow") => Ok(Format::Arrow),
        Some(f @ ("parquet" | "arrow")) => {
            Err(format!("this build of Darwin has no '{f}' format (built without the 'arrow' feature)"))
        }
        Some(other) => Err(format!("unknown format '{other}'; valid formats: csv, json, parquet, arrow")),
        None => Err("the 'format' option is required (csv, json, parquet or arrow)".into()),
    }
}

pub(crate) fn flag(t: &TableDef, key: &str) -> std::result::Result<bool, String> {
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
    split_bytes(t)?;
    #[cfg(feature = "arrow")]
    columnar_writer::validate(t)?;
    dir_sink::validate(t)?;
    if t.schema.fields.iter().any(|f| f.data_type == darwin_common::DataType::Interval) {
        return Err("INTERVAL columns cannot be stored in files".into());
    }
    Ok(())
}

/// Files are read in chunks of this many bytes by several partitions when there are fewer
/// files than workers (`source.split-bytes`; 0 reads each file whole).
pub const DEFAULT_SPLIT_BYTES: u64 = 32 << 20;

/// The table's `source.split-bytes`.
pub(crate) fn split_bytes(t: &TableDef) -> std::result::Result<u64, String> {
    match t.option("source.split-bytes") {
        None => Ok(DEFAULT_SPLIT_BYTES),
        Some(v) => v.parse().map_err(|_| format!("'source.split-bytes' must be a whole number of bytes, not '{v}'")),
    }
}

/// How many partitions read the table at `parallelism`: each file whole, or, with fewer files
/// than workers, each file by as many splits as it takes to give every worker one. The count
/// depends on the number of files only (not their sizes), so a file that grows between a
/// checkpoint and a restart is read by the same splits. Compressed files are not split.
pub fn partitions(t: &TableDef, parallelism: usize) -> usize {
    if !t.partition_keys.is_empty() {
        // One partition per file under the partition directories.
        return partitioned::leaves(t).map_or(1, |l| l.len().max(1));
    }
    if format_of(t).is_ok_and(Format::columnar) {
        // Row groups and record batches are dealt to every worker.
        return parallelism.max(1);
    }
    let files = files_of(t).unwrap_or_default();
    let splittable = files.iter().all(|f| compression::Compression::of(f).splittable());
    let files = files.len().max(1);
    let split = split_bytes(t).unwrap_or(0) > 0 && files < parallelism && splittable;
    if split {
        files * parallelism.div_ceil(files)
    } else {
        files
    }
}

/// `path` made absolute against `base` (the directory relative paths of a script resolve
/// against), with `.` components removed; `..` and symbolic links are kept as written.
pub fn absolute(base: &std::path::Path, path: &str) -> PathBuf {
    let joined = base.join(path);
    joined.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect()
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
