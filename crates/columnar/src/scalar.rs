//! Scalar semantics of casts and functions, one value at a time. Used by the vectorised
//! evaluator for functions whose cost is dominated by the work itself (strings, regexes), and
//! by the reference evaluator.

use crate::error::{EvalError, Result};
use darwin_common::time::{date_format, parse_timestamp, DateTime};
use darwin_common::value::{format_decimal, format_double, format_interval};
use darwin_common::{DataType, Value};
use darwin_plan::Func;
use std::cell::RefCell;
use std::collections::HashMap;

/// SQL LIKE: `%` matches any run, `_` one character.
pub fn like(s: &str, pat: &[char]) -> bool {
    let s: Vec<char> = s.chars().collect();
    let (mut si, mut pi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while si < s.len() {
        if pi < pat.len() && (pat[pi] == '_' || pat[pi] == s[si]) {
            si += 1;
            pi += 1;
        } else if pi < pat.len() && pat[pi] == '%' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(p) = star {
            pi = p + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < pat.len() && pat[pi] == '%' {
        pi += 1;
    }
    pi == pat.len()
}

/// The text form of a value, as CAST(x AS VARCHAR) and the sinks write it.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        Value::Double(d) => format_double(*d),
        Value::Decimal(m, s) => format_decimal(*m, *s),
        Value::Interval(ms) => format_interval(*ms),
        other => other.to_string(),
    }
}

/// `CAST(v AS to)` of one value: NULL stays NULL; a value with no representation in `to` is
/// [`EvalError::InvalidCast`], a decimal too large for its precision [`EvalError::OutOfRange`].
pub fn cast_value(v: &Value, to: DataType) -> Result<Value> {
    use DataType as T;
    if v.is_null() {
        return Ok(Value::Null);
    }
    let fail = || EvalError::InvalidCast { value: to_text(v), to };
    let range = || EvalError::OutOfRange { value: to_text(v), to };
    Ok(match to {
        T::Varchar => Value::Str(to_text(v)),
        T::Boolean => match v {
            Value::Bool(b) => Value::Bool(*b),
            Value::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Value::Bool(true),
                "false" | "0" => Value::Bool(false),
                _ => return Err(fail()),
            },
            other => Value::Bool(other.as_i64().ok_or_else(fail)? != 0),
        },
        T::Int | T::BigInt => {
            let x: i64 = match v {
                Value::Str(s) => s.trim().parse().map_err(|_| fail())?,
                Value::Bool(b) => *b as i64,
                Value::Double(d) => {
                    if !d.is_finite() {
                        return Err(fail());
                    }
                    // Exactly the doubles whose whole part an i64 holds (2^63 itself does not).
                    let t = d.trunc();
                    if !((i64::MIN as f64)..(i64::MAX as f64)).contains(&t) {
                        return Err(range());
                    }
                    t as i64
                }
                Value::Decimal(m, s) => i64::try_from(m / 10i128.pow(*s as u32)).map_err(|_| range())?,
                other => other.as_i64().ok_or_else(fail)?,
            };
            if to == T::Int {
                Value::Int(i32::try_from(x).map_err(|_| range())?)
            } else {
                Value::BigInt(x)
            }
        }
        T::Double => match v {
            Value::Str(s) => Value::Double(s.trim().parse().map_err(|_| fail())?),
            other => Value::Double(other.as_f64().ok_or_else(fail)?),
        },
        T::Decimal { precision, scale } => {
            let m: i128 = match v {
                Value::Decimal(m, s) => rescale(*m, *s, scale),
                Value::Double(d) => {
                    let m = (d * 10f64.powi(i32::from(scale))).round();
                    if !m.is_finite() || m.abs() >= 1e38 {
                        return Err(range());
                    }
                    m as i128
                }
                Value::Str(s) => parse_decimal(s.trim(), scale).ok_or_else(fail)?,
                other => (other.as_i64().ok_or_else(fail)? as i128)
                    .checked_mul(10i128.pow(u32::from(scale)))
                    .ok_or_else(range)?,
            };
            if m.unsigned_abs() >= 10u128.pow(precision as u32) {
                return Err(range());
            }
            Value::Decimal(m, scale)
        }
        T::Timestamp => match v {
            Value::Str(s) => Value::Timestamp(parse_timestamp(s).ok_or_else(fail)?),
            Value::Timestamp(t) => Value::Timestamp(*t),
            other => Value::Timestamp(other.as_i64().ok_or_else(fail)?),
        },
        T::Interval => match v {
            Value::Interval(x) => Value::Interval(*x),
            _ => return Err(fail()),
        },
    })
}

