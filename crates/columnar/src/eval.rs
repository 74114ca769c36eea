//! Vectorised evaluation of bound expressions over a batch. Dispatch on the operator and the
//! physical type happens once per batch; the loops inside are typed.

use crate::column::{Batch, Column, ColumnBuilder, ColumnData, StrVec};
use crate::error::{EvalError, Result};
use crate::scalar;
use darwin_common::{DataType, Value};
use darwin_plan::{BinOp, Expr, ExprKind, Func};

fn and_validity(a: &Option<Vec<bool>>, b: &Option<Vec<bool>>) -> Option<Vec<bool>> {
    match (a, b) {
        (None, None) => None,
        (Some(x), None) | (None, Some(x)) => Some(x.clone()),
        (Some(x), Some(y)) => Some(x.iter().zip(y).map(|(a, b)| *a && *b).collect()),
    }
}

#[inline]
fn zip<A: Copy, B: Copy, O>(a: &[A], b: &[B], mut f: impl FnMut(A, B) -> O) -> Vec<O> {
    a.iter().zip(b).map(|(x, y)| f(*x, *y)).collect()
}

/// Evaluates `e` over every row of `batch`: a column of `batch.num_rows` values of type `e.ty`.
/// Fails on the first value an operation rejects (division by zero, a bad cast, ...).
/// Evaluates `e` over every row of `batch`. An error is told with the innermost expression
/// around it that the script wrote (`Expr::origin`).
pub fn eval(e: &Expr, batch: &Batch) -> Result<Column> {
    match (eval_node(e, batch), &e.origin) {
        (Err(error), Some(at)) if !matches!(error, EvalError::In { .. }) => {
            Err(EvalError::In { at: (**at).clone(), error: Box::new(error) })
        }
        (r, _) => r,
    }
}

fn eval_node(e: &Expr, batch: &Batch) -> Result<Column> {
    let n = batch.num_rows;
    match &e.kind {
        ExprKind::Column(i) => Ok(batch.columns[*i].clone()),
        ExprKind::Literal(v) => Ok(Column::constant(v, e.ty, n)),
        ExprKind::Binary { op, left, right } if op.is_comparison() && matches!(right.kind, ExprKind::Literal(_)) => {
            let ExprKind::Literal(v) = &right.kind else { unreachable!() };
            Ok(compare_scalar(*op, &eval(left, batch)?, v, right.ty))
        }
        ExprKind::Binary { op, left, right } => {
            let l = eval(left, batch)?;
            let r = eval(right, batch)?;
            match op {
                BinOp::And | BinOp::Or => Ok(logic(*op, &l, &r)),
                BinOp::Concat => {
                    let (ColumnData::Str(a), ColumnData::Str(b)) = (&l.data, &r.data) else {
                        unreachable!("binder casts to VARCHAR")
                    };
                    let mut out = StrVec::with_capacity(n);
                    let mut buf = String::new();
                    for i in 0..n {
                        buf.clear();
                        buf.push_str(a.get(i));
                        buf.push_str(b.get(i));
                        out.push(&buf);
                    }
                    Ok(Column::new(ColumnData::Str(out.into()), and_validity(&l.validity, &r.validity)))
                }
                op if op.is_comparison() => Ok(compare(*op, &l, &r)),
                op => arithmetic(*op, &l, &r, left.ty, e.ty),
            }
        }
        ExprKind::Not(x) => {
            let c = eval(x, batch)?;
            let v: Vec<bool> = c.bools().iter().map(|b| !b).collect();
            Ok(Column::new(ColumnData::Bool(v.into()), c.validity))
        }
        ExprKind::Neg(x) => {
            let c = eval(x, batch)?;
            let data = match &c.data {
                ColumnData::I32(v) => ColumnData::I32(negate(v, &c, x.ty)?.into()),
                ColumnData::I64(v) => ColumnData::I64(negate(v, &c, x.ty)?.into()),
                ColumnData::F64(v) => ColumnData::F64(v.iter().map(|x| -x).collect()),
                ColumnData::I128(v) => ColumnData::I128(v.iter().map(|x| -x).collect()),
                _ => unreachable!("binder allows negation of numbers only"),
            };
            Ok(Column::new(data, c.validity))
        }
        ExprKind::IsNull { expr, negated } => {
            let c = eval(expr, batch)?;
            let v: Vec<bool> = (0..n).map(|i| c.is_valid(i) == *negated).collect();
            Ok(Column::new(ColumnData::Bool(v.into()), None))
        }
        ExprKind::Cast(x) => cast(&eval(x, batch)?, x.ty, e.ty),
        ExprKind::Case { branches, otherwise } => {
            let conds: Vec<Column> = branches.iter().map(|(w, _)| eval(w, batch)).collect::<Result<_>>()?;
            let vals: Vec<Column> = branches.iter().map(|(_, t)| eval(t, batch)).collect::<Result<_>>()?;
            let other = otherwise.as_ref().map(|o| eval(o, batch)).transpose()?;
            let mut b = ColumnBuilder::new(e.ty, n);
            for i in 0..n {
                match conds.iter().position(|c| c.is_valid(i) && c.bools()[i]) {
                    Some(k) => b.push_from(&vals[k], i),
                    None => match &other {
                        Some(o) => b.push_from(o, i),
                        None => b.push_null(),
                    },
                }
            }
            Ok(b.finish())
        }
        ExprKind::Like { expr, pattern, negated } => {
            let c = eval(expr, batch)?;
            let ColumnData::Str(s) = &c.data else { unreachable!("LIKE on strings") };
            let pat: Vec<char> = pattern.chars().collect();
            let v: Vec<bool> = (0..n).map(|i| scalar::like(s.get(i), &pat) != *negated).collect();
            Ok(Column::new(ColumnData::Bool(v.into()), c.validity))
        }
        ExprKind::Call { func: Func::InList, args } => Ok(in_set(&args[1..]).eval(&eval(&args[0], batch)?)),
        ExprKind::Call { func, args } => {
            let cols: Vec<Column> = args.iter().map(|a| eval(a, batch)).collect::<Result<_>>()?;
            call(*func, args, &cols, e.ty, n)
        }
    }
}

