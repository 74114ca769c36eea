//! Typing helpers of the binder: literals, intervals, implicit widening of operands, and the
//! result types of arithmetic (following Flink: INT / INT is INT, DECIMAL * BIGINT is DECIMAL).

use super::types::castable;
use crate::error::{loc, Result, SqlError};
use darwin_common::time::parse_timestamp;
use darwin_common::{DataType, Value};
use darwin_plan::{BinOp, Expr, ExprKind};
use sqlparser::ast;

pub(super) fn is_null_literal(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Literal(Value::Null))
}

pub(super) fn retype(e: Expr, ty: DataType) -> Expr {
    if is_null_literal(&e) {
        return Expr::literal(Value::Null, ty);
    }
    e.cast(ty)
}

pub(super) fn expect_bool(e: Expr, span: sqlparser::tokenizer::Span, what: &str) -> Result<Expr> {
    if is_null_literal(&e) {
        return Ok(Expr::literal(Value::Null, DataType::Boolean));
    }
    if e.ty != DataType::Boolean {
        return Err(SqlError::at(loc(span), format!("{what} needs BOOLEAN operands, found {}", e.ty)));
    }
    Ok(e)
}

pub(super) fn to_varchar(e: Expr, span: sqlparser::tokenizer::Span, what: &str) -> Result<Expr> {
    if is_null_literal(&e) {
        return Ok(Expr::literal(Value::Null, DataType::Varchar));
    }
    if e.ty == DataType::Varchar {
        return Ok(e);
    }
    if castable(e.ty, DataType::Varchar) {
        return Ok(e.cast(DataType::Varchar));
    }
    Err(SqlError::at(loc(span), format!("{what} needs VARCHAR operands, found {}", e.ty)))
}

/// The type several values (CASE branches, COALESCE arguments) are widened to.
pub(super) fn common_type(exprs: &[&Expr], span: sqlparser::tokenizer::Span) -> Result<DataType> {
    let mut ty: Option<DataType> = None;
    for e in exprs.iter().filter(|e| !is_null_literal(e)) {
        ty = Some(match ty {
            None => e.ty,
            Some(t) if t == e.ty => t,
            Some(t) => DataType::numeric_common(t, e.ty)
                .ok_or_else(|| SqlError::at(loc(span), format!("cannot combine values of types {t} and {}", e.ty)))?,
        });
    }
    Ok(ty.unwrap_or(DataType::Varchar))
}

/// Brings two operands of a comparison to one type.
pub(super) fn unify(l: Expr, r: Expr, span: sqlparser::tokenizer::Span, what: &str) -> Result<(Expr, Expr)> {
    if is_null_literal(&l) {
        let ty = r.ty;
        return Ok((Expr::literal(Value::Null, ty), r));
    }
    if is_null_literal(&r) {
        let ty = l.ty;
        return Ok((l, Expr::literal(Value::Null, ty)));
    }
    if l.ty == r.ty {
        return Ok((l, r));
    }
    // A string literal compared with a timestamp is read as a timestamp.
    let ts_lit = |a: &Expr, b: &Expr| -> Result<Option<Expr>> {
        if let (DataType::Timestamp, ExprKind::Literal(Value::Str(s))) = (a.ty, &b.kind) {
            let ts = parse_timestamp(s).ok_or_else(|| SqlError::at(loc(span), format!("'{s}' is not a timestamp")))?;
            return Ok(Some(Expr::literal(Value::Timestamp(ts), DataType::Timestamp)));
        }
        Ok(None)
    };
    if let Some(lit) = ts_lit(&l, &r)? {
        return Ok((l, lit));
    }
    if let Some(lit) = ts_lit(&r, &l)? {
        return Ok((lit, r));
    }
    match DataType::numeric_common(l.ty, r.ty) {
        Some(t) => Ok((l.cast(t), r.cast(t))),
        None => Err(SqlError::at(loc(span), format!("cannot apply '{what}' to {} and {}", l.ty, r.ty))),
    }
}

