//! Named, typed columns, with the event-time role a column plays.

use crate::DataType;
use serde::{Deserialize, Serialize};

/// What a column means for event time. Roles survive plain column references, so a renamed
/// `window_end AS endtime` is still known to be a window end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum FieldRole {
    #[default]
    Plain,
    /// The column a WATERMARK is declared on (a time attribute).
    RowTime,
    WindowStart,
    WindowEnd,
    /// `window_end - 1 ms`: the time attribute of a window's rows.
    WindowTime,
}

impl FieldRole {
    pub fn is_time(self) -> bool {
        self != FieldRole::Plain
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub data_type: DataType,
    pub role: FieldRole,
}

impl Field {
    pub fn new(name: impl Into<String>, data_type: DataType) -> Self {
        Field { name: name.into(), data_type, role: FieldRole::Plain }
    }
    pub fn with_role(mut self, role: FieldRole) -> Self {
        self.role = role;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Schema {
    pub fields: Vec<Field>,
}

impl Schema {
    pub fn new(fields: Vec<Field>) -> Self {
        Schema { fields }
    }
    pub fn len(&self) -> usize {
        self.fields.len()
    }
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name.eq_ignore_ascii_case(name))
    }
    pub fn types(&self) -> Vec<DataType> {
        self.fields.iter().map(|f| f.data_type).collect()
    }
    pub fn find_role(&self, role: FieldRole) -> Option<usize> {
        self.fields.iter().position(|f| f.role == role)
    }
}
