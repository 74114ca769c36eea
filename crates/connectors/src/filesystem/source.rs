//! Reading CSV or JSON-lines files: each file is a partition, read line by line from a byte
//! offset that checkpoints record; a malformed record fails the run with file, line and column,
//! or is skipped and counted with the format's ignore-parse-errors option.

use super::{files_of, flag, format_of, Format};
use crate::format::{from_json, parse_field, split_csv};
use darwin_common::{Schema, Value};
use darwin_plan::TableDef;
use darwin_runtime::{Batch, Result, RuntimeError, SourceReader};
use std::fs::File;
use std::io::{BufRead, BufReader};

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
