//! Binding: resolves names against the catalog, types every expression, recognises windows and
//! joins, and produces one logical plan per sink.

mod coerce;
mod expr;
mod functions;
mod join;
mod query;
mod scope;
mod types;
mod windows;

use crate::error::{loc, Result, SqlError};
use crate::parse::{self, Statement};
use darwin_common::{nearest, Field, FieldRole, Schema};
use darwin_plan::{ConnectorCatalog, LogicalPlan, SinkTarget, TableDef, WatermarkDef};
use sqlparser::ast;
use std::collections::{BTreeMap, HashMap};

pub use scope::Scope;

/// How many views deep a query may build on views; `darwin` binds on a thread whose stack
/// holds far more, so a deeper script gets this error, never a crash.
pub const MAX_VIEW_DEPTH: usize = 1000;

/// How deeply expressions may nest (arithmetic and function calls inside each other; chains of
/// AND, OR and `||`, and IN lists, do not nest: they take up to any number of terms).
pub const MAX_EXPR_DEPTH: usize = 10_000;

/// The result of binding a script: the catalog it declared and a plan per INSERT or SELECT.
#[derive(Debug, Clone)]
pub struct BoundScript {
    /// One (sink, plan) pair per INSERT INTO or bare SELECT, in script order.
    pub sinks: Vec<(SinkTarget, LogicalPlan)>,
    /// `SET 'key' = 'value'` statements, in order.
    pub settings: Vec<(String, String)>,
}

/// Binds a script statement by statement, keeping the tables and views it declares so far;
/// options are checked against the connector catalog.
pub struct Binder<'a> {
    connectors: &'a dyn ConnectorCatalog,
    tables: HashMap<String, TableDef>,
    views: HashMap<String, ast::Query>,
    /// Views being expanded and where each was named, to report cycles and runaway nesting.
    expanding: Vec<(String, sqlparser::tokenizer::Span)>,
    /// How many queries deep binding is (subqueries, parentheses), views aside.
    nesting: usize,
    /// What relative paths in table options resolve against.
    base_dir: std::path::PathBuf,
    /// The most HOP windows a row may fall in (`SET 'darwin.hop.max-windows-per-row'`).
    max_windows_per_row: u64,
}

impl<'a> Binder<'a> {
    /// A binder with no tables or views yet, checking tables against `connectors`.
    pub fn new(connectors: &'a dyn ConnectorCatalog) -> Self {
        let base_dir = std::env::current_dir().unwrap_or_default();
        Binder {
            connectors,
            tables: HashMap::new(),
            views: HashMap::new(),
            expanding: Vec::new(),
            nesting: 0,
            base_dir,
            max_windows_per_row: windows::DEFAULT_MAX_WINDOWS_PER_ROW,
        }
    }

    /// Relative paths in table options resolve against `base` instead of the working directory
    /// (a resumed run resolves them where the query first ran).
    pub fn with_base_dir(mut self, base: std::path::PathBuf) -> Self {
        self.base_dir = base;
        self
    }

