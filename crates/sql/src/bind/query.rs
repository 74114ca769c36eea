//! Binding of queries: FROM (tables, views, subqueries, window TVFs), WHERE, GROUP BY with
//! windows, HAVING and the SELECT list.

use super::expr::{span_of, AggCtx, ExprBinder};
use super::functions::{call_args, is_aggregate, window_property};
use super::scope::Scope;
use super::windows::{check_session_aggregate, check_sessions, group_window};
use super::Binder;
use crate::error::{loc, Result, SqlError};
use crate::parse::single_ident;
use darwin_common::{Field, FieldRole, Schema};
use darwin_plan::{Expr, JoinType, LogicalPlan, WindowKind};
use sqlparser::ast::{self, Spanned};

impl Binder<'_> {
    /// Binds a query (with its WITH clause) to a logical plan, and returns the scope of its output columns.
    pub fn bind_query(&mut self, q: &ast::Query) -> Result<(LogicalPlan, Scope)> {
        let span = q.body.span();
        if q.order_by.is_some() {
            return Err(SqlError::at(
                loc(span),
                "ORDER BY is not supported on streams yet (top-N comes in a later release)",
            ));
        }
        if q.limit_clause.is_some() || q.fetch.is_some() {
            return Err(SqlError::at(loc(span), "LIMIT/FETCH are not supported on streams yet"));
        }
        let mut added = Vec::new();
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                let key = cte.alias.name.value.to_lowercase();
                if self.views.contains_key(&key) || self.tables.contains_key(&key) {
                    return Err(SqlError::at(
                        loc(cte.alias.name.span),
                        format!("'{}' is already defined", cte.alias.name.value),
                    ));
                }
                self.views.insert(key.clone(), (*cte.query).clone());
                added.push(key);
            }
        }
        let result = match q.body.as_ref() {
            ast::SetExpr::Select(s) => self.bind_select(s),
            ast::SetExpr::Query(inner) => self.bind_nested(inner),
            ast::SetExpr::SetOperation { op, set_quantifier, .. } => {
                let what = format!("{op} {set_quantifier}").trim().to_uppercase();
                Err(SqlError::at(loc(span), format!("{what} is not supported yet")))
            }
            other => Err(SqlError::at(
                loc(span),
                format!(
                    "'{}' is not supported yet; only SELECT queries are",
                    other.to_string().split_whitespace().next().unwrap_or("")
                ),
            )),
        };
        for k in added {
            self.views.remove(&k);
        }
        let (plan, scope) = result?;
        // Checked once over the statement's whole plan, not again at every nested query or view:
        // that would cost the plan's size at every level.
        if self.expanding.is_empty() && self.nesting == 0 {
            check_sessions(&plan, false, span)?;
        }
        Ok((plan, scope))
    }

    /// A query inside another (a subquery in FROM, parentheses): bound like any, checked as part
    /// of its statement.
    fn bind_nested(&mut self, q: &ast::Query) -> Result<(LogicalPlan, Scope)> {
        self.nesting += 1;
        let r = self.bind_query(q);
        self.nesting -= 1;
        r
    }

    fn bind_select(&mut self, s: &ast::Select) -> Result<(LogicalPlan, Scope)> {
        let span = s.select_token.0.span;
        if s.from.is_empty() {
            return Err(SqlError::at(loc(span), "SELECT needs a FROM clause"));
        }
        if s.qualify.is_some() || !s.named_window.is_empty() {
            return Err(SqlError::at(loc(span), "QUALIFY and WINDOW clauses are not supported yet"));
        }
        // FROM, with WHERE handed to the outermost join so it can find keys and time bounds.
        let mut where_used = false;
        let (mut plan, mut scope) = self.bind_table_with_joins(
            &s.from[0],
            if s.from.len() == 1 { s.selection.as_ref() } else { None },
            &mut where_used,
        )?;
        for (i, twj) in s.from.iter().enumerate().skip(1) {
            let right = self.bind_table_with_joins(twj, None, &mut false)?;
            let last = i == s.from.len() - 1;
            let (p, sc, remaining) = self.join(
                (plan, scope),
                right,
                JoinType::Inner,
                None,
                if last { s.selection.as_ref() } else { None },
                span_of_twj(twj),
            )?;
            if last && s.selection.is_some() {
                where_used = true;
            }
            plan = apply_filter(p, remaining);
            scope = sc;
        }
        if let (Some(w), false) = (&s.selection, where_used) {
            let pred = ExprBinder::plain(&scope).bind_predicate(w, "WHERE")?;
            plan = LogicalPlan::Filter { input: Box::new(plan), predicate: pred };
        }

        let has_group = matches!(&s.group_by, ast::GroupByExpr::Expressions(e, _) if !e.is_empty());
        if matches!(s.group_by, ast::GroupByExpr::All(_)) {
            return Err(SqlError::at(loc(span), "GROUP BY ALL is not supported"));
        }
        let has_aggs = s.projection.iter().any(|item| match item {
            ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => contains_aggregate(e),
            _ => false,
        }) || s.having.as_ref().is_some_and(contains_aggregate);
        let (plan, scope) = if has_group || has_aggs {
            self.bind_aggregate(s, plan, scope)?
        } else {
            if let Some(h) = &s.having {
                return Err(SqlError::at(loc(span_of(h)), "HAVING needs GROUP BY or an aggregate"));
            }
            let mut b = ExprBinder::plain(&scope);
            let (exprs, names) = select_list(&mut b, &s.projection, &scope)?;
            project(plan, &scope, exprs, names)
        };
        match &s.distinct {
            None | Some(ast::Distinct::All) => Ok((plan, scope)),
            Some(ast::Distinct::Distinct) => {
                let schema = plan.schema().clone();
                let group: Vec<Expr> =
                    schema.fields.iter().enumerate().map(|(i, f)| Expr::column(i, f.data_type)).collect();
                let out = aggregate_schema(&schema, &group, None, &[]);
                let sc = Scope::from_schema(&out, None);
                Ok((
                    LogicalPlan::Aggregate { input: Box::new(plan), group, window: None, aggs: vec![], schema: out },
                    sc,
                ))
            }
            Some(_) => Err(SqlError::at(loc(span), "DISTINCT ON is not supported")),
        }
    }

    fn bind_aggregate(&mut self, s: &ast::Select, input: LogicalPlan, scope: Scope) -> Result<(LogicalPlan, Scope)> {
        let mut ctx = AggCtx::default();
        if let ast::GroupByExpr::Expressions(exprs, _) = &s.group_by {
            for g in exprs {
                if let ast::Expr::Function(f) = g {
                    let name = f.name.to_string().to_uppercase();
                    if matches!(name.as_str(), "TUMBLE" | "HOP" | "SESSION") {
                        if ctx.window.is_some() {
                            return Err(SqlError::at(loc(span_of(g)), "only one group window is allowed in GROUP BY"));
                        }
                        let window = group_window(f, &name, &scope)?;
                        self.check_windows_per_row(window.0, f.name.span())?;
                        ctx.window = Some(window);
                        continue;
                    }
                }
                let e = ExprBinder::plain(&scope).bind(g)?;
                ctx.group.push(e);
            }
        }
        let (exprs, names, having) = {
            let mut b = ExprBinder { scope: &scope, agg: Some(&mut ctx), depth: 0 };
            let (exprs, names) = select_list(&mut b, &s.projection, &scope)?;
            let having = s.having.as_ref().map(|h| b.bind_predicate(h, "HAVING")).transpose()?;
            (exprs, names, having)
        };
        let in_schema = input.schema().clone();
        let schema = aggregate_schema(&in_schema, &ctx.group, ctx.window.as_ref().map(|w| w.1), &ctx.aggs);
        let window = ctx.window.map(|(k, t, _)| (k, t));
        if let LogicalPlan::WindowTvf { window: WindowKind::Session { .. }, .. } = &input {
            check_session_aggregate(&input, &ctx.group, &ctx.aggs, s.select_token.0.span)?;
        }
        let mut plan = LogicalPlan::Aggregate {
            input: Box::new(input),
            group: ctx.group,
            window,
            aggs: ctx.aggs,
            schema: schema.clone(),
        };
        if let Some(h) = having {
            plan = LogicalPlan::Filter { input: Box::new(plan), predicate: h };
        }
        let agg_scope = Scope::from_schema(&schema, None);
        Ok(project(plan, &agg_scope, exprs, names))
    }

    fn bind_table_with_joins(
        &mut self,
        twj: &ast::TableWithJoins,
        where_: Option<&ast::Expr>,
        where_used: &mut bool,
    ) -> Result<(LogicalPlan, Scope)> {
        let (mut plan, mut scope) = self.bind_factor(&twj.relation)?;
        for (i, j) in twj.joins.iter().enumerate() {
            let right = self.bind_factor(&j.relation)?;
            let (join_type, constraint) = match &j.join_operator {
                ast::JoinOperator::Join(c) | ast::JoinOperator::Inner(c) => (JoinType::Inner, c),
                ast::JoinOperator::Left(c) | ast::JoinOperator::LeftOuter(c) => (JoinType::Left, c),
                other => {
                    let what = format!("{other:?}");
                    return Err(SqlError::at(
                        loc(j.relation.span()),
                        format!(
                            "{} joins are not supported yet; use JOIN or LEFT JOIN",
                            what.split('(').next().unwrap_or("")
                        ),
                    ));
                }
            };
            let on = match constraint {
                ast::JoinConstraint::On(e) => Some(e),
                ast::JoinConstraint::None => None,
                _ => {
                    return Err(SqlError::at(
                        loc(j.relation.span()),
                        "only JOIN ... ON is supported (not USING or NATURAL)",
                    ))
                }
            };
            let outermost = i == twj.joins.len() - 1 && join_type == JoinType::Inner;
            let w = if outermost { where_ } else { None };
            let (p, sc, remaining) = self.join((plan, scope), right, join_type, on, w, j.relation.span())?;
            if w.is_some() {
                *where_used = true;
            }
            plan = apply_filter(p, remaining);
            scope = sc;
        }
        Ok((plan, scope))
    }

    fn bind_factor(&mut self, f: &ast::TableFactor) -> Result<(LogicalPlan, Scope)> {
        match f {
            ast::TableFactor::Table { name, alias, args, .. } => {
                if args.is_some() {
                    return Err(SqlError::at(loc(f.span()), "table functions must be called as FROM TABLE(f(...))"));
                }
                let ident = single_ident(name, f.span())?;
                let (plan, scope) = self.bind_relation_name(&ident)?;
                let qual = alias.as_ref().map_or(ident.value.clone(), |a| a.name.value.clone());
                apply_alias(plan, scope.requalify(&qual), alias.as_ref())
            }
            ast::TableFactor::Derived { subquery, alias, lateral, .. } => {
                if *lateral {
                    return Err(SqlError::at(loc(f.span()), "LATERAL is not supported"));
                }
                let (plan, scope) = self.bind_nested(subquery)?;
                let scope = match alias {
                    Some(a) => scope.requalify(&a.name.value),
                    None => scope,
                };
                apply_alias(plan, scope, alias.as_ref())
            }
            ast::TableFactor::TableFunction { expr, alias } => {
                let (plan, scope) = self.bind_window_tvf(expr)?;
                let scope = match alias {
                    Some(a) => scope.requalify(&a.name.value),
                    None => scope,
                };
                apply_alias(plan, scope, alias.as_ref())
            }
            ast::TableFactor::NestedJoin { table_with_joins, alias } => {
                let (plan, scope) = self.bind_table_with_joins(table_with_joins, None, &mut false)?;
                let scope = match alias {
                    Some(a) => scope.requalify(&a.name.value),
                    None => scope,
                };
                apply_alias(plan, scope, alias.as_ref())
            }
            ast::TableFactor::MatchRecognize { .. } => {
                Err(SqlError::at(loc(f.span()), "MATCH_RECOGNIZE (pattern matching) is not supported yet"))
            }
            other => Err(SqlError::at(loc(other.span()), format!("'{other}' is not supported in FROM"))),
        }
    }

    /// A table or a view by name. Views are expanded where they are used.
    pub(super) fn bind_relation_name(&mut self, ident: &ast::Ident) -> Result<(LogicalPlan, Scope)> {
        let key = ident.value.to_lowercase();
        if let Some(t) = self.tables.get(&key) {
            let plan = LogicalPlan::Scan { table: t.clone() };
            let scope = Scope::from_schema(&t.schema, Some(&t.name));
            return Ok((plan, scope));
        }
        if let Some(q) = self.views.get(&key).cloned() {
            if self.expanding.iter().any(|(k, _)| *k == key) {
                return Err(SqlError::at(loc(ident.span), format!("view '{}' refers to itself", ident.value)));
            }
            if self.expanding.len() >= super::MAX_VIEW_DEPTH {
                // Point at the view this statement uses: that is what the user wrote here.
                let (outer, span) = self.expanding.first().cloned().unwrap_or((key, ident.span));
                return Err(SqlError::at(
                    loc(span),
                    format!(
                        "view '{outer}' is built on views nested more than {} deep (down to '{}'); Darwin stops \
                         there",
                        super::MAX_VIEW_DEPTH,
                        ident.value
                    ),
                ));
            }
            self.expanding.push((key, ident.span));
            let r = self.bind_query(&q);
            self.expanding.pop();
            let (plan, scope) = r?;
            return Ok((plan, scope.requalify(&ident.value)));
        }
        Err(self.unknown_relation(ident))
    }
}

