//! Scalar and aggregate function signatures: argument checks, implicit casts and result types.

use super::coerce::{common_type, is_null_literal};
use super::expr::ExprBinder;
use super::scope::Scope;
use crate::error::{loc, Result, SqlError};
use darwin_common::{nearest, DataType, Value};
use darwin_plan::{AggCall, AggFunc, Expr, ExprKind, Func};
use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

const SCALARS: &[(&str, Func)] = &[
    ("ABS", Func::Abs),
    ("FLOOR", Func::Floor),
    ("CEIL", Func::Ceil),
    ("CEILING", Func::Ceil),
    ("ROUND", Func::Round),
    ("POWER", Func::Power),
    ("POW", Func::Power),
    ("SQRT", Func::Sqrt),
    ("LOWER", Func::Lower),
    ("UPPER", Func::Upper),
    ("CHAR_LENGTH", Func::CharLength),
    ("CHARACTER_LENGTH", Func::CharLength),
    ("LENGTH", Func::CharLength),
    ("SUBSTRING", Func::Substring),
    ("SUBSTR", Func::Substring),
    ("CONCAT", Func::Concat),
    ("TRIM", Func::TrimBoth),
    ("LTRIM", Func::TrimLeading),
    ("RTRIM", Func::TrimTrailing),
    ("REPLACE", Func::Replace),
    ("YEAR", Func::Year),
    ("MONTH", Func::Month),
    ("DAYOFMONTH", Func::DayOfMonth),
    ("HOUR", Func::Hour),
    ("MINUTE", Func::Minute),
    ("SECOND", Func::Second),
    ("DATE_FORMAT", Func::DateFormat),
    ("REGEXP_EXTRACT", Func::RegexpExtract),
    ("SPLIT_INDEX", Func::SplitIndex),
    ("COALESCE", Func::Coalesce),
    ("IF", Func::If),
    ("NULLIF", Func::NullIf),
    ("TO_TIMESTAMP_LTZ", Func::ToTimestampLtz),
    ("TO_TIMESTAMP", Func::ToTimestamp),
];

const AGGREGATES: &[&str] = &["COUNT", "SUM", "MIN", "MAX", "AVG"];

pub fn is_aggregate(name: &str) -> bool {
    AGGREGATES.contains(&name)
}

/// `TUMBLE_START` → `START` etc.; None for other names.
pub fn window_property(name: &str) -> Option<&'static str> {
    let (w, prop) = name.split_once('_')?;
    if !matches!(w, "TUMBLE" | "HOP" | "SESSION") {
        return None;
    }
    match prop {
        "START" => Some("START"),
        "END" => Some("END"),
        "ROWTIME" => Some("ROWTIME"),
        _ => None,
    }
}

/// Plain positional arguments of a call.
pub fn call_args(f: &ast::Function) -> Result<Vec<&ast::Expr>> {
    let span = f.name.span();
    match &f.args {
        ast::FunctionArguments::None => Ok(vec![]),
        ast::FunctionArguments::Subquery(_) => Err(SqlError::at(loc(span), "subquery arguments are not supported")),
        ast::FunctionArguments::List(list) => list
            .args
            .iter()
            .map(|a| match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(e),
                _ => Err(SqlError::at(loc(span), format!("unsupported argument '{a}' to {}", f.name))),
            })
            .collect(),
    }
}

