//! Named, typed columns, with the event-time role a column plays.

use crate::DataType;
use serde::{Deserialize, Serialize};

/// What a column means for event time. Roles survive plain column references, so a renamed
/// `window_end AS endtime` is still known to be a window end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum FieldRole {
    /// An ordinary column with no event-time meaning.
    #[default]
    Plain,
    /// The column a WATERMARK is declared on (a time attribute).
    RowTime,
    /// A window's inclusive start (`window_start`), a TIMESTAMP(3).
    WindowStart,
    /// A window's exclusive end (`window_end`), a TIMESTAMP(3).
    WindowEnd,
    /// `window_end - 1 ms`: the time attribute of a window's rows.
    WindowTime,
}

impl FieldRole {
    /// True for every role except `Plain`: the column carries event time.
    pub fn is_time(self) -> bool {
        self != FieldRole::Plain
    }
}

/// One column of a schema: its name, SQL type and event-time role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Column name (declared, or given by the query); lookups compare it case-insensitively.
    pub name: String,
    /// SQL type of the column's values.
    pub data_type: DataType,
    /// What the column means for event time (`Plain` for most columns).
    pub role: FieldRole,
}

impl Field {
    /// A column with the `Plain` role.
    pub fn new(name: impl Into<String>, data_type: DataType) -> Self {
        Field { name: name.into(), data_type, role: FieldRole::Plain }
    }
    /// The same column with its event-time role replaced by `role`.
    pub fn with_role(mut self, role: FieldRole) -> Self {
        self.role = role;
        self
    }
}

/// The ordered columns of a table, a stream or an operator's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Schema {
    /// Columns in position order; a column's index here is its index in a row or batch.
    pub fields: Vec<Field>,
}

impl Schema {
    /// A schema with these columns, in this order.
    pub fn new(fields: Vec<Field>) -> Self {
        Schema { fields }
    }
    /// Number of columns.
    pub fn len(&self) -> usize {
        self.fields.len()
    }
    /// True when the schema has no columns.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
    /// Position of the first column named `name` (case-insensitive), or None if there is none.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name.eq_ignore_ascii_case(name))
    }
    /// The SQL type of every column, in position order.
    pub fn types(&self) -> Vec<DataType> {
        self.fields.iter().map(|f| f.data_type).collect()
    }
    /// Position of the first column with this role, or None if no column has it.
    pub fn find_role(&self, role: FieldRole) -> Option<usize> {
        self.fields.iter().position(|f| f.role == role)
    }
}
