//! Reading CSV or JSON-lines files: each file is a partition, read record by record from a byte
//! offset that checkpoints record. A CSV record is a line, or several where a quoted field holds
//! line breaks (as Darwin's CSV sink writes them); a JSON record is a line. A UTF-8 byte-order
//! mark at the start of a file is skipped. A malformed record (bad field, invalid UTF-8, an
//! unterminated quote) fails the run with file, line and column, or is skipped and counted with
//! the format's ignore-parse-errors option. A checkpoint holds, with each file's offset, a CRC-32
//! of the bytes read up to it: a restore refuses a file whose consumed part changed.

use super::csv::{CsvDecoder, RecordError};
use super::{files_of, flag, format_of, Format};
use darwin_columnar::column::ColumnBuilder;
use darwin_common::Schema;
use darwin_plan::{FieldPositions, TableDef};
use darwin_runtime::{Batch, Result, RuntimeError, SourceReader};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};

/// A record longer than this is refused rather than read into memory (an unterminated quote
/// would otherwise take the rest of the file as one field).
const MAX_RECORD_BYTES: usize = 64 << 20;

/// The UTF-8 byte-order mark some tools write at the start of a text file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

struct FilePartition {
    path: String,
    reader: Option<BufReader<File>>,
    /// Lines read so far (a multi-line record counts each of its lines).
    line_no: u64,
    /// Bytes read so far: the position of the next record.
    offset: u64,
    /// CRC-32 of the bytes `0..offset`.
    crc: crc32fast::Hasher,
}

impl FilePartition {
    fn open(path: String) -> Result<FilePartition> {
        let file = File::open(&path).map_err(|e| RuntimeError::Io { path: path.clone(), err: e })?;
        let reader = Some(BufReader::with_capacity(1 << 16, file));
        Ok(FilePartition { path, reader, line_no: 0, offset: 0, crc: crc32fast::Hasher::new() })
    }

    fn io(&self, err: std::io::Error) -> RuntimeError {
        RuntimeError::Io { path: self.path.clone(), err }
    }

    /// Reads the next record's bytes into `buf` (its line breaks included): a line, or for CSV
    /// as many lines as a quoted field spans. Returns the number of the record's first line,
    /// or None at the end of the file.
    fn next_record(&mut self, csv: bool, buf: &mut Vec<u8>) -> Result<Option<u64>> {
        buf.clear();
        let first = self.line_no + 1;
        loop {
            let Some(reader) = self.reader.as_mut() else { return Ok(None) };
            let start = buf.len();
            let n = reader.read_until(b'\n', buf).map_err(|e| RuntimeError::Io { path: self.path.clone(), err: e })?;
            if n == 0 {
                self.reader = None;
                return Ok((!buf.is_empty()).then_some(first));
            }
            self.crc.update(&buf[start..]);
            self.offset += n as u64;
            self.line_no += 1;
            if !csv || csv_record_complete(buf) {
                return Ok(Some(first));
            }
            if buf.len() > MAX_RECORD_BYTES {
                return Err(RuntimeError::Malformed {
                    source_name: self.path.clone(),
                    position: format!("line {first}"),
                    column: "*".into(),
                    message: format!("a record longer than {} MiB (an unterminated quote?)", MAX_RECORD_BYTES >> 20),
                });
            }
        }
    }
}

/// Whether `record` ends outside a quoted field (the quoting `split_csv` reads: a quote opens a
/// quoted field only at the start of a field; `""` inside one is a quote).
fn csv_record_complete(record: &[u8]) -> bool {
    // Most records hold no quote at all: one vectorised search settles them.
    if !record.contains(&b'"') {
        return true;
    }
    let (mut quoted, mut at_start) = (false, true);
    let mut bytes = record.iter().peekable();
    while let Some(&b) = bytes.next() {
        if quoted {
            if b == b'"' {
                if bytes.peek() == Some(&&b'"') {
                    bytes.next();
                } else {
                    quoted = false;
                }
            }
        } else if b == b'"' && at_start {
            quoted = true;
            at_start = false;
        } else {
            at_start = b == b',';
        }
    }
    !quoted
}

