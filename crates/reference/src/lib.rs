//! A small, obviously correct, row-at-a-time evaluator of logical plans, used as the oracle in
//! differential tests. It evaluates a query over the whole (bounded) input at once, as batch SQL:
//! windows are computed from event times, joins are nested loops. It knows nothing of
//! watermarks, so tests feed it inputs in which no record is late.
//!
//! Expressions, windows, grouping, joins and aggregates are written here again, deliberately
//! naively; only the per-value semantics of casts and built-in functions are shared with the
//! runtime (`darwin_columnar::scalar`), since they are plain functions of one value.

mod expr;

use darwin_common::Value;
use darwin_plan::{AggCall, AggFunc, JoinKind, JoinType, LogicalPlan, TableDef, WindowKind};
use std::cmp::Ordering;

pub use expr::eval;

/// One row: a value per column, in schema order.
pub type Row = Vec<Value>;

/// Evaluates `plan`; `input` gives the rows of each scanned table.
pub fn evaluate(plan: &LogicalPlan, input: &dyn Fn(&TableDef) -> Vec<Row>) -> Result<Vec<Row>, String> {
    match plan {
        LogicalPlan::Scan { table } => Ok(input(table)),
        LogicalPlan::Filter { input: i, predicate } => {
            let mut out = Vec::new();
            for r in evaluate(i, input)? {
                if eval(predicate, &r)? == Value::Bool(true) {
                    out.push(r);
                }
            }
            Ok(out)
        }
        LogicalPlan::Project { input: i, exprs, .. } => {
            evaluate(i, input)?.iter().map(|r| exprs.iter().map(|e| eval(e, r)).collect()).collect()
        }
        LogicalPlan::WindowTvf { input: i, window, time_col, .. } => {
            let mut out = Vec::new();
            for r in evaluate(i, input)? {
                let Some(ts) = r[*time_col].as_i64() else {
                    continue;
                };
                for (s, e) in windows(ts, *window) {
                    let mut row = r.clone();
                    row.extend([Value::Timestamp(s), Value::Timestamp(e), Value::Timestamp(e - 1)]);
                    out.push(row);
                }
            }
            Ok(out)
        }
        LogicalPlan::Aggregate { input: i, group, window, aggs, schema } => {
            let _ = schema;
            if let LogicalPlan::WindowTvf { input: inner, window: WindowKind::Session { gap }, time_col, .. } =
                i.as_ref()
            {
                return session_tvf_aggregate(inner, *gap, *time_col, i.schema().len() - 3, group, aggs, input);
            }
            let rows = evaluate(i, input)?;
            match window {
                None => {
                    let keyed = keyed_by(&rows, group.iter())?;
                    if group.is_empty() && keyed.is_empty() {
                        return Ok(vec![]); // a streaming global aggregate over nothing emits nothing
                    }
                    aggregate_groups(keyed, aggs)
                }
                Some((WindowKind::Session { gap }, t)) => {
                    let keyed = keyed_by(&rows, group.iter())?;
                    let mut out_keyed = Vec::new();
                    for (key, members) in group_by(keyed) {
                        for (s, e, rows) in sessions(members, *t, *gap) {
                            let mut k = key.clone();
                            k.extend([Value::Timestamp(s), Value::Timestamp(e)]);
                            out_keyed.extend(rows.into_iter().map(|r| (k.clone(), r)));
                        }
                    }
                    aggregate_groups(out_keyed, aggs)
                }
                Some((w, t)) => {
                    let mut keyed = Vec::new();
                    for r in &rows {
                        let Some(ts) = r[*t].as_i64() else { continue };
                        let key: Row = group.iter().map(|g| eval(g, r)).collect::<Result<_, _>>()?;
                        for (s, e) in windows(ts, *w) {
                            let mut k = key.clone();
                            k.extend([Value::Timestamp(s), Value::Timestamp(e)]);
                            keyed.push((k, r.clone()));
                        }
                    }
                    aggregate_groups(keyed, aggs)
                }
            }
        }
        LogicalPlan::Join { left, right, kind, join_type, left_keys, right_keys, residual, .. } => {
            let (l, r) = (evaluate(left, input)?, evaluate(right, input)?);
            let nr = right.schema().len();
            let mut out = Vec::new();
            for lr in &l {
                let mut matched = false;
                for rr in &r {
                    let mut ok = true;
                    for (lk, rk) in left_keys.iter().zip(right_keys) {
                        let (a, b) = (eval(lk, lr)?, eval(rk, rr)?);
                        ok &= !a.is_null() && !b.is_null() && a.total_cmp(&b) == Ordering::Equal;
                    }
                    ok &= match kind {
                        JoinKind::Lookup => true,
                        JoinKind::Window { left_start, left_end, right_start, right_end } => {
                            lr[*left_start] == rr[*right_start] && lr[*left_end] == rr[*right_end]
                        }
                        JoinKind::Interval { left_time, right_time, lower, upper } => {
                            match (lr[*left_time].as_i64(), rr[*right_time].as_i64()) {
                                (Some(lt), Some(rt)) => rt + lower <= lt && lt <= rt + upper,
                                _ => false,
                            }
                        }
                    };
                    if !ok {
                        continue;
                    }
                    let mut row = lr.clone();
                    row.extend(rr.iter().cloned());
                    if let Some(res) = residual {
                        if eval(res, &row)? != Value::Bool(true) {
                            continue;
                        }
                    }
                    matched = true;
                    out.push(row);
                }
                if !matched && *join_type == JoinType::Left {
                    let mut row = lr.clone();
                    row.extend(std::iter::repeat_n(Value::Null, nr));
                    out.push(row);
                }
            }
            Ok(out)
        }
    }
}

