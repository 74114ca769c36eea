//! Parquet files for the columnar source: a unit is a row group; only the projected column
//! chunks are fetched, and a restore starts inside a row group with a row offset (pages before
//! it are skipped where the page index allows).

use super::columnar::{Batches, ColumnarFile, ColumnarSource};
use crate::arrow::column_of;
use arrow_schema::SchemaRef;
use darwin_common::{DataType, Value};
use darwin_plan::TableDef;
use darwin_runtime::Result;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use std::fs::File;

/// A Parquet file's path and footer.
struct ParquetFile {
    path: String,
    meta: ArrowReaderMetadata,
}

/// Reads a filesystem table of Parquet files (see `columnar`).
pub fn open(t: &TableDef, partitions: usize) -> Result<ColumnarSource> {
    ColumnarSource::open(t, partitions, open_file)
}

fn open_file(path: &str) -> std::result::Result<Box<dyn ColumnarFile>, String> {
    let file = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
        .map_err(|e| format!("{path} is not a readable Parquet file: {e}"))?;
    let len = file.metadata().map_err(|e| format!("{path}: {e}"))?.len();
    check_chunks(&meta, len).map_err(|e| format!("{path} is not a readable Parquet file: {e}"))?;
    Ok(Box::new(ParquetFile { path: path.to_string(), meta }))
}

/// Every column chunk the footer describes lies inside the file's `len` bytes (the reader
/// trusts these numbers: a negative one panics in it).
fn check_chunks(meta: &ArrowReaderMetadata, len: u64) -> std::result::Result<(), String> {
    for (g, rg) in meta.metadata().row_groups().iter().enumerate() {
        for (c, col) in rg.columns().iter().enumerate() {
            let start = col.dictionary_page_offset().unwrap_or(col.data_page_offset());
            let parts = [start, col.data_page_offset(), col.compressed_size()];
            let end = start.checked_add(col.compressed_size());
            if parts.iter().any(|&x| x < 0) || end.is_none_or(|e| e as u64 > len) {
                return Err(format!("column chunk {c} of row group {g} lies outside the file"));
            }
        }
    }
    Ok(())
}

impl ColumnarFile for ParquetFile {
    fn schema(&self) -> SchemaRef {
        self.meta.schema().clone()
    }

    fn unit_fingerprints(&self) -> Vec<u64> {
        let groups = self.meta.metadata().row_groups();
        groups.iter().map(|rg| (rg.num_rows() as u64).rotate_left(40) ^ rg.compressed_size() as u64).collect()
    }

    fn unit_name(&self) -> &'static str {
        "row group"
    }

    /// The row groups' statistics, converted to Arrow by the column's logical type and then
    /// to the SQL type as values are; a bound a writer truncated (not exact) is not used.
    fn unit_min_max(&self, root: usize, ty: DataType) -> Vec<Option<(Value, Value)>> {
        let schema = self.meta.schema();
        let groups = self.meta.metadata().row_groups();
        let name = schema.field(root).name();
        let Ok(conv) = StatisticsConverter::try_new(name, schema, self.meta.parquet_schema()) else { return vec![] };
        let (Ok(mins), Ok(maxes)) = (conv.row_group_mins(groups), conv.row_group_maxes(groups)) else { return vec![] };
        let exact =
            |a: parquet::errors::Result<arrow_array::BooleanArray>| a.ok().map(|a| a.iter().collect::<Vec<_>>());
        let (Some(min_exact), Some(max_exact)) =
            (exact(conv.row_group_is_min_value_exact(groups)), exact(conv.row_group_is_max_value_exact(groups)))
        else {
            return vec![];
        };
        let (Ok(mins), Ok(maxes)) = (column_of(mins.as_ref(), ty), column_of(maxes.as_ref(), ty)) else {
            return vec![];
        };
        (0..groups.len())
            .map(|g| {
                let known = mins.is_valid(g) && maxes.is_valid(g);
                let exact = min_exact.get(g) == Some(&Some(true)) && max_exact.get(g) == Some(&Some(true));
                (known && exact).then(|| (mins.get(g, ty), maxes.get(g, ty)))
            })
            .collect()
    }

    fn read(&self, unit: usize, roots: &[usize], skip: usize, batch: usize) -> std::result::Result<Batches, String> {
        let file = File::open(&self.path).map_err(|e| format!("{}: {e}", self.path))?;
        let mask = ProjectionMask::roots(self.meta.parquet_schema(), roots.iter().copied());
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.meta.clone())
            .with_row_groups(vec![unit])
            .with_projection(mask)
            .with_batch_size(batch)
            .with_offset(skip)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Box::new(reader.map(|r| r.map_err(|e| e.to_string()))))
    }
}