/// The error of ABS of a type's minimum, which has no positive counterpart.
fn abs_overflow(x: i64, to: DataType) -> EvalError {
    EvalError::Overflow { what: format!("ABS({x})"), to }
}

/// Rescales a decimal mantissa, rounding half away from zero when digits are dropped.
pub fn rescale(m: i128, from: u8, to: u8) -> i128 {
    if to >= from {
        m * 10i128.pow((to - from) as u32)
    } else {
        let f = 10i128.pow((from - to) as u32);
        let q = m / f;
        let r = m % f;
        if r.abs() * 2 >= f {
            q + m.signum()
        } else {
            q
        }
    }
}

fn parse_decimal(s: &str, scale: u8) -> Option<i128> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() || !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let digits = format!("{}{}", if int.is_empty() { "0" } else { int }, frac);
    let m: i128 = digits.parse().ok()?;
    let from = frac.len().min(38) as u8;
    let m = if scale >= from { m.checked_mul(10i128.pow(u32::from(scale - from)))? } else { rescale(m, from, scale) };
    Some(if neg { -m } else { m })
}

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<String, regex::Regex>> = RefCell::new(HashMap::new());
}

fn regexp_extract(s: &str, pattern: &str, group: usize) -> Result<Option<String>> {
    REGEX_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if !cache.contains_key(pattern) {
            let re = regex::Regex::new(pattern)
                .map_err(|e| EvalError::InvalidRegex { pattern: pattern.to_string(), message: e.to_string() })?;
            cache.insert(pattern.to_string(), re);
        }
        let re = &cache[pattern];
        Ok(re.captures(s).and_then(|c| c.get(group)).map(|m| m.as_str().to_string()))
    })
}

fn str_arg(v: &Value) -> &str {
    match v {
        Value::Str(s) => s,
        _ => "",
    }
}

