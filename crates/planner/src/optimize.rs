//! Logical rewrites applied before lowering to the physical plan: filters are pushed towards
//! the sources (through projections, window TVFs and into join inputs), so fewer rows reach the
//! expensive operators; adjacent filters are merged. Below a projection over a join, each
//! join input keeps only the columns used above or by the join itself, so the join copies
//! fewer columns per output row (YSB's lookup join carried all nine event columns, strings
//! included, to use two). The bound plan is kept unchanged for
//! `explain` and for the reference evaluator, which is how the differential tests check these
//! rules.

use darwin_common::Schema;
use darwin_plan::logical::{JoinKind, JoinType, LogicalPlan};
use darwin_plan::{Expr, ExprKind};
use std::collections::BTreeSet;

/// Applies the logical rewrites (filter pushdown and merging, join input pruning) to the whole plan;
/// the result computes the same rows.
pub fn optimize(plan: LogicalPlan) -> LogicalPlan {
    let plan = match plan {
        LogicalPlan::Filter { input, predicate } => push_filter(optimize(*input), predicate.conjuncts()),
        other => other.map_inputs(&mut optimize),
    };
    prune_join_inputs(plan)
}

/// `Project(Join(l, r))`: projects `l` and `r` to the columns the projection, the join keys,
/// the residual and the join's time columns use, and renumbers them.
fn prune_join_inputs(plan: LogicalPlan) -> LogicalPlan {
    let LogicalPlan::Project { input, exprs, schema } = plan else { return plan };
    let LogicalPlan::Join { left, right, kind, join_type, left_keys, right_keys, residual, schema: jschema } = *input
    else {
        return LogicalPlan::Project { input, exprs, schema };
    };
    let (nl, nr) = (left.schema().len(), right.schema().len());
    let mut used: BTreeSet<usize> = exprs.iter().flat_map(|e| e.columns()).collect();
    used.extend(residual.iter().flat_map(|e| e.columns()));
    used.extend(left_keys.iter().flat_map(|e| e.columns()));
    used.extend(right_keys.iter().flat_map(|e| e.columns()).map(|i| i + nl));
    match kind {
        JoinKind::Lookup => {}
        JoinKind::Window { left_start, left_end, right_start, right_end } => {
            used.extend([left_start, left_end, right_start + nl, right_end + nl])
        }
        JoinKind::Interval { left_time, right_time, .. } => used.extend([left_time, right_time + nl]),
    }
    if used.len() == nl + nr {
        let join = LogicalPlan::Join { left, right, kind, join_type, left_keys, right_keys, residual, schema: jschema };
        return LogicalPlan::Project { input: Box::new(join), exprs, schema };
    }
    let keep_l: Vec<usize> = used.iter().copied().filter(|i| *i < nl).collect();
    let keep_r: Vec<usize> = used.iter().copied().filter(|i| *i >= nl).map(|i| i - nl).collect();
    // Old join column -> new join column.
    let mut map = vec![usize::MAX; nl + nr];
    for (new, old) in keep_l.iter().enumerate() {
        map[*old] = new;
    }
    for (new, old) in keep_r.iter().enumerate() {
        map[nl + old] = keep_l.len() + new;
    }
    let side = |input: Box<LogicalPlan>, keep: &[usize], n: usize| -> Box<LogicalPlan> {
        if keep.len() == n {
            return input;
        }
        let fields = input.schema().fields.clone();
        let exprs = keep.iter().map(|i| Expr::column(*i, fields[*i].data_type)).collect();
        let schema = Schema { fields: keep.iter().map(|i| fields[*i].clone()).collect() };
        Box::new(LogicalPlan::Project { input, exprs, schema })
    };
    let (ml, mr) = (&map[..nl], &map[nl..]);
    let join = LogicalPlan::Join {
        left: side(left, &keep_l, nl),
        right: side(right, &keep_r, nr),
        kind: match kind {
            JoinKind::Lookup => JoinKind::Lookup,
            JoinKind::Window { left_start, left_end, right_start, right_end } => JoinKind::Window {
                left_start: ml[left_start],
                left_end: ml[left_end],
                right_start: mr[right_start] - keep_l.len(),
                right_end: mr[right_end] - keep_l.len(),
            },
            JoinKind::Interval { left_time, right_time, lower, upper } => {
                JoinKind::Interval { left_time: ml[left_time], right_time: mr[right_time] - keep_l.len(), lower, upper }
            }
        },
        join_type,
        left_keys: left_keys.iter().map(|e| e.map_columns(&|i| ml[i])).collect(),
        right_keys: right_keys.iter().map(|e| e.map_columns(&|i| mr[i] - keep_l.len())).collect(),
        residual: residual.map(|e| e.map_columns(&|i| map[i])),
        schema: Schema { fields: used.iter().map(|i| jschema.fields[*i].clone()).collect() },
    };
    let exprs = exprs.iter().map(|e| e.map_columns(&|i| map[i])).collect();
    LogicalPlan::Project { input: Box::new(join), exprs, schema }
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