/// The hash set of an IN list's literal values.
pub fn in_set(values: &[Expr]) -> crate::in_set::InSet {
    let literals: Vec<Value> = values
        .iter()
        .map(|v| match &v.kind {
            ExprKind::Literal(l) => l.clone(),
            _ => unreachable!("the binder makes an IN set of literals only"),
        })
        .collect();
    crate::in_set::InSet::new(&literals)
}

/// Evaluates key expressions over a batch.
pub fn eval_keys(keys: &[Expr], batch: &Batch) -> Result<Vec<Column>> {
    keys.iter().map(|k| eval(k, batch)).collect()
}

/// Evaluates a predicate to a selection mask: NULL counts as false.
pub fn eval_mask(e: &Expr, batch: &Batch) -> Result<Vec<bool>> {
    let c = eval(e, batch)?;
    let mut m = c.bools().to_vec();
    if let Some(v) = &c.validity {
        for (x, ok) in m.iter_mut().zip(v) {
            *x &= *ok;
        }
    }
    Ok(m)
}

fn logic(op: BinOp, l: &Column, r: &Column) -> Column {
    let (a, b) = (l.bools(), r.bools());
    let n = a.len();
    if l.validity.is_none() && r.validity.is_none() {
        let v = if op == BinOp::And { zip(a, b, |x, y| x && y) } else { zip(a, b, |x, y| x || y) };
        return Column::new(ColumnData::Bool(v.into()), None);
    }
    // Three-valued logic: FALSE AND NULL = FALSE, TRUE OR NULL = TRUE.
    let mut vals = Vec::with_capacity(n);
    let mut valid = Vec::with_capacity(n);
    for i in 0..n {
        let x = l.is_valid(i).then_some(a[i]);
        let y = r.is_valid(i).then_some(b[i]);
        let res = match (op, x, y) {
            (BinOp::And, Some(false), _) | (BinOp::And, _, Some(false)) => Some(false),
            (BinOp::And, Some(true), Some(true)) => Some(true),
            (BinOp::Or, Some(true), _) | (BinOp::Or, _, Some(true)) => Some(true),
            (BinOp::Or, Some(false), Some(false)) => Some(false),
            _ => None,
        };
        vals.push(res.unwrap_or(false));
        valid.push(res.is_some());
    }
    Column::new(ColumnData::Bool(vals.into()), Some(valid))
}

