//! Reading CSV or JSON-lines files: each file is a partition, read record by record from a byte
//! offset that checkpoints record. A CSV record is a line, or several where a quoted field holds
//! line breaks (as Darwin's CSV sink writes them); a JSON record is a line. A UTF-8 byte-order
//! mark at the start of a file is skipped. A malformed record (bad field, invalid UTF-8, an
//! unterminated quote) fails the run with file, line and column, or is skipped and counted with
//! the format's ignore-parse-errors option. A checkpoint holds, with each file's offset, a CRC-32
//! of the bytes read up to it: a restore refuses a file whose consumed part changed.

use super::csv::{CsvDecoder, RecordError};
use super::partition::{FilePartition, Split};
use super::{files_of, flag, format_of, split_bytes, Format};
use darwin_columnar::column::ColumnBuilder;
use darwin_common::Schema;
use darwin_plan::{FieldPositions, TableDef};
use darwin_runtime::{Batch, Result, RuntimeError, SourceReader};

/// The UTF-8 byte-order mark some tools write at the start of a text file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Where a split's record at byte `offset` is, as a user finds it: its line, counted only now
/// (splits do not count lines as they read).
fn split_position(path: &str, offset: u64) -> String {
    match lines_before(path, offset) {
        Some(n) => format!("line {}", n + 1),
        None => format!("byte {offset}"),
    }
}

/// The line breaks in the first `offset` bytes of the file (an error's slow path).
fn lines_before(path: &str, offset: u64) -> Option<u64> {
    let file = std::fs::File::open(path).ok()?;
    let mut head = std::io::BufReader::with_capacity(1 << 20, std::io::Read::take(file, offset));
    let mut n = 0u64;
    loop {
        let buf = std::io::BufRead::fill_buf(&mut head).ok()?;
        if buf.is_empty() {
            return Some(n);
        }
        n += memchr::memchr_iter(b'\n', buf).count() as u64;
        let len = buf.len();
        std::io::BufRead::consume(&mut head, len);
    }
}