fn span_of_twj(t: &ast::TableWithJoins) -> sqlparser::tokenizer::Span {
    t.relation.span()
}

pub(super) fn apply_filter(plan: LogicalPlan, conjuncts: Vec<Expr>) -> LogicalPlan {
    match Expr::and_all(conjuncts) {
        Some(p) => LogicalPlan::Filter { input: Box::new(plan), predicate: p },
        None => plan,
    }
}

fn apply_alias(plan: LogicalPlan, scope: Scope, alias: Option<&ast::TableAlias>) -> Result<(LogicalPlan, Scope)> {
    let Some(a) = alias.filter(|a| !a.columns.is_empty()) else {
        return Ok((plan, scope));
    };
    if a.columns.len() != scope.len() {
        return Err(SqlError::at(
            loc(a.name.span),
            format!("alias '{}' names {} columns, but the relation has {}", a.name.value, a.columns.len(), scope.len()),
        ));
    }
    let exprs: Vec<Expr> = scope.columns.iter().enumerate().map(|(i, c)| Expr::column(i, c.ty)).collect();
    let names: Vec<String> = a.columns.iter().map(|c| c.name.value.clone()).collect();
    let (plan, sc) = project(plan, &scope, exprs, names);
    Ok((plan, sc.requalify(&a.name.value)))
}