fn cmp_op<T: PartialOrd + Copy>(op: BinOp, a: &[T], b: &[T]) -> Vec<bool> {
    match op {
        BinOp::Eq => zip(a, b, |x, y| x == y),
        BinOp::NotEq => zip(a, b, |x, y| x != y),
        BinOp::Lt => zip(a, b, |x, y| x < y),
        BinOp::LtEq => zip(a, b, |x, y| x <= y),
        BinOp::Gt => zip(a, b, |x, y| x > y),
        _ => zip(a, b, |x, y| x >= y),
    }
}

fn compare(op: BinOp, l: &Column, r: &Column) -> Column {
    let v = match (&l.data, &r.data) {
        (ColumnData::Bool(a), ColumnData::Bool(b)) => cmp_op(op, a, b),
        (ColumnData::I32(a), ColumnData::I32(b)) => cmp_op(op, a, b),
        (ColumnData::I64(a), ColumnData::I64(b)) => cmp_op(op, a, b),
        (ColumnData::F64(a), ColumnData::F64(b)) => cmp_op(op, a, b),
        (ColumnData::I128(a), ColumnData::I128(b)) => cmp_op(op, a, b),
        (ColumnData::Str(a), ColumnData::Str(b)) => (0..a.len()).map(|i| holds(op, a.get(i).cmp(b.get(i)))).collect(),
        _ => unreachable!("binder unifies comparison operand types"),
    };
    Column::new(ColumnData::Bool(v.into()), and_validity(&l.validity, &r.validity))
}

/// Whether a comparison operator holds for an ordering.
#[inline]
fn holds(op: BinOp, o: std::cmp::Ordering) -> bool {
    match op {
        BinOp::Eq => o.is_eq(),
        BinOp::NotEq => o.is_ne(),
        BinOp::Lt => o.is_lt(),
        BinOp::LtEq => o.is_le(),
        BinOp::Gt => o.is_gt(),
        _ => o.is_ge(),
    }
}

/// A column compared with a literal, without materialising the literal.
fn compare_scalar(op: BinOp, l: &Column, v: &Value, ty: DataType) -> Column {
    fn cmp<T: PartialOrd + Copy>(op: BinOp, a: &[T], x: T) -> Vec<bool> {
        match op {
            BinOp::Eq => a.iter().map(|y| *y == x).collect(),
            BinOp::NotEq => a.iter().map(|y| *y != x).collect(),
            BinOp::Lt => a.iter().map(|y| *y < x).collect(),
            BinOp::LtEq => a.iter().map(|y| *y <= x).collect(),
            BinOp::Gt => a.iter().map(|y| *y > x).collect(),
            _ => a.iter().map(|y| *y >= x).collect(),
        }
    }
    if v.is_null() {
        return Column::new(ColumnData::Bool(vec![false; l.len()].into()), Some(vec![false; l.len()]));
    }
    let out = match (&l.data, v) {
        (ColumnData::Bool(a), Value::Bool(x)) => cmp(op, a, *x),
        (ColumnData::I32(a), Value::Int(x)) => cmp(op, a, *x),
        (ColumnData::I64(a), v) if v.as_i64().is_some() => cmp(op, a, v.as_i64().unwrap_or_default()),
        (ColumnData::F64(a), v) if v.as_f64().is_some() => cmp(op, a, v.as_f64().unwrap_or_default()),
        (ColumnData::I128(a), Value::Decimal(m, s)) => cmp(op, a, crate::scalar::rescale(*m, *s, ty.scale())),
        (ColumnData::Str(a), Value::Str(x)) => {
            let x = x.as_str();
            (0..a.len()).map(|i| holds(op, a.get(i).cmp(x))).collect()
        }
        _ => return compare(op, l, &Column::constant(v, ty, l.len())),
    };
    Column::new(ColumnData::Bool(out.into()), l.validity.clone())
}

