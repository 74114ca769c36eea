//! Reading columnar files (Parquet, Arrow IPC): the units of all the table's files (Parquet row
//! groups, Arrow record batches), in file order, are dealt to the partitions in turn (unit `u`
//! to partition `u mod P`), so every worker decodes. Only the columns the query reads are
//! fetched and decoded; columns are matched by name (exactly, else ignoring case) and read into
//! the declared types where they fit (`crate::arrow::fits`). A partition's offset is the index
//! of its current unit (high 32 bits) and the rows of it already returned (low 32), so a restore
//! reopens that unit and skips those rows; the checksum covers the sizes of the units read, so
//! a file rewritten since the checkpoint is refused.

use super::files_of;
use crate::arrow::column_of;
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use darwin_common::{DataType, Schema, Value};
use darwin_plan::TableDef;
use darwin_runtime::{Batch, Result, RuntimeError, SourceReader};
use std::cmp::Ordering;

/// Record batches of one unit.
pub(super) type Batches = Box<dyn Iterator<Item = std::result::Result<RecordBatch, String>> + Send>;

/// One opened file of a columnar format: its schema, its units and a reader for each.
pub(super) trait ColumnarFile: Send {
    /// The file's columns.
    fn schema(&self) -> SchemaRef;
    /// A fingerprint of each unit (its size, its rows), in file order: what checksums cover.
    fn unit_fingerprints(&self) -> Vec<u64>;
    /// What a unit is called in messages (`row group`).
    fn unit_name(&self) -> &'static str;
    /// Per unit, the smallest and largest value of column `root` read as `ty`, where the file
    /// records them exactly (None for a unit without; empty for a format without statistics).
    fn unit_min_max(&self, _root: usize, _ty: DataType) -> Vec<Option<(Value, Value)>> {
        Vec::new()
    }
    /// The record batches of unit `unit` with the columns `roots` (ascending positions in
    /// `schema`), from its `skip`-th row, of at most `batch` rows (or more: the source cuts).
    fn read(&self, unit: usize, roots: &[usize], skip: usize, batch: usize) -> std::result::Result<Batches, String>;
}

/// A file, and where the table's columns are in it.
struct Opened {
    path: String,
    file: Box<dyn ColumnarFile>,
    /// The columns read, ascending positions in the file's schema.
    roots: Vec<usize>,
    /// For each of the table's columns, its position in a projected record batch.
    columns: Vec<usize>,
}

/// A unit: a row group or record batch of a file.
#[derive(Clone, Copy)]
struct Unit {
    file: usize,
    index: usize,
    fingerprint: u64,
}

#[derive(Default)]
struct Part {
    units: Vec<Unit>,
    /// The unit being read (or next to read).
    next: usize,
    /// Rows of `units[next]` already returned.
    row_in_unit: u64,
    reader: Option<Batches>,
    /// Rows the reader gave beyond what the last call could take.
    pending: Option<RecordBatch>,
}

/// Reads a filesystem table of columnar files (see the module's doc).
pub struct ColumnarSource {
    table: String,
    schema: Schema,
    files: Vec<Opened>,
    parts: Vec<Part>,
}

pub(super) fn conn(message: String) -> RuntimeError {
    RuntimeError::Connector { connector: "filesystem".into(), message }
}

impl ColumnarSource {
    /// Opens every file of the table with `open` (their footers only) and deals their units to
    /// `partitions` partitions; fails on a file that cannot be read or lacks a column.
    pub(super) fn open(
        t: &TableDef,
        partitions: usize,
        open: fn(&str) -> std::result::Result<Box<dyn ColumnarFile>, String>,
    ) -> Result<ColumnarSource> {
        let path = t.option("path").unwrap_or_default().to_string();
        let paths = files_of(t).map_err(|e| RuntimeError::Io { path: path.clone(), err: e })?;
        let n = partitions.max(1);
        let mut parts: Vec<Part> = (0..n).map(|_| Part::default()).collect();
        let (mut files, mut dealt) = (Vec::new(), 0);
        for p in paths {
            let path = p.display().to_string();
            let file = crate::arrow::guarded(|| open(&path)).map_err(|e| conn(format!("table '{}': {e}", t.name)))?;
            let (roots, columns) = locate(&t.name, &t.schema, &path, &file.schema())?;
            let skip = skipped_units(t, file.as_ref(), &roots, &columns);
            for (index, fingerprint) in file.unit_fingerprints().into_iter().enumerate() {
                if skip.get(index) == Some(&true) {
                    continue;
                }
                parts[dealt % n].units.push(Unit { file: files.len(), index, fingerprint });
                dealt += 1;
            }
            files.push(Opened { path, file, roots, columns });
        }
        Ok(ColumnarSource { table: t.name.clone(), schema: t.schema.clone(), files, parts })
    }

    fn name(&self, file: usize) -> String {
        format!("table '{}' ({})", self.table, self.files[file].path)
    }

    fn malformed(&self, u: Unit, row: u64, column: &str, message: String) -> RuntimeError {
        RuntimeError::Malformed {
            source_name: self.name(u.file),
            position: format!("{} {}, row {row}", self.files[u.file].file.unit_name(), u.index),
            column: column.into(),
            message,
        }
    }