/// A SELECT list: expressions and output names (wildcards expanded).
fn select_list(b: &mut ExprBinder, items: &[ast::SelectItem], scope: &Scope) -> Result<(Vec<Expr>, Vec<String>)> {
    let mut exprs = Vec::new();
    let mut names = Vec::new();
    for item in items {
        match item {
            ast::SelectItem::UnnamedExpr(e) => {
                exprs.push(b.bind(e)?);
                names.push(match e {
                    ast::Expr::Identifier(i) => i.value.clone(),
                    ast::Expr::CompoundIdentifier(p) => p.last().map_or(String::new(), |i| i.value.clone()),
                    _ => format!("EXPR${}", names.len()),
                });
            }
            ast::SelectItem::ExprWithAlias { expr, alias } => {
                exprs.push(b.bind(expr)?);
                names.push(alias.value.clone());
            }
            ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..) => {
                let qual = match item {
                    ast::SelectItem::QualifiedWildcard(ast::SelectItemQualifiedWildcardKind::ObjectName(n), _) => {
                        Some(n.to_string().to_lowercase())
                    }
                    ast::SelectItem::QualifiedWildcard(..) => {
                        return Err(SqlError::Unlocated { message: "unsupported wildcard".into() })
                    }
                    _ => None,
                };
                let before = exprs.len();
                for (i, c) in scope.columns.iter().enumerate() {
                    if qual.as_ref().is_some_and(|q| c.qualifier.as_deref() != Some(q.as_str())) {
                        continue;
                    }
                    let id = ast::Ident::new(c.name.clone());
                    let parts = match &c.qualifier {
                        Some(q) => vec![ast::Ident::new(q.clone()), id],
                        None => vec![id],
                    };
                    let e = b.bind(&ast::Expr::CompoundIdentifier(parts)).or_else(|_| {
                        if b.agg.is_none() {
                            Ok(Expr::column(i, c.ty))
                        } else {
                            Err(SqlError::Unlocated {
                                message: format!(
                                    "SELECT * with GROUP BY needs every column ('{}') in GROUP BY",
                                    c.name
                                ),
                            })
                        }
                    })?;
                    exprs.push(e);
                    names.push(c.name.clone());
                }
                if exprs.len() == before {
                    return Err(SqlError::Unlocated { message: format!("'{item}' matches no columns") });
                }
            }
            other => return Err(SqlError::Unlocated { message: format!("select item '{other}' is not supported") }),
        }
    }
    Ok((exprs, names))
}