/// Whether `record` ends outside a quoted field (the quoting `split_csv` reads: a quote opens a
/// quoted field only at the start of a field; `""` inside one is a quote).
pub(super) fn csv_record_complete(record: &[u8]) -> bool {
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
    /// Opens every file of the table (see `files_of`) as `partitions` partitions: each file
    /// read whole, or by `partitions / files` splits (see `partitions`); fails on a bad option
    /// or a file that cannot be opened.
    pub fn open(t: &TableDef, partitions: usize) -> Result<FileSource> {
        let format =
            format_of(t).map_err(|m| RuntimeError::Connector { connector: "filesystem".into(), message: m })?;
        let conn = |m: String| RuntimeError::Connector { connector: "filesystem".into(), message: m };
        if format.columnar() {
            return Err(conn("Parquet and Arrow files are read by the columnar source".into()));
        }
        let header = flag(t, "csv.header").map_err(conn)?;
        let ignore_errors =
            flag(t, if format == Format::Csv { "csv.ignore-parse-errors" } else { "json.ignore-parse-errors" })
                .map_err(conn)?;
        let path = t.option("path").unwrap_or_default().to_string();
        let files = files_of(t).map_err(|e| RuntimeError::Io { path: path.clone(), err: e })?;
        let splits = (partitions / files.len().max(1)).max(1) as u64;
        if files.len() as u64 * splits != partitions.max(1) as u64 && !files.is_empty() {
            return Err(conn(format!(
                "{path} now has {} files; the plan was made for {partitions} partitions (plan the query again)",
                files.len()
            )));
        }
        let bytes = split_bytes(t).map_err(conn)?;
        let mut parts = Vec::new();
        for f in files {
            for index in 0..splits {
                let split = if splits > 1 { Split { index, of: splits, bytes } } else { Split::WHOLE };
                parts.push(FilePartition::open(f.display().to_string(), split)?);
            }
        }
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
            // `open` refuses Parquet and Arrow, which have their own source.
            Format::Json | Format::Parquet | Format::Arrow => super::json::decode(line, &self.schema, columns),
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
                    let part = &self.parts[p];
                    return Err(RuntimeError::Malformed {
                        source_name: format!("table '{}' ({})", self.table, part.path),
                        position: if part.is_split() {
                            split_position(&part.path, line_no - 1)
                        } else {
                            format!("line {line_no}")
                        },
                        column,
                        message,
                    });
                }
            }
        }
        if rows == 0 && self.parts[p].is_done() {
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
        self.parts[p].offset
    }

    /// Byte offsets told as lines, counted in the file when an error asks.
    fn span_teller(&self) -> Option<darwin_runtime::SpanTeller> {
        let parts: Vec<(String, String)> =
            (0..self.parts.len()).map(|p| (self.describe(p), self.parts[p].path.clone())).collect();
        Some(std::sync::Arc::new(move |p, from, to| {
            let Some((name, path)) = parts.get(p) else { return format!("partition {p}") };
            match (lines_before(path, from), lines_before(path, to)) {
                (Some(a), Some(b)) => format!("{name}, lines {} to {}", a + 1, b.max(a + 1)),
                _ => format!("{name}, bytes {from} to {to}"),
            }
        }))
    }

    /// Reopens the partition at `offset`, reading the records before it again to count their
    /// lines (error messages count from the file's start) and to checksum them (`check`).
    fn seek(&mut self, p: usize, offset: u64) -> Result<()> {
        self.parts[p] = self.parts[p].reopened(offset, self.format == Format::Csv)?;
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
        let t = TableDef::new("t", Schema::new(vec![Field::new("k", DataType::BigInt)]), "filesystem", options);
        let mut a = FileSource::open(&t, 1).unwrap();
        assert_eq!(a.next_batch(0, 2).unwrap().unwrap().num_rows, 2);
        let pos = a.offset(0);
        assert_eq!(pos, 4);
        let mut b = FileSource::open(&t, 1).unwrap();
        b.seek(0, pos).unwrap();
        let batch = b.next_batch(0, 1).unwrap().unwrap();
        assert_eq!(batch.columns[0].get(0, DataType::BigInt), darwin_common::Value::BigInt(3));
        let err = b.next_batch(0, 10).unwrap_err().to_string();
        assert!(err.contains("line 4"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn table(path: &std::path::Path, format: &str, split_bytes: u64) -> TableDef {
        let mut options = BTreeMap::new();
        options.insert("path".to_string(), path.display().to_string());
        options.insert("format".to_string(), format.to_string());
        options.insert("source.split-bytes".to_string(), split_bytes.to_string());
        TableDef::new(
            "t",
            Schema::new(vec![Field::new("id", DataType::BigInt), Field::new("s", DataType::Varchar)]),
            "filesystem",
            options,
        )
    }

    fn rows_of(b: &Batch) -> Vec<(i64, String)> {
        (0..b.num_rows)
            .map(|i| match b.row(i, &[DataType::BigInt, DataType::Varchar]).as_slice() {
                [id, darwin_common::Value::Str(s)] => (id.as_i64().unwrap(), s.clone()),
                [id, _] => (id.as_i64().unwrap(), String::new()),
                _ => unreachable!("two columns"),
            })
            .collect()
    }

    /// Every row of a partition, in order, and its position after each batch.
    fn drain(src: &mut FileSource, p: usize, batch: usize) -> (Vec<(i64, String)>, Vec<u64>) {
        let (mut rows, mut offsets) = (Vec::new(), Vec::new());
        while let Some(b) = src.next_batch(p, batch).unwrap() {
            rows.extend(rows_of(&b));
            offsets.push(src.offset(p));
        }
        (rows, offsets)
    }

    /// Random files of awkward records (quoted line breaks, commas, escaped quotes, blank
    /// lines, no final line break) read by 2 to 4 splits with chunks of 1 to 300 bytes: the
    /// splits together read every record once, each in file order; a split reopened at any
    /// position it reported reads on as it would have, with the same checksum.
    #[test]
    fn splits_read_every_record_once_in_order_and_replay_from_their_offsets() {
        let dir = std::env::temp_dir().join(format!("darwin-fs-split-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut rnd = darwin_common::xorshift(0x5b1i64 as u64 | 1 << 40);
        let pieces = ["a", "b,c", "q\"\"q", "line\nbreak", "\r\n", "", "é", "long text long text long"];
        for case in 0..60 {
            let json = case % 3 == 2;
            let mut text = String::new();
            let n = 1 + rnd() % 120;
            for id in 0..n {
                let s: String = (0..rnd() % 4).map(|_| pieces[(rnd() % pieces.len() as u64) as usize]).collect();
                if json {
                    text.push_str(&format!("{{\"id\": {id}, \"s\": {}}}\n", serde_json::Value::from(s.clone())));
                } else {
                    text.push_str(&format!("{id},\"{}\"\n", s.replace('"', "\"\"")));
                }
                if rnd().is_multiple_of(10) {
                    text.push('\n');
                }
            }
            if rnd().is_multiple_of(2) {
                text.pop();
            }
            let path = dir.join(format!("f{case}"));
            std::fs::write(&path, &text).unwrap();
            let format = if json { "json" } else { "csv" };
            let whole = drain(&mut FileSource::open(&table(&path, format, 0), 1).unwrap(), 0, 1000).0;
            assert_eq!(whole.len() as u64, n, "case {case}");
            let splits = 2 + (rnd() % 3) as usize;
            let bytes = 1 + rnd() % 300;
            let t = table(&path, format, bytes);
            let mut src = FileSource::open(&t, splits).unwrap();
            let mut all = Vec::new();
            for p in 0..splits {
                let batch = 1 + (rnd() % 5) as usize;
                let (rows, offsets) = drain(&mut src, p, batch);
                assert!(rows.windows(2).all(|w| w[0].0 < w[1].0), "case {case} split {p}: out of order");
                // Reopened at a position it reported, the split reads the rest again.
                if let Some(&at) = offsets.get((rnd() % (offsets.len() as u64 + 1)) as usize) {
                    let mut again = FileSource::open(&t, splits).unwrap();
                    again.seek(p, at).unwrap();
                    let mut first = FileSource::open(&t, splits).unwrap();
                    let mut before = Vec::new();
                    while first.offset(p) < at {
                        before.extend(drain_one(&mut first, p));
                    }
                    assert_eq!(again.check(p), first.check(p), "case {case} split {p}: checksum at {at}");
                    let rest = drain(&mut again, p, batch).0;
                    assert_eq!([before, rest].concat(), rows, "case {case} split {p}: replay from {at}");
                }
                all.extend(rows);
            }
            all.sort();
            assert_eq!(all, whole, "case {case}: {splits} splits of {bytes} bytes");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A file cut shorter while it is read is an error naming it, not an early end.
    #[test]
    fn a_file_that_shrinks_while_read_is_an_error() {
        let dir = std::env::temp_dir().join(format!("darwin-fs-shrink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("in.csv");
        let text: String = (0..100_000).map(|i| format!("{i},\"row {i}\"\n")).collect();
        std::fs::write(&path, &text).unwrap();
        // Read whole by one partition, and by two splits of 64 KiB chunks.
        for (split, parts) in [(0, 1), (1 << 16, 2)] {
            let t = table(&path, "csv", split);
            let mut src = FileSource::open(&t, parts).unwrap();
            assert!(src.next_batch(0, 10).unwrap().is_some());
            std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(200_000).unwrap();
            let mut errors = Vec::new();
            for p in 0..parts {
                loop {
                    match src.next_batch(p, 1000) {
                        Ok(Some(_)) => continue,
                        Ok(None) => break,
                        Err(e) => {
                            errors.push(e.to_string());
                            break;
                        }
                    }
                }
            }
            assert_eq!(errors.len(), parts, "split {split}: every partition fails: {errors:?}");
            assert!(errors.iter().all(|e| e.contains("in.csv shrank while it was read")), "{errors:?}");
            std::fs::write(&path, &text).unwrap();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// One batch of one row.
    fn drain_one(src: &mut FileSource, p: usize) -> Vec<(i64, String)> {
        src.next_batch(p, 1).unwrap().map(|b| rows_of(&b)).unwrap_or_default()
    }
}