/// Reads a filesystem table: one partition per file, each record decoded as CSV or a JSON object.
pub struct FileSource {
    table: String,
    schema: Schema,
    format: Format,
    header: bool,
    ignore_errors: bool,
    parts: Vec<FilePartition>,
    skipped: u64,
    record: Vec<u8>,
    csv: CsvDecoder,
    /// Where the columns are in a CSV record the planner narrowed.
    positions: Option<FieldPositions>,
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
        let parts = files.into_iter().map(|f| FilePartition::open(f.display().to_string())).collect::<Result<_>>()?;
        Ok(FileSource {
            table: t.name.clone(),
            schema: t.schema.clone(),
            format,
            header,
            ignore_errors,
            parts,
            skipped: 0,
            record: Vec::new(),
            csv: CsvDecoder::default(),
            positions: t.positions.clone(),
        })
    }

    /// Decodes the record in `self.record` (`bom`: it starts the file and may carry a
    /// byte-order mark) onto `columns`; an error names the column (`*`: the whole record) and
    /// leaves nothing of the record in them.
    fn decode(&mut self, bom: bool, columns: &mut [ColumnBuilder]) -> std::result::Result<(), RecordError> {
        let bytes = if bom { self.record.strip_prefix(BOM).unwrap_or(&self.record) } else { &self.record };
        let text = std::str::from_utf8(bytes)
            .map_err(|e| ("*".to_string(), format!("invalid UTF-8 at byte {} of the record", e.valid_up_to())))?;
        let line = text.trim_end_matches(['\n', '\r']);
        match self.format {
            Format::Csv => self.csv.decode(line, &self.schema, self.positions.as_ref(), columns),
            Format::Json => super::json::decode(line, &self.schema, columns),
        }
    }
}

impl SourceReader for FileSource {
    fn partitions(&self) -> usize {
        self.parts.len()
    }

    fn next_batch(&mut self, p: usize, max_rows: usize) -> Result<Option<Batch>> {
        let capacity = max_rows.min(1 << 14);
        let mut columns: Vec<ColumnBuilder> =
            self.schema.fields.iter().map(|f| ColumnBuilder::new(f.data_type, capacity)).collect();
        let mut rows = 0;
        let csv = self.format == Format::Csv;
        while rows < max_rows {
            let mut record = std::mem::take(&mut self.record);
            let starts_file = self.parts[p].offset == 0;
            let first_line = self.parts[p].next_record(csv, &mut record);
            self.record = record;
            let Some(line_no) = first_line? else { break };
            let blank = self.record.iter().all(|b| b.is_ascii_whitespace());
            if (line_no == 1 && self.header) || blank {
                continue;
            }
            match self.decode(starts_file, &mut columns) {
                Ok(()) => rows += 1,
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
        if rows == 0 && self.parts[p].reader.is_none() {
            return Ok(None);
        }
        Ok(Some(Batch::new(columns.into_iter().map(ColumnBuilder::finish).collect(), rows)))
    }

    fn offset(&self, p: usize) -> u64 {
        self.parts[p].offset
    }

    fn check(&self, p: usize) -> u64 {
        u64::from(self.parts[p].crc.clone().finalize())
    }

    fn describe(&self, p: usize) -> String {
        format!("table '{}' ({})", self.table, self.parts[p].path)
    }

    fn position(&self, p: usize) -> u64 {
        self.parts[p].line_no
    }

    fn position_unit(&self) -> &'static str {
        "line"
    }

    /// Reopens the file at `offset`, reading its first `offset` bytes once to count their lines
    /// (error messages count from the file's start) and to checksum them (`check`).
    fn seek(&mut self, p: usize, offset: u64) -> Result<()> {
        let path = self.parts[p].path.clone();
        let file = File::open(&path).map_err(|e| RuntimeError::Io { path: path.clone(), err: e })?;
        let mut part = FilePartition { path, reader: None, line_no: 0, offset: 0, crc: crc32fast::Hasher::new() };
        let mut head = file.take(offset);
        let mut chunk = vec![0u8; 1 << 16];
        loop {
            let n = head.read(&mut chunk).map_err(|e| part.io(e))?;
            if n == 0 {
                break;
            }
            part.crc.update(&chunk[..n]);
            part.line_no += chunk[..n].iter().filter(|b| **b == b'\n').count() as u64;
            part.offset += n as u64;
        }
        part.reader = Some(BufReader::with_capacity(1 << 16, head.into_inner()));
        self.parts[p] = part;
        Ok(())
    }

    fn skipped(&self) -> u64 {
        self.skipped
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
            positions: None,
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