/// A projection, keeping the event-time role of columns that are passed through unchanged.
pub(super) fn project(input: LogicalPlan, scope: &Scope, exprs: Vec<Expr>, names: Vec<String>) -> (LogicalPlan, Scope) {
    let in_schema = input.schema();
    let fields: Vec<Field> = exprs
        .iter()
        .zip(&names)
        .map(|(e, n)| {
            let role = e.as_column().map_or(FieldRole::Plain, |c| in_schema.fields[c].role);
            Field::new(n.clone(), e.ty).with_role(role)
        })
        .collect();
    let _ = scope;
    let schema = Schema::new(fields);
    let sc = Scope::from_schema(&schema, None);
    (LogicalPlan::Project { input: Box::new(input), exprs, schema }, sc)
}

/// Output of an aggregate: keys (window bounds keep their roles), window bounds, aggregates.
fn aggregate_schema(
    input: &Schema,
    group: &[Expr],
    window_time_col: Option<usize>,
    aggs: &[darwin_plan::AggCall],
) -> Schema {
    let has_bounds = |role| group.iter().any(|g| g.as_column().is_some_and(|c| input.fields[c].role == role));
    let windowed = has_bounds(FieldRole::WindowStart) && has_bounds(FieldRole::WindowEnd);
    let mut fields: Vec<Field> = group
        .iter()
        .enumerate()
        .map(|(i, g)| match g.as_column() {
            Some(c) => {
                let f = &input.fields[c];
                let role = if windowed && matches!(f.role, FieldRole::WindowStart | FieldRole::WindowEnd) {
                    f.role
                } else {
                    FieldRole::Plain
                };
                Field::new(f.name.clone(), g.ty).with_role(role)
            }
            None => Field::new(format!("EXPR${i}"), g.ty),
        })
        .collect();
    if window_time_col.is_some() {
        fields.push(Field::new("window_start", darwin_common::DataType::Timestamp).with_role(FieldRole::WindowStart));
        fields.push(Field::new("window_end", darwin_common::DataType::Timestamp).with_role(FieldRole::WindowEnd));
    }
    for (i, a) in aggs.iter().enumerate() {
        fields.push(Field::new(format!("AGG${i}"), a.ty));
    }
    Schema::new(fields)
}