/// Lists shorter than this stay an OR of equalities (compiled to plain comparisons); longer
/// ones are looked up in a hash set.
const IN_SET_MIN: usize = 16;

/// `x IN (v1, v2, ...)` of literals as one hashed lookup (`Func::InList`, the literals as its
/// arguments after `x`), where every literal takes `x`'s type as it stands or by a lossless
/// widening (an INT into a BIGINT or DOUBLE, a string into a TIMESTAMP); None otherwise (the
/// caller builds the OR of equalities).
pub(super) fn in_list(x: &Expr, values: &[Expr]) -> Option<Expr> {
    if values.len() < IN_SET_MIN {
        return None;
    }
    let converted = values
        .iter()
        .map(|v| match (&v.kind, x.ty) {
            (ExprKind::Literal(Value::Null), _) => Some(Value::Null),
            (ExprKind::Literal(lit), ty) if v.ty == ty => Some(lit.clone()),
            (ExprKind::Literal(Value::Int(i)), DataType::BigInt) => Some(Value::BigInt(i64::from(*i))),
            (ExprKind::Literal(Value::Int(i)), DataType::Double) => Some(Value::Double(f64::from(*i))),
            (ExprKind::Literal(Value::BigInt(i)), DataType::Int) => i32::try_from(*i).ok().map(Value::Int),
            (ExprKind::Literal(Value::Str(s)), DataType::Timestamp) => parse_timestamp(s).map(Value::Timestamp),
            _ => None,
        })
        .collect::<Option<Vec<Value>>>()?;
    let mut args = vec![x.clone()];
    args.extend(converted.into_iter().map(|v| Expr::literal(v, x.ty)));
    Some(Expr::new(ExprKind::Call { func: darwin_plan::Func::InList, args }, DataType::Boolean))
}

pub(super) fn arithmetic(op: BinOp, l: Expr, r: Expr, span: sqlparser::tokenizer::Span) -> Result<Expr> {
    use DataType::*;
    let (l, r) = if is_null_literal(&l) || is_null_literal(&r) { unify(l, r, span, op.symbol())? } else { (l, r) };
    match (l.ty, r.ty, op) {
        (Timestamp, Interval, BinOp::Add | BinOp::Sub) => return Ok(Expr::binary(op, l, r, Timestamp)),
        (Interval, Timestamp, BinOp::Add) => return Ok(Expr::binary(op, r, l, Timestamp)),
        (Interval, Interval, BinOp::Add | BinOp::Sub) => return Ok(Expr::binary(op, l, r, Interval)),
        _ => {}
    }
    let Some(common) = DataType::numeric_common(l.ty, r.ty) else {
        return Err(SqlError::at(loc(span), format!("cannot apply '{}' to {} and {}", op.symbol(), l.ty, r.ty)));
    };
    match (common, op) {
        (Decimal { .. }, BinOp::Mul) => {
            let (dl, dr) = (l.ty.as_decimal().unwrap_or(common), r.ty.as_decimal().unwrap_or(common));
            let (Decimal { precision: p1, scale: s1 }, Decimal { precision: p2, scale: s2 }) = (dl, dr) else {
                unreachable!()
            };
            let ty = Decimal { precision: (p1 + p2).min(38), scale: (s1 + s2).min(38) };
            Ok(Expr::binary(op, l.cast(dl), r.cast(dr), ty))
        }
        (Decimal { .. }, BinOp::Div) => Ok(Expr::binary(op, l.cast(Double), r.cast(Double), Double)),
        (Decimal { precision, scale }, BinOp::Add | BinOp::Sub) => {
            let ty = Decimal { precision: (precision + 1).min(38), scale };
            Ok(Expr::binary(op, l.cast(common), r.cast(common), ty))
        }
        (Decimal { .. }, _) => Ok(Expr::binary(op, l.cast(common), r.cast(common), common)),
        _ => Ok(Expr::binary(op, l.cast(common), r.cast(common), common)),
    }
}