    /// The next record batch of the partition (at most `max_rows` rows), its unit and first row.
    fn next_record_batch(&mut self, p: usize, max_rows: usize) -> Result<Option<(RecordBatch, Unit, u64)>> {
        loop {
            let part = &mut self.parts[p];
            let Some(&u) = part.units.get(part.next) else { return Ok(None) };
            let at = part.row_in_unit;
            if let Some(rb) = part.pending.take() {
                return Ok(Some(self.take(p, rb, max_rows, u, at)));
            }
            if part.reader.is_none() {
                let f = &self.files[u.file];
                let reader = crate::arrow::guarded(|| f.file.read(u.index, &f.roots, at as usize, max_rows.max(1)))
                    .map_err(|m| self.malformed(u, at, "*", m))?;
                self.parts[p].reader = Some(reader);
            }
            let part = &mut self.parts[p];
            let next = part.reader.as_mut().map(|r| crate::arrow::guarded(|| r.next().transpose()));
            match next.and_then(std::result::Result::transpose) {
                Some(Ok(rb)) => return Ok(Some(self.take(p, rb, max_rows, u, at))),
                Some(Err(m)) => return Err(self.malformed(u, at, "*", m)),
                None => (part.next, part.row_in_unit, part.reader) = (part.next + 1, 0, None),
            }
        }
    }

    /// The first `max_rows` rows of `rb`, keeping the rest for the next call.
    fn take(&mut self, p: usize, rb: RecordBatch, max_rows: usize, u: Unit, at: u64) -> (RecordBatch, Unit, u64) {
        let part = &mut self.parts[p];
        let rb = if rb.num_rows() > max_rows {
            part.pending = Some(rb.slice(max_rows, rb.num_rows() - max_rows));
            rb.slice(0, max_rows)
        } else {
            rb
        };
        part.row_in_unit += rb.num_rows() as u64;
        (rb, u, at)
    }
}

/// Per unit, whether the statistics of a column show that no row of it is in the table's
/// `ranges` (see `TableDef::ranges`): such units are not read at all.
fn skipped_units(t: &TableDef, file: &dyn ColumnarFile, roots: &[usize], columns: &[usize]) -> Vec<bool> {
    let mut skip = Vec::new();
    for r in &t.ranges {
        let Some(c) = t.schema.fields.iter().position(|f| f.name == r.column) else { continue };
        let stats = crate::arrow::guarded(|| Ok(file.unit_min_max(roots[columns[c]], t.schema.fields[c].data_type)))
            .unwrap_or_default();
        skip.resize(skip.len().max(stats.len()), false);
        for (u, s) in stats.iter().enumerate() {
            let Some((min, max)) = s else { continue };
            let below = r.lo.as_ref().is_some_and(|(lo, inc)| match max.total_cmp(lo) {
                Ordering::Less => true,
                Ordering::Equal => !inc,
                Ordering::Greater => false,
            });
            let above = r.hi.as_ref().is_some_and(|(hi, inc)| match min.total_cmp(hi) {
                Ordering::Greater => true,
                Ordering::Equal => !inc,
                Ordering::Less => false,
            });
            skip[u] |= below || above;
        }
    }
    skip
}

/// Finds each of the table's columns in a file's schema and checks that its type fits; returns
/// the positions to read (ascending) and, per table column, its position among them.
fn locate(table: &str, schema: &Schema, path: &str, arrow: &SchemaRef) -> Result<(Vec<usize>, Vec<usize>)> {
    let wanted =
        crate::arrow::locate(schema, arrow, path, "stores").map_err(|m| conn(format!("table '{table}': {m}")))?;
    let mut roots = wanted.clone();
    roots.sort_unstable();
    roots.dedup();
    // A projected batch holds the chosen columns in file order.
    let columns = wanted.iter().map(|r| roots.binary_search(r).unwrap_or(0)).collect();
    Ok((roots, columns))
}

impl SourceReader for ColumnarSource {
    fn partitions(&self) -> usize {
        self.parts.len()
    }

    fn next_batch(&mut self, p: usize, max_rows: usize) -> Result<Option<Batch>> {
        let Some((rb, u, at)) = self.next_record_batch(p, max_rows)? else { return Ok(None) };
        let mut columns = Vec::with_capacity(self.schema.fields.len());
        for (f, &i) in self.schema.fields.iter().zip(&self.files[u.file].columns) {
            let col = column_of(rb.column(i).as_ref(), f.data_type)
                .map_err(|e| self.malformed(u, at + e.row.unwrap_or(0) as u64, &f.name, e.message))?;
            columns.push(col);
        }
        Ok(Some(Batch::new(columns, rb.num_rows())))
    }

    fn offset(&self, p: usize) -> u64 {
        let part = &self.parts[p];
        (part.next as u64) << 32 | part.row_in_unit
    }

    fn seek(&mut self, p: usize, offset: u64) -> Result<()> {
        let part = &mut self.parts[p];
        let (next, row) = ((offset >> 32) as usize, offset & 0xffff_ffff);
        if next > part.units.len() || (next == part.units.len() && row > 0) {
            return Err(conn(format!("table '{}' changed since the checkpoint: it has fewer parts", self.table)));
        }
        (part.next, part.row_in_unit, part.reader, part.pending) = (next, row, None, None);
        Ok(())
    }

    /// CRC-32 of the fingerprints of the units read from (the current one included).
    fn check(&self, p: usize) -> u64 {
        let part = &self.parts[p];
        let read = part.next + usize::from(part.row_in_unit > 0);
        let mut crc = crc32fast::Hasher::new();
        for u in part.units.iter().take(read) {
            crc.update(&u.fingerprint.to_le_bytes());
        }
        u64::from(crc.finalize())
    }

    fn describe(&self, p: usize) -> String {
        let part = &self.parts[p];
        match part.units.get(part.next).or(part.units.last()) {
            Some(u) => self.name(u.file),
            None => format!("table '{}' (partition {p}: nothing to read)", self.table),
        }
    }
}

#[cfg(test)]
#[path = "columnar_tests.rs"]
mod tests;