/// The earliest and latest TIMESTAMP(3) (years 1 to 9999, as Flink's), in ms since the epoch.
pub const TIMESTAMP_RANGE: std::ops::RangeInclusive<i64> = -62_135_596_800_000..=253_402_300_799_999;

/// A value of type `ty` held as `x` in an integer column, as an error message shows it.
fn show(x: i128, ty: DataType) -> String {
    match ty {
        DataType::Decimal { scale, .. } => darwin_common::value::format_decimal(x, scale),
        DataType::Timestamp => format!("TIMESTAMP '{}'", darwin_common::time::format_timestamp(x as i64)),
        DataType::Interval => format!("INTERVAL '{}'", darwin_common::value::format_interval(x as i64)),
        _ => x.to_string(),
    }
}

/// Whether an exact integer result `v` fits a value of type `out`: a decimal's precision, a
/// timestamp's years 1 to 9999 (other integers are checked by their own width).
#[inline]
pub fn fits(v: i128, out: DataType) -> bool {
    match out {
        DataType::Decimal { precision, .. } => v.unsigned_abs() < 10u128.pow(u32::from(precision)),
        DataType::Timestamp => (*TIMESTAMP_RANGE.start() as i128..=*TIMESTAMP_RANGE.end() as i128).contains(&v),
        _ => true,
    }
}

/// The error of `x op y` (`x` of type `lt`) whose result does not fit `out`, naming both
/// operands as SQL shows them. Shared with compiled code, so both executors say the same.
#[cold]
pub fn overflow_error(op: BinOp, x: i128, y: i128, lt: DataType, out: DataType) -> EvalError {
    // The right operand's type: a decimal product's scale is the sum of its operands'.
    let rt = match (op, out) {
        (BinOp::Mul, DataType::Decimal { precision, scale }) => {
            DataType::Decimal { precision, scale: scale - lt.scale() }
        }
        (_, DataType::Timestamp) if lt == DataType::Timestamp => DataType::Interval,
        (_, DataType::Timestamp) => DataType::Timestamp,
        _ => lt,
    };
    EvalError::Overflow { what: format!("{} {} {}", show(x, lt), op.symbol(), show(y, rt)), to: out }
}

/// Integer, decimal, timestamp and double arithmetic. Integer results are exact or an overflow
/// error naming the operands (never a wrapped value); decimal results keep their type's
/// precision; a timestamp result stays within years 1 to 9999.
fn arithmetic(op: BinOp, l: &Column, r: &Column, lt: DataType, out: DataType) -> Result<Column> {
    let mut validity = and_validity(&l.validity, &r.validity);
    let valid = |i: usize| validity.as_ref().is_none_or(|v| v[i]);
    let overflow = |x: i128, y: i128| overflow_error(op, x, y, lt, out);
    let fits = |v: i128| fits(v, out);
    macro_rules! int_ops {
        ($a:expr, $b:expr, $ctor:path, $t:ty) => {{
            let (a, b): (&[$t], &[$t]) = ($a, $b);
            if matches!(op, BinOp::Div | BinOp::Mod) {
                if (0..b.len()).any(|i| b[i] == 0 && valid(i)) {
                    return Err(EvalError::DivisionByZero {
                        op: if op == BinOp::Div { "/" } else { "MOD" }.to_string(),
                    });
                }
            }
            let f = |x: $t, y: $t| -> Option<$t> {
                let v = match op {
                    BinOp::Add => x.checked_add(y),
                    BinOp::Sub => x.checked_sub(y),
                    BinOp::Mul => x.checked_mul(y),
                    BinOp::Div if y == 0 => Some(0),
                    BinOp::Div => x.checked_div(y),
                    BinOp::Mod if y == 0 => Some(0),
                    _ => x.checked_rem(y),
                };
                v.filter(|v| fits(*v as i128))
            };
            // One pass that notes whether any row failed; the failing row is looked up only then.
            let mut failed = false;
            let values: Vec<$t> = zip(a, b, |x, y| {
                f(x, y).unwrap_or_else(|| {
                    failed = true;
                    0
                })
            });
            if failed {
                if let Some(i) = (0..a.len()).find(|&i| valid(i) && f(a[i], b[i]).is_none()) {
                    return Err(overflow(a[i] as i128, b[i] as i128));
                }
            }
            $ctor(values.into())
        }};
    }
    let data = match (&l.data, &r.data) {
        (ColumnData::I32(a), ColumnData::I32(b)) => int_ops!(a, b, ColumnData::I32, i32),
        (ColumnData::I64(a), ColumnData::I64(b)) => int_ops!(a, b, ColumnData::I64, i64),
        (ColumnData::I128(a), ColumnData::I128(b)) => int_ops!(a, b, ColumnData::I128, i128),
        (ColumnData::F64(a), ColumnData::F64(b)) => ColumnData::F64(
            match op {
                BinOp::Add => zip(a, b, |x, y| x + y),
                BinOp::Sub => zip(a, b, |x, y| x - y),
                BinOp::Mul => zip(a, b, |x, y| x * y),
                BinOp::Div => zip(a, b, |x, y| x / y),
                _ => zip(a, b, |x, y| x % y),
            }
            .into(),
        ),
        _ => unreachable!("binder unifies arithmetic operand types"),
    };
    if validity.as_ref().is_some_and(|v| v.iter().all(|b| *b)) {
        validity = None;
    }
    Ok(Column::new(data, validity))
}

