//! Writing a Parquet or Arrow IPC file: batches become Arrow record batches. Parquet: row groups
//! of `parquet.row-group-rows` rows (default 131072, so that a file's row groups spread over the
//! workers that read it), pages compressed with `parquet.compression` (`snappy`, the default as
//! in Flink; `zstd`, `gzip` or `uncompressed`). Arrow: one record batch per batch written,
//! uncompressed (the IPC file format as pyarrow's `ipc.open_file` reads it).

use crate::arrow::{arrow_schema, record_batch};
use arrow_ipc::writer::FileWriter;
use arrow_schema::SchemaRef;
use darwin_common::Schema;
use darwin_plan::TableDef;
use darwin_runtime::{Batch, Result, RuntimeError};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::fs::File;
use std::path::Path;

/// Rows per row group unless `parquet.row-group-rows` says otherwise.
const ROW_GROUP_ROWS: usize = 128 << 10;

/// Checks the Parquet sink options; the error is a sentence for the user.
pub(crate) fn validate(t: &TableDef) -> std::result::Result<(), String> {
    compression(t)?;
    row_group_rows(t)?;
    Ok(())
}

fn compression(t: &TableDef) -> std::result::Result<Compression, String> {
    match t.option("parquet.compression").map(str::to_ascii_lowercase).as_deref() {
        None | Some("snappy") => Ok(Compression::SNAPPY),
        Some("zstd") => Ok(Compression::ZSTD(ZstdLevel::default())),
        Some("gzip") => Ok(Compression::GZIP(GzipLevel::default())),
        Some("uncompressed" | "none") => Ok(Compression::UNCOMPRESSED),
        Some(other) => Err(format!("'parquet.compression' is snappy, zstd, gzip or uncompressed, not '{other}'")),
    }
}

fn row_group_rows(t: &TableDef) -> std::result::Result<usize, String> {
    match t.option("parquet.row-group-rows") {
        None => Ok(ROW_GROUP_ROWS),
        Some(v) => v
            .parse()
            .ok()
            .filter(|&n: &usize| n > 0)
            .ok_or_else(|| format!("'parquet.row-group-rows' must be a positive whole number, not '{v}'")),
    }
}

/// An open Parquet or Arrow IPC file being written.
pub(crate) struct ColumnarWriter {
    writer: Inner,
    schema: Schema,
    arrow: SchemaRef,
    /// Bytes of the Arrow record batches written (their buffers' sizes).
    arrow_bytes: u64,
}

enum Inner {
    Parquet(Box<ArrowWriter<File>>),
    Arrow(Box<FileWriter<File>>),
}

fn failed(path: &Path, e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Connector { connector: "filesystem".into(), message: format!("writing {}: {e}", path.display()) }
}

impl ColumnarWriter {
    /// Starts a file of the table's columns in `file`: Arrow IPC if `ipc`, else Parquet.
    pub fn new(t: &TableDef, file: File, path: &Path, ipc: bool) -> Result<ColumnarWriter> {
        let arrow = arrow_schema(&t.schema);
        let writer = if ipc {
            Inner::Arrow(Box::new(FileWriter::try_new(file, &arrow).map_err(|e| failed(path, e))?))
        } else {
            let props = WriterProperties::builder()
                .set_compression(compression(t).map_err(|m| failed(path, m))?)
                .set_max_row_group_row_count(Some(row_group_rows(t).map_err(|m| failed(path, m))?))
                .build();
            Inner::Parquet(Box::new(
                ArrowWriter::try_new(file, arrow.clone(), Some(props)).map_err(|e| failed(path, e))?,
            ))
        };
        Ok(ColumnarWriter { writer, schema: t.schema.clone(), arrow, arrow_bytes: 0 })
    }

    pub fn write(&mut self, batch: &Batch, path: &Path) -> Result<()> {
        if batch.num_rows == 0 {
            return Ok(());
        }
        let rb = record_batch(batch, &self.schema, &self.arrow).map_err(|m| failed(path, m))?;
        match &mut self.writer {
            Inner::Parquet(w) => w.write(&rb).map_err(|e| failed(path, e)),
            Inner::Arrow(w) => {
                self.arrow_bytes += rb.get_array_memory_size() as u64;
                w.write(&rb).map_err(|e| failed(path, e))
            }
        }
    }

    /// Bytes written so far, with those buffered for the row group being built (Parquet), or
    /// of the record batches written (Arrow).
    pub fn bytes_written(&self) -> u64 {
        match &self.writer {
            Inner::Parquet(w) => (w.bytes_written() + w.in_progress_size()) as u64,
            Inner::Arrow(_) => self.arrow_bytes,
        }
    }

    /// Writes the footer and syncs the file.
    pub fn finish(&mut self, path: &Path) -> Result<()> {
        let file = match &mut self.writer {
            Inner::Parquet(w) => {
                w.finish().map_err(|e| failed(path, e))?;
                w.inner()
            }
            Inner::Arrow(w) => {
                w.finish().map_err(|e| failed(path, e))?;
                w.get_ref()
            }
        };
        file.sync_all().map_err(|e| RuntimeError::Io { path: path.display().to_string(), err: e })
    }
}
