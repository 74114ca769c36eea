//! Binding of windows: the TUMBLE/HOP/SESSION table functions, group windows in GROUP BY, and
//! the checks that keep SESSION windows where the runtime can execute them.

use super::coerce::interval;
use super::expr::{span_of, ExprBinder};
use super::functions::call_args;
use super::scope::Scope;
use super::Binder;
use crate::error::{loc, Result, SqlError};
use darwin_common::{Field, FieldRole};
use darwin_plan::{Expr, LogicalPlan, WindowKind};
use sqlparser::ast::{self, Spanned};

impl Binder<'_> {
    pub(super) fn bind_window_tvf(&mut self, e: &ast::Expr) -> Result<(LogicalPlan, Scope)> {
        let span = span_of(e);
        let ast::Expr::Function(f) = e else {
            return Err(SqlError::at(loc(span), "TABLE(...) expects a window function: TUMBLE, HOP or SESSION"));
        };
        let name = f.name.to_string().to_uppercase();
        if name == "CUMULATE" {
            return Err(SqlError::at(
                loc(span),
                "CUMULATE windows are not supported yet; Darwin has TUMBLE, HOP and SESSION",
            ));
        }
        if !matches!(name.as_str(), "TUMBLE" | "HOP" | "SESSION") {
            return Err(SqlError::at(
                loc(span),
                format!("unknown table function {name}; Darwin has TUMBLE, HOP and SESSION"),
            ));
        }
        let args = call_args(f)?;
        let Some(ast::Expr::Identifier(table)) = args.first() else {
            return Err(SqlError::at(loc(span), format!("the first argument of {name} must be TABLE <name>")));
        };
        let (input, scope) = self.bind_relation_name(table)?;
        let mut rest = &args[1..];
        let mut partition_by = Vec::new();
        if let Some(ast::Expr::Function(p)) = rest.first() {
            if p.name.to_string().eq_ignore_ascii_case("PARTITION_BY") {
                if name != "SESSION" {
                    return Err(SqlError::at(loc(span), "PARTITION BY is only allowed in SESSION windows"));
                }
                for a in call_args(p)? {
                    let b = ExprBinder::plain(&scope).bind(a)?;
                    partition_by.push(
                        b.as_column()
                            .ok_or_else(|| SqlError::at(loc(span_of(a)), "PARTITION BY takes column names"))?,
                    );
                }
                rest = &rest[1..];
            }
        }
        let Some(ast::Expr::Function(d)) = rest.first() else {
            return Err(SqlError::at(loc(span), format!("{name} needs DESCRIPTOR(time_column) after the table")));
        };
        if !d.name.to_string().eq_ignore_ascii_case("DESCRIPTOR") {
            return Err(SqlError::at(
                loc(d.name.span()),
                format!("{name} needs DESCRIPTOR(time_column) after the table"),
            ));
        }
        let dargs = call_args(d)?;
        let [col] = dargs.as_slice() else {
            return Err(SqlError::at(loc(d.name.span()), "DESCRIPTOR takes exactly one time column"));
        };
        let time_col = time_attribute(col, &scope)?;
        let intervals = rest[1..].iter().map(|a| interval_arg(a)).collect::<Result<Vec<_>>>()?;
        let window = window_kind(&name, &intervals, span)?;
        self.check_windows_per_row(window, span)?;
        let mut schema = input.schema().clone();
        schema
            .fields
            .push(Field::new("window_start", darwin_common::DataType::Timestamp).with_role(FieldRole::WindowStart));
        schema
            .fields
            .push(Field::new("window_end", darwin_common::DataType::Timestamp).with_role(FieldRole::WindowEnd));
        schema
            .fields
            .push(Field::new("window_time", darwin_common::DataType::Timestamp).with_role(FieldRole::WindowTime));
        let qual = table.value.clone();
        let scope = Scope::from_schema(&schema, Some(&qual));
        Ok((LogicalPlan::WindowTvf { input: Box::new(input), window, time_col, partition_by, schema }, scope))
    }
}

fn time_attribute(col: &ast::Expr, scope: &Scope) -> Result<usize> {
    let b = ExprBinder::plain(scope).bind(col)?;
    let Some(c) = b.as_column() else {
        return Err(SqlError::at(loc(span_of(col)), "the window's time column must be a column"));
    };
    let sc = &scope.columns[c];
    if !sc.role.is_time() {
        return Err(SqlError::at(
            loc(span_of(col)),
            format!(
                "column '{}' is not an event-time attribute: declare WATERMARK FOR {} in its table, or use window_time",
                sc.name, sc.name
            ),
        ));
    }
    Ok(c)
}

fn interval_arg(a: &ast::Expr) -> Result<i64> {
    match a {
        ast::Expr::Interval(iv) => interval(iv, span_of(a)),
        other => Err(SqlError::at(loc(span_of(other)), format!("expected an INTERVAL, found '{other}'"))),
    }
}