/// `-x` of every integer; the one integer without a negation (the type's minimum) is an error.
fn negate<T: Copy + Into<i128> + std::ops::Neg<Output = T> + PartialEq + num_min::Min>(
    v: &[T],
    c: &Column,
    ty: DataType,
) -> Result<Vec<T>> {
    if let Some(i) = (0..v.len()).find(|&i| c.is_valid(i) && v[i] == T::MIN) {
        return Err(negation_overflow(v[i].into(), ty));
    }
    Ok(v.iter().map(|x| if *x == T::MIN { *x } else { -*x }).collect())
}

/// The error of negating a type's minimum, which has no positive counterpart.
#[cold]
pub fn negation_overflow(x: i128, ty: DataType) -> EvalError {
    EvalError::Overflow { what: format!("-({})", show(x, ty)), to: ty }
}

/// The minimum of an integer type.
mod num_min {
    /// The type's smallest value, which has no negation.
    pub trait Min {
        const MIN: Self;
    }
    impl Min for i32 {
        const MIN: i32 = i32::MIN;
    }
    impl Min for i64 {
        const MIN: i64 = i64::MIN;
    }
}

/// An integer (or a decimal of scale `from_scale`) as a decimal of `scale` and `precision`, or
/// the error naming it (compiled code's cast; `to_decimal` is the interpreter's).
pub fn to_decimal_one(x: i128, from_scale: u8, scale: u8, precision: u8, from: DataType, to: DataType) -> Result<i128> {
    x.checked_mul(10i128.pow(u32::from(scale - from_scale)))
        .filter(|m| m.unsigned_abs() < 10u128.pow(u32::from(precision)))
        .ok_or_else(|| EvalError::OutOfRange { value: show(x, from), to })
}

/// Integers (or decimals of scale `from_scale`) as decimals of `scale`, each checked against
/// the target's precision: a value that does not fit is an error naming it, not a wrapped one.
pub fn to_decimal(
    v: impl Iterator<Item = i128>,
    from_scale: u8,
    scale: u8,
    precision: u8,
    c: &Column,
    from: DataType,
    to: DataType,
) -> Result<Vec<i128>> {
    let f = 10i128.pow(u32::from(scale - from_scale));
    let limit = 10u128.pow(u32::from(precision));
    let mut out = Vec::with_capacity(c.len());
    for (i, x) in v.enumerate() {
        match x.checked_mul(f).filter(|m| m.unsigned_abs() < limit) {
            Some(m) => out.push(m),
            None if !c.is_valid(i) => out.push(0),
            None => return Err(EvalError::OutOfRange { value: show(x, from), to }),
        }
    }
    Ok(out)
}

