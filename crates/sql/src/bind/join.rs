//! Join planning: splits the join condition into equi-keys, window equalities, time bounds and
//! a residual, then picks the join the inputs allow (lookup, window or interval join).

use super::expr::ExprBinder;
use super::scope::Scope;
use super::Binder;
use crate::error::{loc, Result, SqlError};
use darwin_common::{FieldRole, Schema, Value};
use darwin_plan::{BinOp, Expr, ExprKind, JoinKind, JoinType, LogicalPlan};
use sqlparser::ast;
use sqlparser::tokenizer::Span;

#[derive(PartialEq)]
enum Side {
    Left,
    Right,
    Both,
    Neither,
}

fn side(e: &Expr, nl: usize) -> Side {
    let cols = e.columns();
    match (cols.iter().any(|c| *c < nl), cols.iter().any(|c| *c >= nl)) {
        (true, false) => Side::Left,
        (false, true) => Side::Right,
        (true, true) => Side::Both,
        (false, false) => Side::Neither,
    }
}

/// `left_time OP right_time + offset` from a comparison, if it has that shape.
fn time_bound(e: &Expr, nl: usize, schema: &Schema) -> Option<(usize, usize, BinOp, i64)> {
    bound_shape(e, nl).filter(|(l, r, ..)| schema.fields[*l].role.is_time() && schema.fields[nl + *r].role.is_time())
}

/// `left_col OP right_col + offset` from a comparison of any two columns of the two sides.
fn bound_shape(e: &Expr, nl: usize) -> Option<(usize, usize, BinOp, i64)> {
    let ExprKind::Binary { op, left, right } = &e.kind else {
        return None;
    };
    if !matches!(op, BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq) {
        return None;
    }
    let timed = |e: &Expr| -> Option<(usize, i64)> {
        match &e.kind {
            ExprKind::Column(c) => Some((*c, 0)),
            ExprKind::Binary { op: o @ (BinOp::Add | BinOp::Sub), left, right } => match (&left.kind, &right.kind) {
                (ExprKind::Column(c), ExprKind::Literal(Value::Interval(ms))) => {
                    Some((*c, if *o == BinOp::Add { *ms } else { -*ms }))
                }
                _ => None,
            },
            _ => None,
        }
    };
    let (a, b) = (timed(left)?, timed(right)?);
    // a.col + a.off OP b.col + b.off
    let flip = |op: BinOp| match op {
        BinOp::Lt => BinOp::Gt,
        BinOp::LtEq => BinOp::GtEq,
        BinOp::Gt => BinOp::Lt,
        _ => BinOp::LtEq,
    };
    match (a.0 < nl, b.0 < nl) {
        (true, false) => Some((a.0, b.0 - nl, *op, b.1 - a.1)),
        (false, true) => Some((b.0, a.0 - nl, flip(*op), a.1 - b.1)),
        _ => None,
    }
}

/// Why an interval join lacks a bound: a condition that has a bound's shape but compares a
/// column that is not a time attribute (the usual mistake), else the general rule.
fn missing_bound(conditions: &[&Expr], nl: usize, schema: &Schema, which: &str) -> String {
    let rule = "an interval join needs a lower and an upper bound between the time attributes of its two sides \
                (e.g. a.ts BETWEEN b.ts - INTERVAL '10' SECOND AND b.ts)";
    let plain = conditions.iter().find_map(|c| {
        let (l, r, ..) = bound_shape(c, nl)?;
        [l, nl + r].into_iter().map(|i| &schema.fields[i]).find(|f| !f.role.is_time())
    });
    match plain {
        Some(f) => format!(
            "{rule}; it has no {which} bound on them: `{}` is not a time attribute (only a column with a WATERMARK, \
             or a window's bounds, is one), so a comparison with it is a filter, not a bound",
            f.name
        ),
        None => format!("{rule}; it has no {which} bound"),
    }
}

