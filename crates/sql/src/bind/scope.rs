//! Name resolution: the columns visible at a point of a query, with their table qualifiers.

use crate::error::{loc, Result, SqlError};
use darwin_common::{nearest, DataType, FieldRole, Schema};
use sqlparser::ast::Ident;

#[derive(Debug, Clone)]
pub struct ScopeColumn {
    pub qualifier: Option<String>,
    pub name: String,
    pub ty: DataType,
    pub role: FieldRole,
}

/// Columns in the order of the plan's output schema.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The visible columns, one per column of the plan's output, in order.
    pub columns: Vec<ScopeColumn>,
}

impl Scope {
    /// The columns of `schema`, each qualified by `qualifier` (lower-cased) when one is given.
    pub fn from_schema(schema: &Schema, qualifier: Option<&str>) -> Scope {
        Scope {
            columns: schema
                .fields
                .iter()
                .map(|f| ScopeColumn {
                    qualifier: qualifier.map(str::to_lowercase),
                    name: f.name.clone(),
                    ty: f.data_type,
                    role: f.role,
                })
                .collect(),
        }
    }

    /// The same columns, all qualified by `qualifier` (a FROM alias) in place of their old qualifier.
    pub fn requalify(mut self, qualifier: &str) -> Scope {
        for c in &mut self.columns {
            c.qualifier = Some(qualifier.to_lowercase());
        }
        self
    }

    /// These columns followed by `other`'s (a join's left side, then its right).
    pub fn concat(mut self, other: Scope) -> Scope {
        self.columns.extend(other.columns);
        self
    }

    /// Number of visible columns.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// True when no column is visible.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Resolves `name` or `qualifier.name` to a column index.
    pub fn resolve(&self, parts: &[Ident]) -> Result<usize> {
        let (qual, name) = match parts {
            [name] => (None, name),
            [q, name] => (Some(q), name),
            [.., q, name] => (Some(q), name),
            [] => return Err(SqlError::Unlocated { message: "empty column name".into() }),
        };
        let matches: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.name.eq_ignore_ascii_case(&name.value)
                    && qual.is_none_or(|q| c.qualifier.as_deref() == Some(q.value.to_lowercase().as_str()))
            })
            .map(|(i, _)| i)
            .collect();
        match matches.as_slice() {
            [i] => Ok(*i),
            [] => {
                if let Some(q) = qual {
                    if !self.columns.iter().any(|c| c.qualifier.as_deref() == Some(q.value.to_lowercase().as_str())) {
                        let quals: Vec<&str> = self.columns.iter().filter_map(|c| c.qualifier.as_deref()).collect();
                        let hint =
                            nearest(&q.value, quals).map(|n| format!("; did you mean '{n}'?")).unwrap_or_default();
                        return Err(SqlError::at(loc(q.span), format!("unknown table alias '{}'{hint}", q.value)));
                    }
                }
                let hint = nearest(&name.value, self.columns.iter().map(|c| c.name.as_str()))
                    .map(|n| format!("; did you mean '{n}'?"))
                    .unwrap_or_default();
                Err(SqlError::at(loc(name.span), format!("unknown column '{}'{hint}", name.value)))
            }
            _ => Err(SqlError::at(
                loc(name.span),
                format!("column '{}' is ambiguous: qualify it with a table alias", name.value),
            )),
        }
    }
}