/// CAST between types. Fast paths for numeric widening; other conversions go per value.
pub fn cast(c: &Column, from: DataType, to: DataType) -> Result<Column> {
    use DataType::*;
    if from == to {
        return Ok(c.clone());
    }
    let data = match (&c.data, to) {
        (ColumnData::I32(v), BigInt) => Some(ColumnData::I64(v.iter().map(|x| *x as i64).collect())),
        (ColumnData::I32(v), Double) => Some(ColumnData::F64(v.iter().map(|x| *x as f64).collect())),
        (ColumnData::I64(v), Double) if from == BigInt => Some(ColumnData::F64(v.iter().map(|x| *x as f64).collect())),
        (ColumnData::I32(v), Decimal { scale, precision }) => Some(ColumnData::I128(
            to_decimal(v.iter().map(|x| i128::from(*x)), 0, scale, precision, c, from, to)?.into(),
        )),
        (ColumnData::I64(v), Decimal { scale, precision }) if from == BigInt => Some(ColumnData::I128(
            to_decimal(v.iter().map(|x| i128::from(*x)), 0, scale, precision, c, from, to)?.into(),
        )),
        (ColumnData::I128(v), Decimal { scale, precision }) if from.scale() <= scale => {
            Some(ColumnData::I128(to_decimal(v.iter().copied(), from.scale(), scale, precision, c, from, to)?.into()))
        }
        (ColumnData::I128(v), Double) => {
            let f = 10f64.powi(from.scale() as i32);
            Some(ColumnData::F64(v.iter().map(|x| *x as f64 / f).collect()))
        }
        (ColumnData::I64(v), BigInt) | (ColumnData::I64(v), Timestamp) => Some(ColumnData::I64(v.clone())),
        _ => None,
    };
    if let Some(d) = data {
        return Ok(Column::new(d, c.validity.clone()));
    }
    let mut b = ColumnBuilder::new(to, c.len());
    for i in 0..c.len() {
        let v = c.get(i, from);
        b.push(&scalar::cast_value(&v, to)?);
    }
    Ok(b.finish())
}

