//! Binding of scalar expressions: name resolution, typing with implicit widening, and the
//! aggregate context in which GROUP BY keys and aggregate calls are recognised.

use super::coerce::{
    arithmetic, common_type, expect_bool, interval, is_null_literal, literal, negate_literal, retype, to_varchar, unify,
};
use super::scope::Scope;
use super::types::castable;
use crate::error::{loc, Result, SqlError};
use darwin_common::time::parse_timestamp;
use darwin_common::{DataType, Value};
use darwin_plan::{AggCall, BinOp, Expr, ExprKind, Func, WindowKind};
use sqlparser::ast::{self, Spanned};

/// What a GROUP BY makes visible: its keys, an optional group window, and the aggregates found
/// so far. Bound expressions refer to the aggregate's output: keys, window start/end, aggregates.
#[derive(Debug, Default)]
pub struct AggCtx {
    pub group: Vec<Expr>,
    /// A `GROUP BY TUMBLE(ts, ...)` window: its kind, time column and function name.
    pub window: Option<(WindowKind, usize, String)>,
    pub aggs: Vec<AggCall>,
}

impl AggCtx {
    pub fn window_cols(&self) -> usize {
        if self.window.is_some() {
            2
        } else {
            0
        }
    }
    pub fn agg_base(&self) -> usize {
        self.group.len() + self.window_cols()
    }
}

pub struct ExprBinder<'s> {
    pub scope: &'s Scope,
    pub agg: Option<&'s mut AggCtx>,
    /// How deeply the expression being bound nests so far (see `MAX_EXPR_DEPTH`).
    pub depth: usize,
}

/// How deep in an expression nodes still get an origin of their own (see `bind_inner`).
const ORIGIN_DEPTH: usize = 64;

/// An expression's SQL text for error messages, cut at 160 characters (writing stops there, so
/// a huge expression costs no more than a small one).
fn sql_text(e: &ast::Expr) -> String {
    struct Capped(String);
    impl std::fmt::Write for Capped {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            let room = 160usize.saturating_sub(self.0.len());
            let cut = s.char_indices().map(|(i, _)| i).find(|i| *i >= room).unwrap_or(s.len());
            self.0.push_str(&s[..cut]);
            if cut < s.len() {
                return Err(std::fmt::Error);
            }
            Ok(())
        }
    }
    let mut out = Capped(String::new());
    if std::fmt::write(&mut out, format_args!("{e}")).is_err() {
        out.0.push('…');
    }
    out.0
}

pub(super) fn span_of(e: &ast::Expr) -> sqlparser::tokenizer::Span {
    e.span()
}

impl<'s> ExprBinder<'s> {
    pub fn plain(scope: &'s Scope) -> Self {
        ExprBinder { scope, agg: None, depth: 0 }
    }

    pub fn bind(&mut self, e: &ast::Expr) -> Result<Expr> {
        if let ast::Expr::Nested(inner) = e {
            return self.bind(inner);
        }
        if self.depth >= super::MAX_EXPR_DEPTH {
            return Err(SqlError::at(
                loc(span_of(e)),
                format!("this expression nests more than {} levels deep; Darwin stops there", super::MAX_EXPR_DEPTH),
            ));
        }
        self.depth += 1;
        let bound = self.bind_at_depth(e);
        self.depth -= 1;
        bound
    }

    fn bind_at_depth(&mut self, e: &ast::Expr) -> Result<Expr> {
        if self.agg.is_some() {
            if let Some(r) = self.try_aggregate_node(e)? {
                return Ok(r);
            }
        }
        self.bind_inner(e)
    }

    pub fn bind_predicate(&mut self, e: &ast::Expr, clause: &str) -> Result<Expr> {
        let b = self.bind(e)?;
        if b.ty != DataType::Boolean {
            return Err(SqlError::at(
                loc(span_of(e)),
                format!("{clause} needs a BOOLEAN condition, but this expression is {}", b.ty),
            ));
        }
        Ok(b)
    }

