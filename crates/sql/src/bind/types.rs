//! SQL type names to Darwin types, and which conversions happen implicitly.

use crate::error::{loc, Result, SqlError};
use darwin_common::DataType;
use sqlparser::ast;
use sqlparser::tokenizer::Span;

pub fn convert_type(t: &ast::DataType, span: Span) -> Result<DataType> {
    use ast::DataType as A;
    Ok(match t {
        A::Boolean | A::Bool => DataType::Boolean,
        A::Int(_) | A::Integer(_) | A::SmallInt(_) | A::TinyInt(_) | A::Int4(_) => DataType::Int,
        A::BigInt(_) | A::Int8(_) | A::Int64 => DataType::BigInt,
        A::Double(_) | A::DoublePrecision | A::Float(_) | A::Real | A::Float64 | A::Float8 => DataType::Double,
        A::Decimal(info) | A::Numeric(info) | A::Dec(info) => {
            let (p, s) = match info {
                ast::ExactNumberInfo::None => (10, 0),
                ast::ExactNumberInfo::Precision(p) => (*p, 0),
                ast::ExactNumberInfo::PrecisionAndScale(p, s) => (*p, *s as u64),
            };
            if !(1..=38).contains(&p) || s > p {
                return Err(SqlError::at(loc(span), format!("DECIMAL({p}, {s}) is out of range: precision 1..38, scale 0..precision")));
            }
            DataType::Decimal { precision: p as u8, scale: s as u8 }
        }
        A::Varchar(_) | A::String(_) | A::Text | A::Char(_) | A::CharVarying(_) | A::Character(_) | A::CharacterVarying(_) => DataType::Varchar,
        A::Timestamp(p, _) | A::Datetime(p) => {
            if let Some(p) = p {
                if *p != 3 && *p != 0 {
                    return Err(SqlError::at(loc(span), format!("TIMESTAMP({p}) is not supported; Darwin keeps timestamps in milliseconds: use TIMESTAMP(3)")));
                }
            }
            DataType::Timestamp
        }
        other => return Err(SqlError::at(loc(span), format!("type {other} is not supported; use BOOLEAN, INT, BIGINT, DOUBLE, DECIMAL(p, s), VARCHAR or TIMESTAMP(3)"))),
    })
}

/// Conversions applied without a CAST when writing to a sink or combining values.
pub fn implicitly_castable(from: DataType, to: DataType) -> bool {
    use DataType::*;
    from == to
        || matches!(
            (from, to),
            (Int, BigInt)
                | (Int, Double)
                | (BigInt, Double)
                | (Int, Decimal { .. })
                | (BigInt, Decimal { .. })
                | (Decimal { .. }, Double)
        )
        || matches!((from, to), (Decimal { scale: a, .. }, Decimal { scale: b, .. }) if a <= b)
}

/// Whether CAST(from AS to) is allowed at all.
pub fn castable(from: DataType, to: DataType) -> bool {
    use DataType::*;
    if from == to || to == Varchar || from == Varchar {
        return !matches!((from, to), (Varchar, Interval));
    }
    match (from, to) {
        (a, b) if a.is_numeric() && b.is_numeric() => true,
        (Boolean, b) | (b, Boolean) => b.is_integer(),
        (Timestamp, BigInt) | (BigInt, Timestamp) => true,
        _ => false,
    }
}