pub fn bind_aggregate_call(f: &ast::Function, name: &str, scope: &Scope) -> Result<AggCall> {
    let span = f.name.span();
    if f.over.is_some() {
        return Err(SqlError::at(loc(span), "OVER windows are not supported yet (they come with a later release)"));
    }
    let (distinct, star, arg_exprs) = match &f.args {
        ast::FunctionArguments::List(list) => {
            let distinct = matches!(list.duplicate_treatment, Some(ast::DuplicateTreatment::Distinct));
            let star = matches!(list.args.as_slice(), [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard)]);
            (distinct, star, if star { vec![] } else { call_args(f)? })
        }
        _ => (false, false, vec![]),
    };
    let func = match name {
        "COUNT" => AggFunc::Count,
        "SUM" => AggFunc::Sum,
        "MIN" => AggFunc::Min,
        "MAX" => AggFunc::Max,
        _ => AggFunc::Avg,
    };
    let arg = match (star, arg_exprs.as_slice()) {
        (true, _) if func == AggFunc::Count && !distinct => None,
        (false, [a]) => {
            let mut b = ExprBinder::plain(scope);
            let bound = b.bind(a).map_err(|e| nested_aggregate_error(e, a))?;
            Some(bound)
        }
        _ => {
            return Err(SqlError::at(
                loc(span),
                format!("{name} takes exactly one argument{}", if func == AggFunc::Count { " or *" } else { "" }),
            ))
        }
    };
    let filter = match &f.filter {
        Some(cond) => Some(ExprBinder::plain(scope).bind_predicate(cond, "FILTER (WHERE ...)")?),
        None => None,
    };
    let ty = match (func, &arg) {
        (AggFunc::Count, _) => DataType::BigInt,
        (_, None) => unreachable!("only COUNT takes *"),
        (AggFunc::Min | AggFunc::Max, Some(a)) => a.ty,
        // As in Flink, SUM of INT is an INT; it is summed as a BIGINT, and a result that leaves
        // INT (or a BIGINT sum that leaves BIGINT) is an error, where Flink wraps around.
        (AggFunc::Sum | AggFunc::Avg, Some(a)) => match a.ty {
            DataType::Int | DataType::BigInt | DataType::Double => a.ty,
            DataType::Decimal { scale, .. } if func == AggFunc::Sum => DataType::Decimal { precision: 38, scale },
            DataType::Decimal { scale, .. } => DataType::Decimal { precision: 38, scale: scale.max(6) },
            other => return Err(SqlError::at(loc(span), format!("{name} needs a numeric argument, found {other}"))),
        },
    };
    Ok(AggCall { func, arg, distinct, filter, ty })
}

/// The feature a known Flink function belongs to, for functions Darwin lacks.
pub fn unsupported_function(name: &str) -> Option<&'static str> {
    match name {
        "ROW_NUMBER" | "RANK" | "DENSE_RANK" => {
            Some("it serves Top-N and deduplication, which need updating results (changelogs)")
        }
        "LAG" | "LEAD" | "FIRST_VALUE" | "LAST_VALUE" | "NTILE" | "PERCENT_RANK" | "CUME_DIST" => {
            Some("it is an OVER window function, and OVER windows are not supported yet")
        }
        _ => None,
    }
}

fn nested_aggregate_error(e: SqlError, a: &ast::Expr) -> SqlError {
    match &e {
        SqlError::Bind { message, .. } if message.starts_with("aggregate") => {
            SqlError::at(loc(a.span()), "aggregate functions cannot be nested")
        }
        _ => e,
    }
}

pub fn bind_scalar_function(b: &mut ExprBinder, f: &ast::Function, name: &str, span: Span) -> Result<Expr> {
    if name == "MOD" {
        let args = call_args(f)?;
        let [a, m] = args.as_slice() else {
            return Err(SqlError::at(loc(span), format!("MOD takes 2 argument(s), got {}", args.len())));
        };
        let (a, m) = (b.bind(a)?, b.bind(m)?);
        if !a.ty.is_integer() || !m.ty.is_integer() {
            return Err(SqlError::at(loc(span), format!("MOD needs integer arguments, found {} and {}", a.ty, m.ty)));
        }
        return super::coerce::arithmetic(darwin_plan::BinOp::Mod, a, m, span);
    }
    let Some(&(_, func)) = SCALARS.iter().find(|(n, _)| *n == name) else {
        if matches!(name, "TUMBLE" | "HOP" | "SESSION") {
            return Err(SqlError::at(loc(span), format!("{name}(...) is a window: use it in GROUP BY or as FROM TABLE({name}(TABLE t, DESCRIPTOR(ts), ...))")));
        }
        if let Some(feature) = unsupported_function(name) {
            return Err(SqlError::at(loc(span), format!("{name} is not supported yet: {feature}")));
        }
        let all = SCALARS.iter().map(|(n, _)| *n).chain(AGGREGATES.iter().copied());
        let hint = nearest(name, all).map(|n| format!("; did you mean {n}?")).unwrap_or_default();
        return Err(SqlError::at(loc(span), format!("unknown function {name}{hint}")));
    };
    if f.over.is_some() {
        return Err(SqlError::at(loc(span), "OVER windows are not supported yet"));
    }
    let args = call_args(f)?.into_iter().map(|a| b.bind(a)).collect::<Result<Vec<_>>>()?;
    typed_call(func, args, span)
}

/// The next of the arguments `arity` has counted (an error rather than a panic if one is missing).
fn next_arg(func: Func, args: &mut impl Iterator<Item = Expr>, span: Span) -> Result<Expr> {
    args.next().ok_or_else(|| SqlError::at(loc(span), format!("{} is missing an argument", func.name())))
}

