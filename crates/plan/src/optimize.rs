//! Logical rewrites applied before lowering to the physical plan: filters are pushed towards
//! the sources (through projections, window TVFs and into join inputs), so fewer rows reach the
//! expensive operators; adjacent filters are merged. The bound plan is kept unchanged for
//! `explain` and for the reference evaluator, which is how the differential tests check these
//! rules.

use crate::logical::{JoinType, LogicalPlan};
use crate::{Expr, ExprKind};

pub fn optimize(plan: LogicalPlan) -> LogicalPlan {
    match plan {
        LogicalPlan::Filter { input, predicate } => push_filter(optimize(*input), predicate.conjuncts()),
        other => other.map_inputs(&mut optimize),
    }
}

fn filter(input: LogicalPlan, conjuncts: Vec<Expr>) -> LogicalPlan {
    match Expr::and_all(conjuncts) {
        None => input,
        Some(predicate) => LogicalPlan::Filter { input: Box::new(input), predicate },
    }
}

/// Replaces column references by the projection's expressions.
fn substitute(e: &Expr, exprs: &[Expr]) -> Expr {
    let mut out = e.clone();
    substitute_in_place(&mut out, exprs);
    out
}

fn substitute_in_place(e: &mut Expr, exprs: &[Expr]) {
    match &mut e.kind {
        ExprKind::Column(i) => *e = exprs[*i].clone(),
        ExprKind::Literal(_) => {}
        ExprKind::Binary { left, right, .. } => {
            substitute_in_place(left, exprs);
            substitute_in_place(right, exprs);
        }
        ExprKind::Not(x) | ExprKind::Neg(x) | ExprKind::Cast(x) => substitute_in_place(x, exprs),
        ExprKind::IsNull { expr, .. } | ExprKind::Like { expr, .. } => substitute_in_place(expr, exprs),
        ExprKind::Case { branches, otherwise } => {
            for (w, t) in branches {
                substitute_in_place(w, exprs);
                substitute_in_place(t, exprs);
            }
            if let Some(o) = otherwise {
                substitute_in_place(o, exprs);
            }
        }
        ExprKind::Call { args, .. } => args.iter_mut().for_each(|a| substitute_in_place(a, exprs)),
    }
}

/// Pushes the conjuncts of a filter as far down `input` as they can go.
fn push_filter(input: LogicalPlan, conjuncts: Vec<Expr>) -> LogicalPlan {
    match input {
        LogicalPlan::Filter { input, predicate } => {
            let mut all = predicate.conjuncts();
            all.extend(conjuncts);
            push_filter(*input, all)
        }
        LogicalPlan::Project { input, exprs, schema } => {
            let pushed: Vec<Expr> = conjuncts.iter().map(|c| substitute(c, &exprs)).collect();
            LogicalPlan::Project { input: Box::new(push_filter(*input, pushed)), exprs, schema }
        }
        LogicalPlan::WindowTvf { input, window, time_col, partition_by, schema } => {
            let n = input.schema().len();
            let (below, above): (Vec<Expr>, Vec<Expr>) =
                conjuncts.into_iter().partition(|c| c.columns().iter().all(|i| *i < n));
            let tvf = LogicalPlan::WindowTvf {
                input: Box::new(push_filter(*input, below)),
                window,
                time_col,
                partition_by,
                schema,
            };
            filter(tvf, above)
        }
        LogicalPlan::Join { left, right, kind, join_type, left_keys, right_keys, residual, schema } => {
            let nl = left.schema().len();
            let mut to_left = Vec::new();
            let mut to_right = Vec::new();
            let mut stay = Vec::new();
            for c in conjuncts {
                let cols = c.columns();
                if !cols.is_empty() && cols.iter().all(|i| *i < nl) {
                    to_left.push(c);
                } else if join_type == JoinType::Inner && !cols.is_empty() && cols.iter().all(|i| *i >= nl) {
                    to_right.push(c.map_columns(&|i| i - nl));
                } else {
                    stay.push(c);
                }
            }
            let join = LogicalPlan::Join {
                left: Box::new(push_filter(*left, to_left)),
                right: Box::new(push_filter(*right, to_right)),
                kind,
                join_type,
                left_keys,
                right_keys,
                residual,
                schema,
            };
            filter(join, stay)
        }
        other => filter(other, conjuncts),
    }
}