/// Whether an aggregate call (or a group-window property) occurs in `e`. Iterative: a WHERE of
/// 100,000 ANDed conditions nests that deep.
fn contains_aggregate(e: &ast::Expr) -> bool {
    use ast::Expr as A;
    let mut pending = vec![e];
    while let Some(e) = pending.pop() {
        match e {
            A::Function(f) => {
                let name = f.name.to_string().to_uppercase();
                // An aggregate with OVER is a window function, not a grouping (refused when bound).
                if (is_aggregate(&name) && f.over.is_none()) || window_property(&name).is_some() {
                    return true;
                }
                if let Ok(args) = call_args(f) {
                    pending.extend(args);
                }
            }
            A::BinaryOp { left, right, .. } => pending.extend([&**left, &**right]),
            A::UnaryOp { expr, .. } | A::Nested(expr) | A::IsNull(expr) | A::IsNotNull(expr) | A::Cast { expr, .. } => {
                pending.push(expr)
            }
            A::Between { expr, low, high, .. } => pending.extend([&**expr, &**low, &**high]),
            A::Case { operand, conditions, else_result, .. } => {
                pending.extend(operand.as_deref());
                pending.extend(conditions.iter().flat_map(|c| [&c.condition, &c.result]));
                pending.extend(else_result.as_deref());
            }
            A::In { expr, target: ast::InTarget::List(l), .. } => {
                pending.push(expr);
                pending.extend(l);
            }
            A::Like { expr, .. }
            | A::Substring { expr, .. }
            | A::Trim { expr, .. }
            | A::Ceil { expr, .. }
            | A::Floor { expr, .. }
            | A::Extract { expr, .. } => pending.push(expr),
            _ => {}
        }
    }
    false
}
