//! Row-at-a-time expression evaluation over `Value`s.

use darwin_columnar::scalar;
use darwin_common::{DataType, Value};
use darwin_plan::{BinOp, Expr, ExprKind, Func};
use std::cmp::Ordering;

/// Evaluates `e` over one row; Err for an evaluation failure (division by zero, a failed cast).
pub fn eval(e: &Expr, row: &[Value]) -> Result<Value, String> {
    Ok(match &e.kind {
        ExprKind::Column(i) => row[*i].clone(),
        ExprKind::Literal(v) => v.clone(),
        ExprKind::Binary { op: BinOp::And, left, right } => match (eval(left, row)?, eval(right, row)?) {
            (Value::Bool(false), _) | (_, Value::Bool(false)) => Value::Bool(false),
            (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
            _ => Value::Null,
        },
        ExprKind::Binary { op: BinOp::Or, left, right } => match (eval(left, row)?, eval(right, row)?) {
            (Value::Bool(true), _) | (_, Value::Bool(true)) => Value::Bool(true),
            (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
            _ => Value::Null,
        },
        ExprKind::Binary { op, left, right } => {
            let (a, b) = (eval(left, row)?, eval(right, row)?);
            if a.is_null() || b.is_null() {
                return Ok(Value::Null);
            }
            if op.is_comparison() {
                let o = a.total_cmp(&b);
                return Ok(Value::Bool(match op {
                    BinOp::Eq => o == Ordering::Equal,
                    BinOp::NotEq => o != Ordering::Equal,
                    BinOp::Lt => o == Ordering::Less,
                    BinOp::LtEq => o != Ordering::Greater,
                    BinOp::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                }));
            }
            arith(*op, a, b, e.ty)?
        }
        ExprKind::Not(x) => match eval(x, row)? {
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::Null,
        },
        ExprKind::Neg(x) => match eval(x, row)? {
            Value::Int(v) => Value::Int(v.checked_neg().ok_or("overflow: negation does not fit INT")?),
            Value::BigInt(v) => Value::BigInt(v.checked_neg().ok_or("overflow: negation does not fit BIGINT")?),
            Value::Double(v) => Value::Double(-v),
            Value::Decimal(m, s) => Value::Decimal(-m, s),
            Value::Interval(v) => Value::Interval(-v),
            _ => Value::Null,
        },
        ExprKind::IsNull { expr, negated } => Value::Bool(eval(expr, row)?.is_null() != *negated),
        ExprKind::Cast(x) => scalar::cast_value(&eval(x, row)?, e.ty).map_err(|e| e.to_string())?,
        ExprKind::Case { branches, otherwise } => {
            for (w, t) in branches {
                if eval(w, row)? == Value::Bool(true) {
                    return eval(t, row);
                }
            }
            match otherwise {
                Some(o) => eval(o, row)?,
                None => Value::Null,
            }
        }
        ExprKind::Like { expr, pattern, negated } => match eval(expr, row)? {
            Value::Str(s) => Value::Bool(scalar::like(&s, &pattern.chars().collect::<Vec<_>>()) != *negated),
            _ => Value::Null,
        },
        ExprKind::Call { func, args } => {
            let vals: Vec<Value> = args.iter().map(|a| eval(a, row)).collect::<Result<_, _>>()?;
            match func {
                Func::Coalesce => vals.into_iter().find(|v| !v.is_null()).unwrap_or(Value::Null),
                Func::If => {
                    if vals[0] == Value::Bool(true) {
                        vals[1].clone()
                    } else {
                        vals[2].clone()
                    }
                }
                Func::NullIf => {
                    if !vals[1].is_null() && vals[0].total_cmp(&vals[1]) == Ordering::Equal {
                        Value::Null
                    } else {
                        vals[0].clone()
                    }
                }
                // IN decides NULL itself: a NULL in the list matters only when nothing matches.
                Func::InList => scalar::call_value(*func, &vals, e.ty).map_err(|e| e.to_string())?,
                _ if vals.iter().any(Value::is_null) => Value::Null,
                f => scalar::call_value(*f, &vals, e.ty).map_err(|e| e.to_string())?,
            }
        }
    })
}

/// Arithmetic of one row, exact or an error: checked integer operations, a decimal within its
/// type's precision, a timestamp within years 1 to 9999 (the engine's rules, written plainly).
fn arith(op: BinOp, a: Value, b: Value, ty: DataType) -> Result<Value, String> {
    use Value::*;
    let div0 = || "division by zero".to_string();
    let overflow = || format!("overflow: the result of {op:?} does not fit {ty}");
    let int = |x: i64, y: i64| -> Result<i64, String> {
        match op {
            BinOp::Add => x.checked_add(y).ok_or_else(overflow),
            BinOp::Sub => x.checked_sub(y).ok_or_else(overflow),
            BinOp::Mul => x.checked_mul(y).ok_or_else(overflow),
            _ if y == 0 => Err(div0()),
            BinOp::Div => x.checked_div(y).ok_or_else(overflow),
            _ => x.checked_rem(y).ok_or_else(overflow),
        }
    };
    Ok(match (a, b) {
        (Timestamp(t), Interval(i)) => {
            let v = int(t, i)?;
            if !(-62_135_596_800_000..=253_402_300_799_999).contains(&v) {
                return Err(overflow());
            }
            Timestamp(v)
        }
        (Interval(x), Interval(y)) => Interval(int(x, y)?),
        (Int(x), Int(y)) => Int(i32::try_from(int(i64::from(x), i64::from(y))?).map_err(|_| overflow())?),
        (BigInt(x), BigInt(y)) => BigInt(int(x, y)?),
        (Double(x), Double(y)) => Double(match op {
            BinOp::Add => x + y,
            BinOp::Sub => x - y,
            BinOp::Mul => x * y,
            BinOp::Div => x / y,
            _ => x % y,
        }),
        (Decimal(x, sx), Decimal(y, sy)) => {
            let (m, scale) = match op {
                BinOp::Mul => (x.checked_mul(y), sx + sy),
                BinOp::Add => (x.checked_add(y), sx),
                BinOp::Sub => (x.checked_sub(y), sx),
                _ if y == 0 => return Err(div0()),
                BinOp::Div => (x.checked_div(y), sx),
                _ => (x.checked_rem(y), sx),
            };
            let limit = match ty {
                DataType::Decimal { precision, .. } => 10u128.pow(u32::from(precision)),
                _ => u128::MAX,
            };
            Decimal(m.filter(|m| m.unsigned_abs() < limit).ok_or_else(overflow)?, scale)
        }
        (Str(x), Str(y)) if op == BinOp::Concat => Str(x + &y),
        (a, b) => return Err(format!("no arithmetic {op:?} for {a:?} and {b:?} ({ty})")),
    })
}