fn window_kind(name: &str, intervals: &[i64], span: sqlparser::tokenizer::Span) -> Result<WindowKind> {
    let positive = |v: i64| -> Result<i64> {
        if v <= 0 {
            return Err(SqlError::at(loc(span), format!("{name} intervals must be positive")));
        }
        Ok(v)
    };
    match (name, intervals) {
        ("TUMBLE", [size]) => Ok(WindowKind::Tumble { size: positive(*size)? }),
        ("HOP", [slide, size]) => {
            let (slide, size) = (positive(*slide)?, positive(*size)?);
            if size % slide != 0 {
                return Err(SqlError::at(loc(span), "HOP size must be a whole multiple of the slide"));
            }
            Ok(WindowKind::Hop { slide, size })
        }
        ("SESSION", [gap]) => Ok(WindowKind::Session { gap: positive(*gap)? }),
        ("TUMBLE", _) => Err(SqlError::at(loc(span), "TUMBLE takes one INTERVAL (the size)")),
        ("HOP", _) => Err(SqlError::at(loc(span), "HOP takes two INTERVALs: the slide, then the size")),
        _ => Err(SqlError::at(loc(span), "SESSION takes one INTERVAL (the gap)")),
    }
}

/// The most HOP windows a row may fall in (size / slide) unless a script raises it with
/// `SET 'darwin.hop.max-windows-per-row'`: each row is counted in (or, as a table function,
/// copied into) that many windows, so output and work grow by that factor.
pub const DEFAULT_MAX_WINDOWS_PER_ROW: u64 = 100_000;

/// The setting that raises [`DEFAULT_MAX_WINDOWS_PER_ROW`].
pub const MAX_WINDOWS_PER_ROW_SETTING: &str = "darwin.hop.max-windows-per-row";

impl super::Binder<'_> {
    /// Refuses a HOP whose size/slide ratio is above the limit, saying where the line is and why.
    pub(super) fn check_windows_per_row(&self, window: WindowKind, span: sqlparser::tokenizer::Span) -> Result<()> {
        let WindowKind::Hop { slide, size } = window else { return Ok(()) };
        let per_row = (size / slide) as u64;
        if per_row <= self.max_windows_per_row {
            return Ok(());
        }
        Err(SqlError::at(
            loc(span),
            format!(
                "this HOP puts every row in {per_row} windows (size / slide), above the limit of {}: each row is \
                 counted in, and a window table function copies it into, that many windows, so output and work grow \
                 {per_row}-fold (3 rows would give {} result rows); use a longer slide, or raise the limit with \
                 SET '{MAX_WINDOWS_PER_ROW_SETTING}' = 'N'",
                self.max_windows_per_row,
                per_row.saturating_mul(3)
            ),
        ))
    }
}

/// `GROUP BY TUMBLE(ts, INTERVAL ...)` and friends.
pub(super) fn group_window(f: &ast::Function, name: &str, scope: &Scope) -> Result<(WindowKind, usize, String)> {
    let args = call_args(f)?;
    let span = f.name.span();
    let Some((col, rest)) = args.split_first() else {
        return Err(SqlError::at(loc(span), format!("{name} needs a time column and intervals")));
    };
    let time_col = time_attribute(col, scope)?;
    let intervals = rest.iter().map(|a| interval_arg(a)).collect::<Result<Vec<_>>>()?;
    Ok((window_kind(name, &intervals, span)?, time_col, name.to_string()))
}

pub(super) fn check_session_aggregate(
    input: &LogicalPlan,
    group: &[Expr],
    aggs: &[darwin_plan::AggCall],
    span: sqlparser::tokenizer::Span,
) -> Result<()> {
    let LogicalPlan::WindowTvf { input: tvf_in, .. } = input else {
        return Ok(());
    };
    let n = tvf_in.schema().len();
    let schema = input.schema();
    let has = |role| group.iter().any(|g| g.as_column().is_some_and(|c| schema.fields[c].role == role));
    let plain =
        group.iter().filter(|g| g.as_column().is_none_or(|c| c < n)).all(|g| g.columns().iter().all(|c| *c < n))
            && aggs.iter().all(|a| a.arg.iter().chain(a.filter.iter()).all(|e| e.columns().iter().all(|c| *c < n)));
    if !(has(FieldRole::WindowStart) && has(FieldRole::WindowEnd) && plain) {
        return Err(SqlError::at(
            loc(span),
            "a SESSION window must be aggregated directly: GROUP BY window_start, window_end and the partition keys",
        ));
    }
    Ok(())
}

/// SESSION windows exist only inside an aggregate: reject any other use.
pub(super) fn check_sessions(plan: &LogicalPlan, parent_is_agg: bool, span: sqlparser::tokenizer::Span) -> Result<()> {
    match plan {
        LogicalPlan::WindowTvf { window: WindowKind::Session { .. }, .. } if !parent_is_agg => Err(SqlError::at(
            loc(span),
            "a SESSION window table must be aggregated directly (GROUP BY window_start, window_end, ...)",
        )),
        LogicalPlan::Scan { .. } => Ok(()),
        LogicalPlan::Aggregate { input, .. } => check_sessions(input, true, span),
        LogicalPlan::Filter { input, .. }
        | LogicalPlan::Project { input, .. }
        | LogicalPlan::WindowTvf { input, .. } => check_sessions(input, false, span),
        LogicalPlan::Join { left, right, .. } => {
            check_sessions(left, false, span)?;
            check_sessions(right, false, span)
        }
    }
}