    /// In an aggregate context: an aggregate call, a group-window property, or an expression
    /// equal to a GROUP BY key becomes a reference to the aggregate's output.
    #[expect(clippy::expect_used, reason = "called only in an aggregate context, which sets self.agg")]
    fn try_aggregate_node(&mut self, e: &ast::Expr) -> Result<Option<Expr>> {
        if let ast::Expr::Function(f) = e {
            let name = f.name.to_string().to_uppercase();
            if super::functions::is_aggregate(&name) {
                return self.bind_aggregate(f, &name).map(Some);
            }
            if let Some(prop) = super::functions::window_property(&name) {
                return self.bind_window_property(f, &name, prop).map(Some);
            }
        }
        let scope = self.scope;
        let mut plain = ExprBinder::plain(scope);
        if let Ok(b) = plain.bind_inner(e) {
            let ctx = self.agg.as_ref().expect("aggregate context");
            if let Some(i) = ctx.group.iter().position(|g| *g == b) {
                return Ok(Some(Expr::column(i, b.ty)));
            }
            if b.columns().is_empty() {
                return Ok(Some(b));
            }
        }
        Ok(None)
    }

    #[expect(clippy::expect_used, reason = "called only while binding an aggregate query, which sets the context")]
    fn bind_aggregate(&mut self, f: &ast::Function, name: &str) -> Result<Expr> {
        let scope = self.scope;
        let ctx = self.agg.as_mut().expect("aggregate context");
        let call = super::functions::bind_aggregate_call(f, name, scope)?;
        let idx = match ctx.aggs.iter().position(|a| *a == call) {
            Some(i) => i,
            None => {
                ctx.aggs.push(call.clone());
                ctx.aggs.len() - 1
            }
        };
        Ok(Expr::column(ctx.agg_base() + idx, call.ty))
    }

    #[expect(clippy::expect_used, reason = "called only while binding an aggregate query, which sets the context")]
    fn bind_window_property(&mut self, f: &ast::Function, name: &str, prop: &str) -> Result<Expr> {
        let ctx = self.agg.as_ref().expect("aggregate context");
        let span = f.name.span();
        let Some((_, _, wname)) = &ctx.window else {
            return Err(SqlError::at(
                loc(span),
                format!("{name} needs a {}(...) group window in GROUP BY", name.split('_').next().unwrap_or("")),
            ));
        };
        if !name.starts_with(wname.as_str()) {
            return Err(SqlError::at(loc(span), format!("{name} does not match the GROUP BY window {wname}(...)")));
        }
        let start = ctx.group.len();
        Ok(match prop {
            "START" => Expr::column(start, DataType::Timestamp),
            "END" => Expr::column(start + 1, DataType::Timestamp),
            _ => Expr::binary(
                BinOp::Sub,
                Expr::column(start + 1, DataType::Timestamp),
                Expr::literal(Value::Interval(1), DataType::Interval),
                DataType::Timestamp,
            ),
        })
    }

    /// Binds `e`; an expression that can fail at run time (arithmetic, casts, functions) keeps
    /// where it was written and its SQL text, for the error (`Expr::origin`).
    pub(super) fn bind_inner(&mut self, e: &ast::Expr) -> Result<Expr> {
        use ast::Expr as A;
        let bound = self.bind_node(e)?;
        // What cannot fail at run time keeps no origin: names, literals, and chains of AND, OR
        // and `||` (whose text and position would cost a walk of the whole chain).
        let plain =
            matches!(e, A::Identifier(_) | A::CompoundIdentifier(_) | A::Nested(_) | A::Value(_) | A::TypedString(_))
                || matches!(
                    e,
                    A::BinaryOp {
                        op: ast::BinaryOperator::And | ast::BinaryOperator::Or | ast::BinaryOperator::StringConcat,
                        ..
                    }
                );
        // Nodes deeper than ORIGIN_DEPTH keep no origin of their own (an error there is told
        // with the nearest one above): finding a node's position and text costs its size, which
        // for every node of a deeply nested expression would cost the square of its size.
        if plain || self.depth > ORIGIN_DEPTH || matches!(bound.kind, ExprKind::Column(_) | ExprKind::Literal(_)) {
            return Ok(bound);
        }
        let start = span_of(e).start;
        let at = darwin_common::Location { line: start.line, column: start.column };
        Ok(bound.at(darwin_plan::Origin { at, text: sql_text(e) }))
    }

