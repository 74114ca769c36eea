//! Table definitions from `CREATE TABLE`, and the interface to the connector registry.

use crate::Expr;
use darwin_common::{Schema, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `WATERMARK FOR column AS expr`: the watermark is the running maximum of `expr`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatermarkDef {
    /// Index in the table's schema of the TIMESTAMP(3) column the watermark is declared on.
    pub column: usize,
    /// The watermark expression (a TIMESTAMP(3)), evaluated over the table's columns for each row.
    pub expr: Expr,
}

/// A table declared by `CREATE TABLE`: its columns, its connector and options, and its watermark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableDef {
    /// The table's name as declared.
    pub name: String,
    /// Declared columns, in order; the WATERMARK column has the `RowTime` role.
    pub schema: Schema,
    /// Value of the `connector` option (`filesystem`, `nexmark`, `ysb`, `print`, `blackhole`).
    pub connector: String,
    /// Options other than `connector`, keys lower-cased.
    pub options: BTreeMap<String, String>,
    /// The `WATERMARK FOR` clause; None for a table without event time.
    pub watermark: Option<WatermarkDef>,
    /// For a source read by position (CSV) that the planner narrowed to the columns its query
    /// uses: where each column is in a record. None: column `i` is field `i` of `schema.len()`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positions: Option<FieldPositions>,
    /// Ranges the query's filter keeps of some columns (a conjunction), for a source that can
    /// skip whole parts of its input by their statistics (Parquet row groups). Rows outside
    /// are still filtered by the query: this only saves reading them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<ColumnRange>,
    /// The `PARTITIONED BY` columns of a table written as a directory (`col=value/` paths).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition_keys: Vec<String>,
}

/// Values of a column a filter keeps: those between `lo` and `hi` (either may be open).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnRange {
    /// The column's name.
    pub column: String,
    /// The lowest value kept, and whether it is itself kept.
    pub lo: Option<(Value, bool)>,
    /// The highest value kept, and whether it is itself kept.
    pub hi: Option<(Value, bool)>,
}

/// Where a narrowed table's columns are in records that hold more fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldPositions {
    /// Fields in every record (the declared columns).
    pub width: usize,
    /// The field each column of the narrowed schema is read from, in order.
    pub columns: Vec<usize>,
}

impl TableDef {
    /// A table without event time, as declared (no narrowing, ranges or partitions yet).
    pub fn new(
        name: impl Into<String>,
        schema: Schema,
        connector: impl Into<String>,
        options: BTreeMap<String, String>,
    ) -> TableDef {
        TableDef {
            name: name.into(),
            schema,
            connector: connector.into(),
            options,
            watermark: None,
            positions: None,
            ranges: Vec::new(),
            partition_keys: Vec::new(),
        }
    }

    /// The value of option `key` (give it lower-cased), or None when the table does not set it.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(String::as_str)
    }
}

/// What the planner needs to know about connectors without depending on them.
pub trait ConnectorCatalog {
    /// Checks the connector name and options of a table; the error is a sentence for the user.
    fn validate(&self, table: &TableDef) -> Result<(), String>;
    /// Whether reading the table ends (a file, a generator with a fixed number of events).
    fn is_bounded(&self, table: &TableDef) -> bool;
    /// Whether the table can be written to.
    fn is_sink(&self, table: &TableDef) -> bool;
    /// Number of partitions the source would be read with at the given parallelism.
    fn partitions(&self, table: &TableDef, parallelism: usize) -> usize;
    /// Whether the source finds its declared columns by name, so it can be asked for fewer
    /// (files read by position cannot).
    fn finds_columns_by_name(&self, _table: &TableDef) -> bool {
        false
    }
    /// Whether the source reads columns by their position in a record and can skip the fields
    /// a query does not use (`TableDef::positions`).
    fn reads_by_position(&self, _table: &TableDef) -> bool {
        false
    }
    /// Whether every worker writes its own part of the sink's output (no gather to one worker).
    fn writes_in_parallel(&self, _table: &TableDef) -> bool {
        false
    }
    /// Whether the source can skip parts of its input by column statistics (`TableDef::ranges`).
    fn skips_by_statistics(&self, _table: &TableDef) -> bool {
        false
    }
    /// Makes the paths a table's options name absolute, resolved against `base`, so that the
    /// plan names the same files whatever the working directory of a later run.
    fn resolve_paths(&self, _table: &mut TableDef, _base: &Path) {}
    /// The files or directories a table reads or writes (absolute once `resolve_paths` ran);
    /// the planner refuses a sink that writes where a source reads or another sink writes.
    fn paths(&self, _table: &TableDef) -> Vec<PathBuf> {
        Vec::new()
    }
}