fn windows(ts: i64, w: WindowKind) -> Vec<(i64, i64)> {
    match w {
        WindowKind::Tumble { size } => {
            let s = ts.div_euclid(size) * size;
            vec![(s, s + size)]
        }
        WindowKind::Hop { slide, size } => {
            // Every window start that is a multiple of `slide` with start <= ts < start + size.
            let mut out = Vec::new();
            let first = (ts - size).div_euclid(slide) * slide;
            let mut s = first;
            while s <= ts {
                if ts < s + size && s > ts - size {
                    out.push((s, s + size));
                }
                s += slide;
            }
            out
        }
        WindowKind::Session { gap } => vec![(ts, ts + gap)],
    }
}

/// Each row paired with its key (the values of `keys` on it).
fn keyed_by<'a>(
    rows: &[Row],
    keys: impl Iterator<Item = &'a darwin_plan::Expr> + Clone,
) -> Result<Vec<(Row, Row)>, String> {
    rows.iter().map(|r| Ok((keys.clone().map(|g| eval(g, r)).collect::<Result<Row, String>>()?, r.clone()))).collect()
}

/// Groups rows by key, keeping the first-seen order of keys.
fn group_by(keyed: Vec<(Row, Row)>) -> Vec<(Row, Vec<Row>)> {
    let mut groups: Vec<(Row, Vec<Row>)> = Vec::new();
    for (k, r) in keyed {
        match groups
            .iter_mut()
            .find(|(g, _)| g.len() == k.len() && g.iter().zip(&k).all(|(a, b)| a.total_cmp(b) == Ordering::Equal))
        {
            Some((_, rows)) => rows.push(r),
            None => groups.push((k, vec![r])),
        }
    }
    groups
}

/// Sessions of one key's rows: sorted by time, a row at or before the session's end (last row
/// + gap) joins it.
fn sessions(mut rows: Vec<Row>, t: usize, gap: i64) -> Vec<(i64, i64, Vec<Row>)> {
    rows.retain(|r| r[t].as_i64().is_some());
    rows.sort_by_key(|r| r[t].as_i64());
    let mut out: Vec<(i64, i64, Vec<Row>)> = Vec::new();
    for r in rows {
        let ts = r[t].as_i64().unwrap_or_default();
        match out.last_mut() {
            Some((_, end, members)) if ts <= *end => {
                *end = (*end).max(ts + gap);
                members.push(r);
            }
            _ => out.push((ts, ts + gap, vec![r])),
        }
    }
    out
}