    /// Parses and binds a whole script.
    pub fn bind_script(&mut self, sql: &str) -> Result<BoundScript> {
        let statements = parse::parse_script(sql)?;
        let mut sinks = Vec::new();
        let mut settings = Vec::new();
        for stmt in statements {
            match stmt {
                Statement::CreateTable { name, columns, watermark, options, partitioned, span } => {
                    self.create_table(name, columns, watermark, options, partitioned, span)?
                }
                Statement::CreateView { name, query } => {
                    let key = name.value.to_lowercase();
                    if self.tables.contains_key(&key) || self.views.contains_key(&key) {
                        return Err(SqlError::at(loc(name.span), format!("'{}' is already defined", name.value)));
                    }
                    self.bind_query(&query)?; // report errors at CREATE VIEW, not at first use
                    self.views.insert(key, *query);
                }
                Statement::Insert { table, query } => {
                    let plan = self.bind_insert(&table, &query)?;
                    sinks.push(plan);
                }
                Statement::Select(query) => {
                    let (plan, _) = self.bind_query(&query)?;
                    let schema = plan.schema().clone();
                    sinks.push((SinkTarget::Stdout { schema }, plan));
                }
                Statement::Set { key, value, span } => {
                    if key == windows::MAX_WINDOWS_PER_ROW_SETTING {
                        // Applies to the statements after it, like every SET in a Flink script.
                        self.max_windows_per_row = value.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                            SqlError::at(loc(span), format!("SET '{key}' needs a positive whole number, not '{value}'"))
                        })?;
                    }
                    settings.push((key, value))
                }
            }
        }
        Ok(BoundScript { sinks, settings })
    }

    fn create_table(
        &mut self,
        name: ast::Ident,
        columns: Vec<parse::ColumnDef>,
        watermark: Option<(ast::Ident, ast::Expr)>,
        options: Vec<(String, String, sqlparser::tokenizer::Span)>,
        partitioned: Vec<ast::Ident>,
        span: sqlparser::tokenizer::Span,
    ) -> Result<()> {
        let key = name.value.to_lowercase();
        if self.tables.contains_key(&key) || self.views.contains_key(&key) {
            return Err(SqlError::at(loc(name.span), format!("table '{}' is already defined", name.value)));
        }
        let mut fields: Vec<Field> = Vec::new();
        for c in &columns {
            if fields.iter().any(|f| f.name.eq_ignore_ascii_case(&c.name.value)) {
                return Err(SqlError::at(loc(c.name.span), format!("column '{}' is declared twice", c.name.value)));
            }
            let ty = types::convert_type(&c.data_type, c.span)?;
            fields.push(Field::new(c.name.value.clone(), ty));
        }
        let mut schema = Schema::new(fields);
        let watermark = match watermark {
            None => None,
            Some((col, expr)) => {
                let Some(idx) = schema.index_of(&col.value) else {
                    let hint = nearest(&col.value, schema.fields.iter().map(|f| f.name.as_str()))
                        .map(|n| format!("; did you mean '{n}'?"))
                        .unwrap_or_default();
                    return Err(SqlError::at(
                        loc(col.span),
                        format!("WATERMARK FOR names unknown column '{}'{hint}", col.value),
                    ));
                };
                if schema.fields[idx].data_type != darwin_common::DataType::Timestamp {
                    return Err(SqlError::at(
                        loc(col.span),
                        format!(
                            "WATERMARK FOR needs a TIMESTAMP(3) column, but '{}' is {}",
                            col.value, schema.fields[idx].data_type
                        ),
                    ));
                }
                let scope = Scope::from_schema(&schema, None);
                let bound = expr::ExprBinder::plain(&scope).bind(&expr)?;
                if bound.ty != darwin_common::DataType::Timestamp {
                    return Err(SqlError::at(
                        loc(col.span),
                        format!("the watermark expression must be a TIMESTAMP(3), not {}", bound.ty),
                    ));
                }
                schema.fields[idx].role = FieldRole::RowTime;
                Some(WatermarkDef { column: idx, expr: bound })
            }
        };
        let mut partition_keys = Vec::new();
        for col in &partitioned {
            let Some(idx) = schema.index_of(&col.value) else {
                return Err(SqlError::at(
                    loc(col.span),
                    format!("PARTITIONED BY names unknown column '{}'", col.value),
                ));
            };
            let name = schema.fields[idx].name.clone();
            if partition_keys.contains(&name) {
                return Err(SqlError::at(loc(col.span), format!("PARTITIONED BY names '{}' twice", col.value)));
            }
            partition_keys.push(name);
        }
        if !partition_keys.is_empty() && partition_keys.len() == schema.len() {
            return Err(SqlError::at(loc(span), "PARTITIONED BY cannot take every column: files would hold none"));
        }
        let mut opts = BTreeMap::new();
        let mut connector = None;
        for (k, v, kspan) in options {
            let k = k.to_lowercase();
            if k == "connector" {
                connector = Some(v);
            } else if opts.insert(k.clone(), v).is_some() {
                return Err(SqlError::at(loc(kspan), format!("option '{k}' is given twice")));
            }
        }
        let Some(connector) = connector else {
            return Err(SqlError::at(
                loc(span),
                format!("table '{}' needs a 'connector' option in its WITH clause", name.value),
            ));
        };
        let mut def = TableDef {
            name: name.value.clone(),
            schema,
            connector,
            options: opts,
            watermark,
            positions: None,
            ranges: Vec::new(),
            partition_keys,
        };
        self.connectors.resolve_paths(&mut def, &self.base_dir);
        self.connectors
            .validate(&def)
            .map_err(|m| SqlError::at(loc(name.span), format!("table '{}': {m}", name.value)))?;
        self.tables.insert(key, def);
        Ok(())
    }

    fn bind_insert(&mut self, table: &ast::Ident, query: &ast::Query) -> Result<(SinkTarget, LogicalPlan)> {
        let def = self.lookup_table(table)?.clone();
        if !self.connectors.is_sink(&def) {
            return Err(SqlError::at(
                loc(table.span),
                format!("connector '{}' of table '{}' cannot be written to", def.connector, def.name),
            ));
        }
        let (plan, _) = self.bind_query(query)?;
        let out = plan.schema().clone();
        if out.len() != def.schema.len() {
            return Err(SqlError::at(
                loc(table.span),
                format!(
                    "INSERT INTO '{}' selects {} column(s), but the table has {} ({})",
                    def.name,
                    out.len(),
                    def.schema.len(),
                    def.schema.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let mut exprs = Vec::new();
        let mut needs_cast = false;
        for (i, (have, want)) in out.fields.iter().zip(&def.schema.fields).enumerate() {
            let col = darwin_plan::Expr::column(i, have.data_type);
            if have.data_type == want.data_type {
                exprs.push(col);
                continue;
            }
            if !types::implicitly_castable(have.data_type, want.data_type) {
                return Err(SqlError::at(
                    loc(table.span),
                    format!(
                        "column {} of the query ('{}') is {}, but sink column '{}' is {}; add a CAST",
                        i + 1,
                        have.name,
                        have.data_type,
                        want.name,
                        want.data_type
                    ),
                ));
            }
            needs_cast = true;
            exprs.push(col.cast(want.data_type));
        }
        let plan = if needs_cast {
            let schema =
                Schema::new(def.schema.fields.iter().map(|f| Field::new(f.name.clone(), f.data_type)).collect());
            LogicalPlan::Project { input: Box::new(plan), exprs, schema }
        } else {
            plan
        };
        Ok((SinkTarget::Table(def), plan))
    }

    fn lookup_table(&self, name: &ast::Ident) -> Result<&TableDef> {
        self.tables.get(&name.value.to_lowercase()).ok_or_else(|| self.unknown_relation(name))
    }

    fn unknown_relation(&self, name: &ast::Ident) -> SqlError {
        let names = self.tables.values().map(|t| t.name.as_str()).chain(self.views.keys().map(String::as_str));
        let hint = nearest(&name.value, names).map(|n| format!("; did you mean '{n}'?")).unwrap_or_default();
        SqlError::at(loc(name.span), format!("unknown table or view '{}'{hint}", name.value))
    }
}