    fn bind_node(&mut self, e: &ast::Expr) -> Result<Expr> {
        use ast::Expr as A;
        let span = span_of(e);
        match e {
            A::Identifier(id) => self.column(std::slice::from_ref(id)),
            A::CompoundIdentifier(parts) => self.column(parts),
            A::Nested(inner) => self.bind(inner),
            A::Value(v) => literal(&v.value, v.span),
            A::TypedString(ts) => {
                let text = match &ts.value.value {
                    ast::Value::SingleQuotedString(s) => s.clone(),
                    other => other.to_string(),
                };
                match &ts.data_type {
                    ast::DataType::Timestamp(..) | ast::DataType::Datetime(_) | ast::DataType::Date => {
                        match parse_timestamp(&text) {
                            Some(ms) => Ok(Expr::literal(Value::Timestamp(ms), DataType::Timestamp)),
                            None => Err(SqlError::at(
                                loc(span),
                                format!("'{text}' is not a timestamp (expected YYYY-MM-DD HH:MM:SS[.fff])"),
                            )),
                        }
                    }
                    other => Err(SqlError::at(loc(span), format!("{other} literals are not supported"))),
                }
            }
            A::Interval(iv) => interval(iv, span).map(|ms| Expr::literal(Value::Interval(ms), DataType::Interval)),
            A::BinaryOp {
                op: op @ (ast::BinaryOperator::And | ast::BinaryOperator::Or | ast::BinaryOperator::StringConcat),
                ..
            } => self.chain(e, op),
            A::BinaryOp { left, op, right } => {
                let l = self.bind(left)?;
                let r = self.bind(right)?;
                self.binary(op, l, r, span)
            }
            A::UnaryOp { op, expr } => {
                let x = self.bind(expr)?;
                match op {
                    ast::UnaryOperator::Not => {
                        let x = expect_bool(x, span, "NOT")?;
                        Ok(Expr::new(ExprKind::Not(Box::new(x)), DataType::Boolean))
                    }
                    ast::UnaryOperator::Minus => {
                        if let ExprKind::Literal(v) = &x.kind {
                            if let Some(neg) = negate_literal(v) {
                                return Ok(Expr::literal(neg, x.ty));
                            }
                        }
                        if !x.ty.is_numeric() && x.ty != DataType::Interval {
                            return Err(SqlError::at(loc(span), format!("cannot negate a {}", x.ty)));
                        }
                        let ty = x.ty;
                        Ok(Expr::new(ExprKind::Neg(Box::new(x)), ty))
                    }
                    ast::UnaryOperator::Plus => Ok(x),
                    other => Err(SqlError::at(loc(span), format!("operator {other} is not supported"))),
                }
            }
            A::IsNull(x) | A::IsNotNull(x) => {
                let x = self.bind(x)?;
                Ok(Expr::new(
                    ExprKind::IsNull { expr: Box::new(x), negated: matches!(e, A::IsNotNull(_)) },
                    DataType::Boolean,
                ))
            }
            A::IsTrue(x) | A::IsFalse(x) | A::IsNotTrue(x) | A::IsNotFalse(x) => {
                let x = expect_bool(self.bind(x)?, span, "IS TRUE/FALSE")?;
                let want = matches!(e, A::IsTrue(_) | A::IsNotFalse(_));
                // x IS TRUE is never NULL: COALESCE(x = want, FALSE); negated forms flip it.
                let eq =
                    Expr::binary(BinOp::Eq, x, Expr::literal(Value::Bool(want), DataType::Boolean), DataType::Boolean);
                let is = Expr::new(
                    ExprKind::Call {
                        func: Func::Coalesce,
                        args: vec![eq, Expr::literal(Value::Bool(false), DataType::Boolean)],
                    },
                    DataType::Boolean,
                );
                Ok(if matches!(e, A::IsNotTrue(_) | A::IsNotFalse(_)) {
                    Expr::new(ExprKind::Not(Box::new(is)), DataType::Boolean)
                } else {
                    is
                })
            }
            A::Between { expr, negated, low, high } => {
                let x = self.bind(expr)?;
                let lo = self.bind(low)?;
                let hi = self.bind(high)?;
                let ge = self.compare(BinOp::GtEq, x.clone(), lo, span)?;
                let le = self.compare(BinOp::LtEq, x, hi, span)?;
                let both = Expr::binary(BinOp::And, ge, le, DataType::Boolean);
                Ok(if *negated { Expr::new(ExprKind::Not(Box::new(both)), DataType::Boolean) } else { both })
            }
            A::In { expr, target, negated, .. } => {
                let ast::InTarget::List(list) = target else {
                    return Err(SqlError::at(loc(span), "IN with a subquery is not supported yet; list the values"));
                };
                if list.is_empty() {
                    return Err(SqlError::at(loc(span), "IN needs at least one value"));
                }
                let x = self.bind(expr)?;
                let values = list.iter().map(|item| self.bind(item)).collect::<Result<Vec<_>>>()?;
                let any = match super::coerce::in_list(&x, &values) {
                    Some(set) => set,
                    None => {
                        let eqs = values
                            .into_iter()
                            .zip(list)
                            .map(|(v, item)| self.compare(BinOp::Eq, x.clone(), v, span_of(item)))
                            .collect::<Result<Vec<_>>>()?;
                        // The list is not empty (checked above).
                        Expr::balanced(eqs, BinOp::Or, DataType::Boolean)
                            .unwrap_or_else(|| Expr::literal(Value::Bool(false), DataType::Boolean))
                    }
                };
                Ok(if *negated { Expr::new(ExprKind::Not(Box::new(any)), DataType::Boolean) } else { any })
            }
            A::Like { negated, expr, pattern, escape_char, any } => {
                if *any || escape_char.is_some() {
                    return Err(SqlError::at(loc(span), "LIKE ANY and LIKE ... ESCAPE are not supported"));
                }
                let x = self.bind(expr)?;
                let x = to_varchar(x, span, "LIKE")?;
                let p = self.bind(pattern)?;
                let ExprKind::Literal(Value::Str(pattern)) = p.kind else {
                    return Err(SqlError::at(loc(span_of(pattern)), "the LIKE pattern must be a string literal"));
                };
                Ok(Expr::new(ExprKind::Like { expr: Box::new(x), pattern, negated: *negated }, DataType::Boolean))
            }
            A::Cast { expr, data_type, kind, .. } => {
                let try_cast = match kind {
                    ast::CastKind::Cast => false,
                    ast::CastKind::TryCast | ast::CastKind::SafeCast => true,
                    ast::CastKind::DoubleColon => {
                        return Err(SqlError::at(loc(span), "use CAST(x AS type) or TRY_CAST(x AS type), not x::type"))
                    }
                };
                let x = self.bind(expr)?;
                let to = super::types::convert_type(data_type, span)?;
                if is_null_literal(&x) {
                    return Ok(Expr::literal(Value::Null, to));
                }
                if !castable(x.ty, to) {
                    return Err(SqlError::at(loc(span), format!("cannot cast {} to {to}", x.ty)));
                }
                if try_cast && x.ty != to {
                    return Ok(Expr::new(ExprKind::Call { func: Func::TryCast, args: vec![x] }, to));
                }
                Ok(x.cast(to))
            }
            A::Case { operand, conditions, else_result, .. } => {
                self.case(operand.as_deref(), conditions, else_result.as_deref(), span)
            }
            A::Function(f) => {
                let name = f.name.to_string().to_uppercase();
                if f.over.is_some() {
                    let message = match super::functions::unsupported_function(&name) {
                        Some(feature) => format!("{name} is not supported yet: {feature}"),
                        None => format!("{name}(...) OVER: OVER windows are not supported yet"),
                    };
                    return Err(SqlError::at(loc(span), message));
                }
                if super::functions::is_aggregate(&name) {
                    return Err(SqlError::at(
                        loc(span),
                        format!("aggregate {name} is not allowed here (only in SELECT or HAVING of a query)"),
                    ));
                }
                if super::functions::window_property(&name).is_some() {
                    return Err(SqlError::at(loc(span), format!("{name} needs a matching group window in GROUP BY")));
                }
                super::functions::bind_scalar_function(self, f, &name, span)
            }
            A::Substring { expr, substring_from, substring_for, .. } => {
                let mut args = vec![self.bind(expr)?];
                match substring_from {
                    Some(f) => args.push(self.bind(f)?),
                    None => args.push(Expr::literal(Value::Int(1), DataType::Int)),
                }
                if let Some(f) = substring_for {
                    args.push(self.bind(f)?);
                }
                super::functions::typed_call(Func::Substring, args, span)
            }
            A::Trim { trim_where, trim_what, expr, trim_characters } => {
                if trim_what.is_some() || trim_characters.is_some() {
                    return Err(SqlError::at(loc(span), "TRIM of characters other than spaces is not supported yet"));
                }
                let func = match trim_where {
                    Some(ast::TrimWhereField::Leading) => Func::TrimLeading,
                    Some(ast::TrimWhereField::Trailing) => Func::TrimTrailing,
                    _ => Func::TrimBoth,
                };
                let x = self.bind(expr)?;
                super::functions::typed_call(func, vec![x], span)
            }
            A::Ceil { expr, field } | A::Floor { expr, field } => {
                if !matches!(field, ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime)) {
                    return Err(SqlError::at(loc(span), "CEIL/FLOOR to a time unit is not supported yet"));
                }
                let x = self.bind(expr)?;
                super::functions::typed_call(
                    if matches!(e, A::Ceil { .. }) { Func::Ceil } else { Func::Floor },
                    vec![x],
                    span,
                )
            }
            A::Extract { field, expr, .. } => {
                let func = match field {
                    ast::DateTimeField::Year => Func::Year,
                    ast::DateTimeField::Month => Func::Month,
                    ast::DateTimeField::Day => Func::DayOfMonth,
                    ast::DateTimeField::Hour => Func::Hour,
                    ast::DateTimeField::Minute => Func::Minute,
                    ast::DateTimeField::Second => Func::Second,
                    other => return Err(SqlError::at(loc(span), format!("EXTRACT({other} ...) is not supported"))),
                };
                let x = self.bind(expr)?;
                super::functions::typed_call(func, vec![x], span)
            }
            A::Subquery(_) | A::Exists { .. } => {
                Err(SqlError::at(loc(span), "subqueries in expressions are not supported yet"))
            }
            other => Err(SqlError::at(loc(span), format!("expression '{other}' is not supported"))),
        }
    }

    #[expect(clippy::expect_used, reason = "a column reference has at least one part (resolve succeeded)")]
    fn column(&mut self, parts: &[ast::Ident]) -> Result<Expr> {
        let i = self.scope.resolve(parts)?;
        if self.agg.is_some() {
            let name = parts.iter().map(|p| p.value.as_str()).collect::<Vec<_>>().join(".");
            return Err(SqlError::at(
                loc(parts.last().expect("non-empty").span),
                format!("column '{name}' must appear in GROUP BY or be used inside an aggregate function"),
            ));
        }
        let c = &self.scope.columns[i];
        Ok(Expr::column(i, c.ty))
    }

    fn case(
        &mut self,
        operand: Option<&ast::Expr>,
        conditions: &[ast::CaseWhen],
        otherwise: Option<&ast::Expr>,
        span: sqlparser::tokenizer::Span,
    ) -> Result<Expr> {
        let operand = operand.map(|o| self.bind(o)).transpose()?;
        let mut whens = Vec::new();
        let mut results = Vec::new();
        for c in conditions {
            let cond = self.bind(&c.condition)?;
            let cond = match &operand {
                Some(op) => self.compare(BinOp::Eq, op.clone(), cond, span_of(&c.condition))?,
                None => expect_bool(cond, span_of(&c.condition), "CASE WHEN")?,
            };
            whens.push(cond);
            results.push(self.bind(&c.result)?);
        }
        let mut otherwise = otherwise.map(|o| self.bind(o)).transpose()?;
        let mut all: Vec<&Expr> = results.iter().collect();
        all.extend(otherwise.iter());
        let ty = common_type(&all, span)?;
        let results: Vec<Expr> = results.into_iter().map(|r| retype(r, ty)).collect();
        otherwise = otherwise.map(|o| retype(o, ty));
        Ok(Expr::new(
            ExprKind::Case { branches: whens.into_iter().zip(results).collect(), otherwise: otherwise.map(Box::new) },
            ty,
        ))
    }

    fn binary(&mut self, op: &ast::BinaryOperator, l: Expr, r: Expr, span: sqlparser::tokenizer::Span) -> Result<Expr> {
        use ast::BinaryOperator as B;
        let op = match op {
            B::Plus => BinOp::Add,
            B::Minus => BinOp::Sub,
            B::Multiply => BinOp::Mul,
            B::Divide => BinOp::Div,
            B::Modulo => BinOp::Mod,
            B::Eq => BinOp::Eq,
            B::NotEq => BinOp::NotEq,
            B::Lt => BinOp::Lt,
            B::LtEq => BinOp::LtEq,
            B::Gt => BinOp::Gt,
            B::GtEq => BinOp::GtEq,
            B::And => BinOp::And,
            B::Or => BinOp::Or,
            B::StringConcat => BinOp::Concat,
            other => return Err(SqlError::at(loc(span), format!("operator {other} is not supported"))),
        };
        match op {
            BinOp::And | BinOp::Or => {
                let l = expect_bool(l, span, op.symbol())?;
                let r = expect_bool(r, span, op.symbol())?;
                Ok(Expr::binary(op, l, r, DataType::Boolean))
            }
            BinOp::Concat => {
                let l = to_varchar(l, span, "||")?;
                let r = to_varchar(r, span, "||")?;
                Ok(Expr::binary(op, l, r, DataType::Varchar))
            }
            _ if op.is_comparison() => self.compare(op, l, r, span),
            _ => arithmetic(op, l, r, span),
        }
    }

    /// A chain of one associative operator (`a AND b AND ...`, `OR`, `||`), as long as generated
    /// SQL makes it: its operands are gathered without recursion and combined as a balanced tree,
    /// so neither binding, planning nor evaluation recurses once per operand.
    fn chain(&mut self, e: &ast::Expr, op: &ast::BinaryOperator) -> Result<Expr> {
        let mut operands = Vec::new();
        let mut pending = vec![e];
        while let Some(x) = pending.pop() {
            match x {
                ast::Expr::BinaryOp { left, op: o, right } if o == op => {
                    pending.push(right);
                    pending.push(left);
                }
                other => operands.push(other),
            }
        }
        let (bop, ty) = match op {
            ast::BinaryOperator::And => (BinOp::And, DataType::Boolean),
            ast::BinaryOperator::Or => (BinOp::Or, DataType::Boolean),
            _ => (BinOp::Concat, DataType::Varchar),
        };
        let bound = operands
            .into_iter()
            .map(|x| {
                let b = self.bind(x)?;
                match bop {
                    BinOp::Concat => to_varchar(b, span_of(x), "||"),
                    _ => expect_bool(b, span_of(x), bop.symbol()),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Expr::balanced(bound, bop, ty).unwrap_or_else(|| Expr::literal(Value::Bool(true), DataType::Boolean)))
    }

    pub(super) fn compare(&mut self, op: BinOp, l: Expr, r: Expr, span: sqlparser::tokenizer::Span) -> Result<Expr> {
        let (l, r) = unify(l, r, span, op.symbol())?;
        Ok(Expr::binary(op, l, r, DataType::Boolean))
    }
}