fn session_tvf_aggregate(
    inner: &LogicalPlan,
    gap: i64,
    time_col: usize,
    n: usize,
    group: &[darwin_plan::Expr],
    aggs: &[AggCall],
    input: &dyn Fn(&TableDef) -> Vec<Row>,
) -> Result<Vec<Row>, String> {
    let rows = evaluate(inner, input)?;
    // Keys that are not window bounds define the session partitions.
    let keyed = keyed_by(&rows, group.iter().filter(|g| g.as_column().is_none_or(|c| c < n)))?;
    let mut out_keyed = Vec::new();
    for (_, members) in group_by(keyed) {
        for (s, e, rows) in sessions(members, time_col, gap) {
            for r in rows {
                let mut ext = r.clone();
                ext.extend([Value::Timestamp(s), Value::Timestamp(e), Value::Timestamp(e - 1)]);
                let key: Row = group.iter().map(|g| eval(g, &ext)).collect::<Result<_, _>>()?;
                out_keyed.push((key, r));
            }
        }
    }
    aggregate_groups(out_keyed, aggs)
}

fn aggregate_groups(keyed: Vec<(Row, Row)>, aggs: &[AggCall]) -> Result<Vec<Row>, String> {
    let mut out = Vec::new();
    for (key, rows) in group_by(keyed) {
        let mut row = key;
        for a in aggs {
            row.push(aggregate(a, &rows)?);
        }
        out.push(row);
    }
    Ok(out)
}

fn aggregate(a: &AggCall, rows: &[Row]) -> Result<Value, String> {
    let mut vals: Vec<Value> = Vec::new();
    for r in rows {
        if let Some(f) = &a.filter {
            if eval(f, r)? != Value::Bool(true) {
                continue;
            }
        }
        match &a.arg {
            None => vals.push(Value::Bool(true)),
            Some(e) => {
                let v = eval(e, r)?;
                if !v.is_null() {
                    vals.push(v);
                }
            }
        }
    }
    if a.distinct {
        let mut uniq: Vec<Value> = Vec::new();
        for v in vals {
            if !uniq.iter().any(|u| u.total_cmp(&v) == Ordering::Equal) {
                uniq.push(v);
            }
        }
        vals = uniq;
    }
    if a.func == AggFunc::Count {
        return Ok(Value::BigInt(vals.len() as i64));
    }
    if vals.is_empty() {
        return Ok(Value::Null);
    }
    Ok(match a.func {
        AggFunc::Min => vals.into_iter().min_by(|x, y| x.total_cmp(y)).unwrap_or(Value::Null),
        AggFunc::Max => vals.into_iter().max_by(|x, y| x.total_cmp(y)).unwrap_or(Value::Null),
        AggFunc::Sum | AggFunc::Avg => {
            let n = vals.len() as i64;
            match &vals[0] {
                Value::Int(_) | Value::BigInt(_) => {
                    // The exact sum; the engine's running BIGINT sum fails where this does not
                    // fit (and, with values of both signs near the limits, may fail earlier).
                    let s: i128 = vals.iter().filter_map(Value::as_i64).map(i128::from).sum();
                    let v = if a.func == AggFunc::Sum { s } else { s / n as i128 };
                    let what = if a.func == AggFunc::Sum { "a SUM" } else { "the sum of an AVG" };
                    i64::try_from(s).map_err(|_| format!("overflow: {what} does not fit BIGINT"))?;
                    if matches!(vals[0], Value::Int(_)) {
                        Value::Int(i32::try_from(v).map_err(|_| format!("overflow: {what} does not fit INT"))?)
                    } else {
                        Value::BigInt(v as i64)
                    }
                }
                Value::Double(_) => {
                    let s: f64 = vals.iter().filter_map(Value::as_f64).sum();
                    Value::Double(if a.func == AggFunc::Sum { s } else { s / n as f64 })
                }
                Value::Decimal(_, scale) => {
                    let s: i128 = vals.iter().map(|v| if let Value::Decimal(m, _) = v { *m } else { 0 }).sum();
                    if a.func == AggFunc::Sum {
                        Value::Decimal(s, *scale)
                    } else {
                        let out = a.ty.scale();
                        let scaled = darwin_columnar::scalar::rescale(s, *scale, out + 1) / n as i128;
                        Value::Decimal(darwin_columnar::scalar::rescale(scaled, out + 1, out), out)
                    }
                }
                other => return Err(format!("cannot sum {other:?}")),
            }
        }
        AggFunc::Count => unreachable!(),
    })
}