impl Binder<'_> {
    /// Joins two bound relations. Returns the plan, its scope, and the WHERE conjuncts that
    /// must still be applied above the join.
    pub(super) fn join(
        &mut self,
        left: (LogicalPlan, Scope),
        right: (LogicalPlan, Scope),
        join_type: JoinType,
        on: Option<&ast::Expr>,
        where_: Option<&ast::Expr>,
        span: Span,
    ) -> Result<(LogicalPlan, Scope, Vec<Expr>)> {
        let (lp, ls) = left;
        let (rp, rs) = right;
        let nl = ls.len();
        let scope = ls.concat(rs);
        let mut schema = lp.schema().clone();
        schema.fields.extend(rp.schema().fields.iter().cloned());
        let on_conj = match on {
            Some(e) => ExprBinder::plain(&scope).bind_predicate(e, "JOIN ... ON")?.conjuncts(),
            None => vec![],
        };
        let where_conj = match where_ {
            Some(e) => ExprBinder::plain(&scope).bind_predicate(e, "WHERE")?.conjuncts(),
            None => vec![],
        };

        let mut keys: Vec<(Expr, Expr)> = Vec::new();
        let mut window_eq = (false, false);
        let mut bounds: Vec<(usize, usize, BinOp, i64, Expr)> = Vec::new();
        let mut residual = Vec::new();
        let mut remaining = Vec::new();
        for (from_where, c) in on_conj.into_iter().map(|c| (false, c)).chain(where_conj.into_iter().map(|c| (true, c)))
        {
            if let ExprKind::Binary { op: BinOp::Eq, left, right } = &c.kind {
                let pair = match (side(left, nl), side(right, nl)) {
                    (Side::Left, Side::Right) => Some(((**left).clone(), right.map_columns(&|i| i - nl))),
                    (Side::Right, Side::Left) => Some(((**right).clone(), left.map_columns(&|i| i - nl))),
                    _ => None,
                };
                if let Some((l, r)) = pair {
                    let role = |e: &Expr, s: &Schema| e.as_column().map(|c| s.fields[c].role);
                    match (role(&l, lp.schema()), role(&r, rp.schema())) {
                        (Some(FieldRole::WindowStart), Some(FieldRole::WindowStart)) => window_eq.0 = true,
                        (Some(FieldRole::WindowEnd), Some(FieldRole::WindowEnd)) => window_eq.1 = true,
                        _ => {}
                    }
                    keys.push((l, r));
                    continue;
                }
            }
            if let Some((lt, rt, op, off)) = time_bound(&c, nl, &schema) {
                bounds.push((lt, rt, op, off, c));
                continue;
            }
            if from_where {
                remaining.push(c);
            } else {
                residual.push(c);
            }
        }

        let lookup_able =
            |p: &LogicalPlan| !p.has_event_time() && p.scans().iter().all(|t| self.connectors.is_bounded(t));
        let (kind, keys) = if lookup_able(&rp) {
            residual.extend(bounds.drain(..).map(|b| b.4));
            (JoinKind::Lookup, keys)
        } else if window_eq.0 && window_eq.1 {
            residual.extend(bounds.drain(..).map(|b| b.4));
            #[expect(clippy::expect_used, reason = "window_eq found both sides' window columns by these roles")]
            let pos = |s: &Schema, role| s.fields.iter().position(|f| f.role == role).expect("window column present");
            let kind = JoinKind::Window {
                left_start: pos(lp.schema(), FieldRole::WindowStart),
                left_end: pos(lp.schema(), FieldRole::WindowEnd),
                right_start: pos(rp.schema(), FieldRole::WindowStart),
                right_end: pos(rp.schema(), FieldRole::WindowEnd),
            };
            let keys = keys
                .into_iter()
                .filter(|(l, r)| {
                    let lr = l.as_column().map(|c| lp.schema().fields[c].role);
                    let rr = r.as_column().map(|c| rp.schema().fields[c].role);
                    !(matches!(lr, Some(FieldRole::WindowStart | FieldRole::WindowEnd)) && lr == rr)
                })
                .collect();
            (kind, keys)
        } else if !bounds.is_empty() {
            if join_type != JoinType::Inner {
                return Err(SqlError::at(loc(span), "only inner interval joins are supported yet"));
            }
            let (lt, rt) = (bounds[0].0, bounds[0].1);
            let (mut lower, mut upper) = (i64::MIN, i64::MAX);
            for (l, r, op, off, c) in bounds.drain(..) {
                if (l, r) != (lt, rt) {
                    residual.push(c);
                    continue;
                }
                match op {
                    BinOp::GtEq => lower = lower.max(off),
                    BinOp::Gt => lower = lower.max(off + 1),
                    BinOp::LtEq => upper = upper.min(off),
                    _ => upper = upper.min(off - 1),
                }
            }
            if lower == i64::MIN || upper == i64::MAX {
                let which = if lower == i64::MIN { "lower" } else { "upper" };
                let conditions: Vec<&Expr> = residual.iter().chain(&remaining).collect();
                return Err(SqlError::at(loc(span), missing_bound(&conditions, nl, &schema, which)));
            }
            (JoinKind::Interval { left_time: lt, right_time: rt, lower, upper }, keys)
        } else if lookup_able(&lp) {
            return Err(SqlError::at(
                loc(span),
                "put the bounded table on the right side of the join (stream JOIN table)",
            ));
        } else {
            return Err(SqlError::at(
                loc(span),
                "unbounded stream-stream joins are not supported yet: join within the same window (equal window_start and window_end), bound the time columns (interval join), or join with a bounded table without a watermark",
            ));
        };
        if kind == JoinKind::Lookup {
            for f in &mut schema.fields[nl..] {
                f.role = FieldRole::Plain;
            }
        }
        if join_type == JoinType::Left && !remaining.is_empty() {
            unreachable!("WHERE is only pushed into inner joins");
        }
        let (left_keys, right_keys): (Vec<Expr>, Vec<Expr>) = keys.into_iter().unzip();
        let sc = Scope {
            columns: scope
                .columns
                .into_iter()
                .zip(&schema.fields)
                .map(|(mut c, f)| {
                    c.role = f.role;
                    c
                })
                .collect(),
        };
        let plan = LogicalPlan::Join {
            left: Box::new(lp),
            right: Box::new(rp),
            kind,
            join_type,
            left_keys,
            right_keys,
            residual: Expr::and_all(residual),
            schema,
        };
        Ok((plan, sc, remaining))
    }
}