pub(super) fn negate_literal(v: &Value) -> Option<Value> {
    Some(match v {
        Value::Int(x) => Value::Int(x.checked_neg()?),
        Value::BigInt(x) => Value::BigInt(x.checked_neg()?),
        Value::Double(x) => Value::Double(-x),
        Value::Decimal(m, s) => Value::Decimal(-m, *s),
        Value::Interval(x) => Value::Interval(-x),
        _ => return None,
    })
}

pub(super) fn literal(v: &ast::Value, span: sqlparser::tokenizer::Span) -> Result<Expr> {
    Ok(match v {
        ast::Value::Number(s, _) => {
            number_literal(s).ok_or_else(|| SqlError::at(loc(span), format!("'{s}' is not a valid number")))?
        }
        ast::Value::SingleQuotedString(s) => Expr::literal(Value::Str(s.clone()), DataType::Varchar),
        ast::Value::Boolean(b) => Expr::literal(Value::Bool(*b), DataType::Boolean),
        ast::Value::Null => Expr::literal(Value::Null, DataType::Varchar),
        other => return Err(SqlError::at(loc(span), format!("literal {other} is not supported"))),
    })
}

pub(super) fn number_literal(s: &str) -> Option<Expr> {
    if s.contains(['e', 'E']) {
        return s.parse::<f64>().ok().map(|v| Expr::literal(Value::Double(v), DataType::Double));
    }
    if let Some((int, frac)) = s.split_once('.') {
        let digits = format!("{int}{frac}");
        let m: i128 = digits.parse().ok()?;
        let scale = frac.len() as u8;
        let precision = (digits.trim_start_matches('0').len().max(1) as u8).max(scale).min(38);
        return Some(Expr::literal(Value::Decimal(m, scale), DataType::Decimal { precision, scale }));
    }
    let v: i64 = s.parse().ok()?;
    Some(match i32::try_from(v) {
        Ok(i) => Expr::literal(Value::Int(i), DataType::Int),
        Err(_) => Expr::literal(Value::BigInt(v), DataType::BigInt),
    })
}

/// `INTERVAL '10' SECOND` and friends, in milliseconds.
pub(super) fn interval(iv: &ast::Interval, span: sqlparser::tokenizer::Span) -> Result<i64> {
    let text = match iv.value.as_ref() {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) => s.clone(),
            ast::Value::Number(n, _) => n.clone(),
            other => other.to_string(),
        },
        other => return Err(SqlError::at(loc(span), format!("INTERVAL needs a literal, found '{other}'"))),
    };
    let unit_ms: f64 = match &iv.leading_field {
        Some(ast::DateTimeField::Millisecond) | Some(ast::DateTimeField::Milliseconds) => 1.0,
        Some(ast::DateTimeField::Second) | Some(ast::DateTimeField::Seconds) => 1000.0,
        Some(ast::DateTimeField::Minute) | Some(ast::DateTimeField::Minutes) => 60_000.0,
        Some(ast::DateTimeField::Hour) | Some(ast::DateTimeField::Hours) => 3_600_000.0,
        Some(ast::DateTimeField::Day) | Some(ast::DateTimeField::Days) => 86_400_000.0,
        other => {
            let unit = other.as_ref().map_or("no unit".to_string(), |u| u.to_string());
            return Err(SqlError::at(
                loc(span),
                format!("INTERVAL with {unit} is not supported; use MILLISECOND, SECOND, MINUTE, HOUR or DAY"),
            ));
        }
    };
    if iv.last_field.is_some() {
        return Err(SqlError::at(loc(span), "compound intervals (e.g. HOUR TO SECOND) are not supported yet"));
    }
    let v: f64 = text
        .trim()
        .parse()
        .map_err(|_| SqlError::at(loc(span), format!("'{text}' is not a number of interval units")))?;
    Ok((v * unit_ms).round() as i64)
}