/// Scalar function over evaluated argument columns. NULL in, NULL out, except where SQL says
/// otherwise (COALESCE, IF, CONCAT's all-or-nothing).
fn call(func: Func, args: &[Expr], cols: &[Column], ty: DataType, n: usize) -> Result<Column> {
    let mut b = ColumnBuilder::new(ty, n);
    match func {
        Func::Coalesce => {
            for i in 0..n {
                match cols.iter().find(|c| c.is_valid(i)) {
                    Some(c) => b.push_from(c, i),
                    None => b.push_null(),
                }
            }
            return Ok(b.finish());
        }
        Func::If => {
            for i in 0..n {
                let pick = if cols[0].is_valid(i) && cols[0].bools()[i] { &cols[1] } else { &cols[2] };
                b.push_from(pick, i);
            }
            return Ok(b.finish());
        }
        Func::NullIf => {
            let eq = compare(BinOp::Eq, &cols[0], &cols[1]);
            for i in 0..n {
                if eq.is_valid(i) && eq.bools()[i] {
                    b.push_null();
                } else {
                    b.push_from(&cols[0], i);
                }
            }
            return Ok(b.finish());
        }
        _ => {}
    }
    // Fast paths for the string functions Nexmark leans on; the rest goes value by value.
    if let (Func::Lower | Func::Upper, ColumnData::Str(s)) = (func, &cols[0].data) {
        let mut out = StrVec::with_capacity(n);
        for i in 0..n {
            let v = s.get(i);
            if func == Func::Lower {
                out.push(&v.to_lowercase())
            } else {
                out.push(&v.to_uppercase())
            }
        }
        return Ok(Column::new(ColumnData::Str(out.into()), cols[0].validity.clone()));
    }
    if func == Func::TryCast {
        if let Ok(c) = cast(&cols[0], args[0].ty, ty) {
            return Ok(c);
        }
    }
    let types: Vec<DataType> = args.iter().map(|a| a.ty).collect();
    let mut vals: Vec<Value> = Vec::with_capacity(cols.len());
    for i in 0..n {
        vals.clear();
        vals.extend(cols.iter().zip(&types).map(|(c, t)| c.get(i, *t)));
        if vals.iter().any(Value::is_null) {
            b.push_null();
            continue;
        }
        b.push(&scalar::call_value(func, &vals, ty)?);
    }
    Ok(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use darwin_common::DataType as T;

    fn col(vals: &[Option<bool>]) -> Column {
        let mut b = ColumnBuilder::new(T::Boolean, vals.len());
        vals.iter().for_each(|v| b.push(&v.map_or(Value::Null, Value::Bool)));
        b.finish()
    }

    /// A timestamp result is checked as the exact difference, not as its low 64 bits: one that
    /// wraps back into years 1 to 9999 is still out of range.
    #[test]
    fn timestamp_results_are_checked_exactly() {
        assert!(fits(0, T::Timestamp));
        assert!(fits(i128::from(*TIMESTAMP_RANGE.end()), T::Timestamp));
        assert!(!fits(i128::from(*TIMESTAMP_RANGE.end()) + 1, T::Timestamp));
        assert!(!fits((1i128 << 64) + 5, T::Timestamp));
        assert!(!fits(i128::from(i64::MIN) - 1_000, T::Timestamp));
    }

    #[test]
    fn and_or_follow_three_valued_logic() {
        let (t, f, n) = (Some(true), Some(false), None);
        let l = col(&[t, t, t, f, f, n, n, f, n]);
        let r = col(&[t, f, n, f, n, n, t, t, f]);
        let and = logic(BinOp::And, &l, &r);
        let or = logic(BinOp::Or, &l, &r);
        let get = |c: &Column| (0..9).map(|i| c.is_valid(i).then(|| c.bools()[i])).collect::<Vec<_>>();
        assert_eq!(get(&and), vec![t, f, n, f, f, n, n, f, f]);
        assert_eq!(get(&or), vec![t, t, t, f, n, n, t, t, n]);
    }

    #[test]
    fn arithmetic_propagates_nulls_and_rejects_division_by_zero() {
        let batch = Batch::from_rows(
            &[vec![Value::BigInt(7), Value::BigInt(2)], vec![Value::Null, Value::BigInt(0)]],
            &[T::BigInt, T::BigInt],
        );
        let add = Expr::binary(BinOp::Add, Expr::column(0, T::BigInt), Expr::column(1, T::BigInt), T::BigInt);
        let c = eval(&add, &batch).unwrap();
        assert_eq!((c.get(0, T::BigInt), c.get(1, T::BigInt)), (Value::BigInt(9), Value::Null));
        // 7 / 2 = 3; NULL / 0 is NULL, not an error: only a valid zero divisor fails.
        let div = Expr::binary(BinOp::Div, Expr::column(0, T::BigInt), Expr::column(1, T::BigInt), T::BigInt);
        assert_eq!(eval(&div, &batch).unwrap().get(0, T::BigInt), Value::BigInt(3));
        let zero = Batch::from_rows(&[vec![Value::BigInt(1), Value::BigInt(0)]], &[T::BigInt, T::BigInt]);
        assert!(eval(&div, &zero).unwrap_err().to_string().contains("division by zero"));
    }

    #[test]
    fn casts_widen_integers_into_decimals() {
        let batch = Batch::from_rows(&[vec![Value::BigInt(250)], vec![Value::Null]], &[T::BigInt]);
        let d = T::Decimal { precision: 19, scale: 3 };
        let c = cast(&batch.columns[0], T::BigInt, d).unwrap();
        assert_eq!((c.get(0, d), c.get(1, d)), (Value::Decimal(250_000, 3), Value::Null));
        let s = cast(&c, d, T::Varchar).unwrap();
        assert_eq!(s.get(0, T::Varchar), Value::Str("250.000".into()));
        assert!(cast(&Column::constant(&Value::Str("x1".into()), T::Varchar, 1), T::Varchar, T::Int).is_err());
    }
}