fn arity(func: Func, args: &[Expr], min: usize, max: usize, span: Span) -> Result<()> {
    if args.len() < min || args.len() > max {
        let want = if min == max {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(SqlError::at(loc(span), format!("{} takes {want} argument(s), got {}", func.name(), args.len())));
    }
    Ok(())
}

fn want(func: Func, e: Expr, ty: DataType, pos: usize, span: Span) -> Result<Expr> {
    if is_null_literal(&e) {
        return Ok(Expr::literal(Value::Null, ty));
    }
    if e.ty == ty {
        return Ok(e);
    }
    let ok = match ty {
        DataType::Varchar => true,
        DataType::BigInt => e.ty == DataType::Int,
        DataType::Int => false,
        DataType::Double => e.ty.is_numeric(),
        _ => false,
    };
    if !ok {
        return Err(SqlError::at(
            loc(span),
            format!("argument {} of {} must be {ty}, found {}", pos + 1, func.name(), e.ty),
        ));
    }
    Ok(e.cast(ty))
}

fn int_arg(func: Func, e: Expr, pos: usize, span: Span) -> Result<Expr> {
    if e.ty == DataType::BigInt {
        return Ok(e.cast(DataType::Int));
    }
    want(func, e, DataType::Int, pos, span)
}

fn call(func: Func, args: Vec<Expr>, ty: DataType) -> Expr {
    Expr::new(ExprKind::Call { func, args }, ty)
}

/// Checks argument types, inserts casts and computes the result type of a scalar call.
pub fn typed_call(func: Func, mut args: Vec<Expr>, span: Span) -> Result<Expr> {
    use DataType::*;
    use Func::*;
    match func {
        // Bound from TRY_CAST(x AS type) (its type is the target's), never called by name.
        TryCast => Err(SqlError::at(loc(span), "TRY_CAST is written TRY_CAST(x AS type)")),
        InList => Err(SqlError::at(loc(span), "IN is written x IN (values)")),
        Abs | Floor | Ceil => {
            arity(func, &args, 1, 1, span)?;
            let t = args[0].ty;
            if !t.is_numeric() {
                return Err(SqlError::at(loc(span), format!("{} needs a numeric argument, found {t}", func.name())));
            }
            let ty = match (func, t) {
                (Floor | Ceil, Decimal { precision, .. }) => Decimal { precision, scale: 0 },
                _ => t,
            };
            Ok(call(func, args, ty))
        }
        Round => {
            arity(func, &args, 1, 2, span)?;
            let t = args[0].ty;
            if !t.is_numeric() {
                return Err(SqlError::at(loc(span), format!("ROUND needs a numeric argument, found {t}")));
            }
            if args.len() == 1 {
                args.push(Expr::literal(Value::Int(0), Int));
            }
            let places = match &args[1].kind {
                ExprKind::Literal(Value::Int(p)) => *p,
                _ => return Err(SqlError::at(loc(span), "the second argument of ROUND must be an integer literal")),
            };
            let ty = match t {
                Decimal { precision, .. } => Decimal { precision, scale: places.clamp(0, 38) as u8 },
                other => other,
            };
            Ok(call(func, args, ty))
        }
        Power | Sqrt => {
            arity(func, &args, if func == Power { 2 } else { 1 }, if func == Power { 2 } else { 1 }, span)?;
            let args =
                args.into_iter().enumerate().map(|(i, a)| want(func, a, Double, i, span)).collect::<Result<_>>()?;
            Ok(call(func, args, Double))
        }
        Lower | Upper | TrimBoth | TrimLeading | TrimTrailing => {
            arity(func, &args, 1, 1, span)?;
            let a = want(func, args.remove(0), Varchar, 0, span)?;
            Ok(call(func, vec![a], Varchar))
        }
        CharLength => {
            arity(func, &args, 1, 1, span)?;
            let a = want(func, args.remove(0), Varchar, 0, span)?;
            Ok(call(func, vec![a], Int))
        }
        Substring => {
            arity(func, &args, 2, 3, span)?;
            let mut it = args.into_iter();
            let mut out = vec![want(func, next_arg(func, &mut it, span)?, Varchar, 0, span)?];
            for (i, a) in it.enumerate() {
                out.push(int_arg(func, a, i + 1, span)?);
            }
            Ok(call(func, out, Varchar))
        }
        Concat => {
            arity(func, &args, 1, usize::MAX, span)?;
            let args =
                args.into_iter().enumerate().map(|(i, a)| want(func, a, Varchar, i, span)).collect::<Result<_>>()?;
            Ok(call(func, args, Varchar))
        }
        Replace => {
            arity(func, &args, 3, 3, span)?;
            let args =
                args.into_iter().enumerate().map(|(i, a)| want(func, a, Varchar, i, span)).collect::<Result<_>>()?;
            Ok(call(func, args, Varchar))
        }
        Year | Month | DayOfMonth | Hour | Minute | Second => {
            arity(func, &args, 1, 1, span)?;
            if args[0].ty != Timestamp && !is_null_literal(&args[0]) {
                return Err(SqlError::at(
                    loc(span),
                    format!("{} needs a TIMESTAMP(3) argument, found {}", func.name(), args[0].ty),
                ));
            }
            let a = args.remove(0);
            let a = if is_null_literal(&a) { Expr::literal(Value::Null, Timestamp) } else { a };
            Ok(call(func, vec![a], BigInt))
        }
        DateFormat => {
            arity(func, &args, 2, 2, span)?;
            let ts = args.remove(0);
            let ts = match ts.ty {
                Timestamp => ts,
                Varchar => call(ToTimestamp, vec![ts], Timestamp),
                other => {
                    return Err(SqlError::at(loc(span), format!("DATE_FORMAT needs a TIMESTAMP(3), found {other}")))
                }
            };
            let pattern = want(func, args.remove(0), Varchar, 1, span)?;
            Ok(call(func, vec![ts, pattern], Varchar))
        }
        RegexpExtract => {
            arity(func, &args, 2, 3, span)?;
            let mut it = args.into_iter();
            let s = want(func, next_arg(func, &mut it, span)?, Varchar, 0, span)?;
            let p = want(func, next_arg(func, &mut it, span)?, Varchar, 1, span)?;
            if let ExprKind::Literal(Value::Str(pat)) = &p.kind {
                if let Err(e) = regex::Regex::new(pat) {
                    return Err(SqlError::at(loc(span), format!("invalid regular expression '{pat}': {e}")));
                }
            }
            let mut out = vec![s, p];
            if let Some(g) = it.next() {
                out.push(int_arg(func, g, 2, span)?);
            }
            Ok(call(func, out, Varchar))
        }
        SplitIndex => {
            arity(func, &args, 3, 3, span)?;
            let mut it = args.into_iter();
            let s = want(func, next_arg(func, &mut it, span)?, Varchar, 0, span)?;
            let d = want(func, next_arg(func, &mut it, span)?, Varchar, 1, span)?;
            let i = int_arg(func, next_arg(func, &mut it, span)?, 2, span)?;
            Ok(call(func, vec![s, d, i], Varchar))
        }
        Coalesce => {
            arity(func, &args, 1, usize::MAX, span)?;
            let ty = common_type(&args.iter().collect::<Vec<_>>(), span)?;
            let args = args
                .into_iter()
                .map(|a| if is_null_literal(&a) { Expr::literal(Value::Null, ty) } else { a.cast(ty) })
                .collect();
            Ok(call(func, args, ty))
        }
        If => {
            arity(func, &args, 3, 3, span)?;
            let cond = args.remove(0);
            if cond.ty != Boolean && !is_null_literal(&cond) {
                return Err(SqlError::at(
                    loc(span),
                    format!("the first argument of IF must be BOOLEAN, found {}", cond.ty),
                ));
            }
            let ty = common_type(&args.iter().collect::<Vec<_>>(), span)?;
            let mut out = vec![if is_null_literal(&cond) { Expr::literal(Value::Null, Boolean) } else { cond }];
            out.extend(args.into_iter().map(|a| {
                if is_null_literal(&a) {
                    Expr::literal(Value::Null, ty)
                } else {
                    a.cast(ty)
                }
            }));
            Ok(call(func, out, ty))
        }
        NullIf => {
            arity(func, &args, 2, 2, span)?;
            let mut it = args.into_iter();
            let (l, r) = (next_arg(func, &mut it, span)?, next_arg(func, &mut it, span)?);
            let (l, r) = super::coerce::unify(l, r, span, "NULLIF")?;
            let ty = l.ty;
            Ok(call(func, vec![l, r], ty))
        }
        ToTimestampLtz => {
            arity(func, &args, 1, 2, span)?;
            let v = want(func, args.remove(0), BigInt, 0, span)?;
            let precision = match args.first().map(|a| &a.kind) {
                None => 3,
                Some(ExprKind::Literal(Value::Int(p))) if *p == 0 || *p == 3 => *p,
                _ => {
                    return Err(SqlError::at(
                        loc(span),
                        "the precision of TO_TIMESTAMP_LTZ must be 0 (seconds) or 3 (milliseconds)",
                    ))
                }
            };
            Ok(call(func, vec![v, Expr::literal(Value::Int(precision), Int)], Timestamp))
        }
        ToTimestamp => {
            arity(func, &args, 1, 1, span)?;
            let v = want(func, args.remove(0), Varchar, 0, span)?;
            Ok(call(func, vec![v], Timestamp))
        }
    }
}