fn int_arg(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// A scalar function on non-NULL arguments (the caller handles NULL propagation).
pub fn call_value(func: Func, args: &[Value], ty: DataType) -> Result<Value> {
    use Func::*;
    Ok(match func {
        TryCast => cast_value(&args[0], ty).unwrap_or(Value::Null),
        InList => crate::in_set::InSet::new(&args[1..]).test(&args[0]).map_or(Value::Null, Value::Bool),
        Abs => match &args[0] {
            Value::Int(x) => Value::Int(x.checked_abs().ok_or_else(|| abs_overflow(*x as i64, DataType::Int))?),
            Value::BigInt(x) => Value::BigInt(x.checked_abs().ok_or_else(|| abs_overflow(*x, DataType::BigInt))?),
            Value::Double(x) => Value::Double(x.abs()),
            Value::Decimal(m, s) => Value::Decimal(m.abs(), *s),
            other => other.clone(),
        },
        Floor | Ceil => match &args[0] {
            Value::Double(x) => Value::Double(if func == Floor { x.floor() } else { x.ceil() }),
            Value::Decimal(m, s) => {
                let f = 10i128.pow(*s as u32);
                let q = m.div_euclid(f);
                Value::Decimal(if func == Ceil && m.rem_euclid(f) != 0 { q + 1 } else { q }, 0)
            }
            other => other.clone(),
        },
        Round => {
            let places = int_arg(&args[1]) as i32;
            match &args[0] {
                Value::Double(x) => {
                    let f = 10f64.powi(places);
                    Value::Double((x * f).round() / f)
                }
                Value::Decimal(m, s) => {
                    Value::Decimal(rescale(*m, *s, places.clamp(0, 38) as u8), places.clamp(0, 38) as u8)
                }
                Value::Int(x) if places < 0 => {
                    let f = 10i64.pow((-places) as u32);
                    Value::Int((*x as i64 / f * f) as i32)
                }
                other => other.clone(),
            }
        }
        Power => Value::Double(args[0].as_f64().unwrap_or(0.0).powf(args[1].as_f64().unwrap_or(0.0))),
        Sqrt => Value::Double(args[0].as_f64().unwrap_or(0.0).sqrt()),
        Lower => Value::Str(str_arg(&args[0]).to_lowercase()),
        Upper => Value::Str(str_arg(&args[0]).to_uppercase()),
        CharLength => Value::Int(str_arg(&args[0]).chars().count() as i32),
        Substring => {
            let s = str_arg(&args[0]);
            let start = int_arg(&args[1]);
            let len = args.get(2).map(int_arg);
            if len.is_some_and(|l| l < 0) {
                return Err(EvalError::InvalidArgument {
                    function: "SUBSTRING",
                    message: format!("length must not be negative, got {}", len.unwrap_or(0)),
                });
            }
            let chars: Vec<char> = s.chars().collect();
            // SQL positions are 1-based; a start before 1 still counts towards the length.
            let from = (start - 1).max(0) as usize;
            let end = match len {
                Some(l) => ((start - 1 + l).max(0) as usize).min(chars.len()),
                None => chars.len(),
            };
            Value::Str(if from >= end { String::new() } else { chars[from..end].iter().collect() })
        }
        Concat => Value::Str(args.iter().map(str_arg).collect()),
        TrimBoth => Value::Str(str_arg(&args[0]).trim_matches(' ').to_string()),
        TrimLeading => Value::Str(str_arg(&args[0]).trim_start_matches(' ').to_string()),
        TrimTrailing => Value::Str(str_arg(&args[0]).trim_end_matches(' ').to_string()),
        Replace => {
            let from = str_arg(&args[1]);
            if from.is_empty() {
                Value::Str(str_arg(&args[0]).to_string())
            } else {
                Value::Str(str_arg(&args[0]).replace(from, str_arg(&args[2])))
            }
        }
        Year | Month | DayOfMonth | Hour | Minute | Second => {
            let t = DateTime::from_millis(int_arg(&args[0]));
            Value::BigInt(match func {
                Year => t.year,
                Month => t.month as i64,
                DayOfMonth => t.day as i64,
                Hour => t.hour as i64,
                Minute => t.minute as i64,
                _ => t.second as i64,
            })
        }
        DateFormat => Value::Str(date_format(int_arg(&args[0]), str_arg(&args[1]))),
        RegexpExtract => {
            let group = args.get(2).map_or(0, int_arg);
            if group < 0 {
                return Err(EvalError::InvalidArgument {
                    function: "REGEXP_EXTRACT",
                    message: format!("group must not be negative, got {group}"),
                });
            }
            match regexp_extract(str_arg(&args[0]), str_arg(&args[1]), group as usize)? {
                Some(s) => Value::Str(s),
                None => Value::Null,
            }
        }
        SplitIndex => {
            let (s, d, i) = (str_arg(&args[0]), str_arg(&args[1]), int_arg(&args[2]));
            if d.is_empty() || i < 0 {
                Value::Null
            } else {
                s.split(d).nth(i as usize).map_or(Value::Null, |p| Value::Str(p.to_string()))
            }
        }
        ToTimestampLtz => {
            let x = int_arg(&args[0]);
            Value::Timestamp(if int_arg(&args[1]) == 0 { x.saturating_mul(1000) } else { x })
        }
        ToTimestamp => match parse_timestamp(str_arg(&args[0])) {
            Some(t) => Value::Timestamp(t),
            None => Value::Null,
        },
        Coalesce | If | NullIf => {
            unreachable!("handled by the caller (they see NULL arguments), result type {ty}")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn like_matches_sql_patterns() {
        let p = |s: &str| s.chars().collect::<Vec<_>>();
        assert!(like("hello", &p("h%o")));
        assert!(like("hello", &p("_ello")));
        assert!(!like("hello", &p("h_o")));
        assert!(like("", &p("%")));
        assert!(like("a%b", &p("a%b")));
    }
    #[test]
    fn decimals_parse_and_round() {
        assert_eq!(parse_decimal("1.25", 1), Some(13));
        assert_eq!(parse_decimal("-0.5", 2), Some(-50));
        assert_eq!(parse_decimal("x", 2), None);
        assert_eq!(rescale(-125, 2, 1), -13);
    }
}
