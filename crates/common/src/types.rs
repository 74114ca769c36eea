//! SQL data types and their physical representation.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A SQL type. Timestamps are TIMESTAMP(3): milliseconds since the epoch, no time zone.
/// Intervals are day-time intervals in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DataType {
    /// TRUE / FALSE.
    Boolean,
    /// 32-bit signed integer.
    Int,
    /// 64-bit signed integer.
    BigInt,
    /// 64-bit IEEE 754 floating point.
    Double,
    /// Fixed point: the value is an `i128` mantissa scaled by 10^scale.
    Decimal {
        /// Total number of decimal digits, at most 38.
        precision: u8,
        /// Number of digits after the decimal point.
        scale: u8,
    },
    /// UTF-8 string of any length.
    Varchar,
    /// TIMESTAMP(3): milliseconds since the epoch, stored as `i64`, no time zone.
    Timestamp,
    /// Day-time interval in milliseconds, stored as `i64`.
    Interval,
}

/// How a column of a type is stored in a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhysicalType {
    /// `bool` values (BOOLEAN).
    Bool,
    /// `i32` values (INT).
    I32,
    /// `i64` values (BIGINT, TIMESTAMP and INTERVAL, the latter two in milliseconds).
    I64,
    /// `f64` values (DOUBLE).
    F64,
    /// `i128` decimal mantissas (DECIMAL); the scale lives in the type, not the column.
    I128,
    /// UTF-8 strings (VARCHAR).
    Str,
}

impl DataType {
    /// How a column of this type is stored in a batch.
    pub fn physical(self) -> PhysicalType {
        match self {
            DataType::Boolean => PhysicalType::Bool,
            DataType::Int => PhysicalType::I32,
            DataType::BigInt | DataType::Timestamp | DataType::Interval => PhysicalType::I64,
            DataType::Double => PhysicalType::F64,
            DataType::Decimal { .. } => PhysicalType::I128,
            DataType::Varchar => PhysicalType::Str,
        }
    }

    /// True for INT, BIGINT, DOUBLE and DECIMAL.
    pub fn is_numeric(self) -> bool {
        matches!(self, DataType::Int | DataType::BigInt | DataType::Double | DataType::Decimal { .. })
    }

    /// True for INT and BIGINT.
    pub fn is_integer(self) -> bool {
        matches!(self, DataType::Int | DataType::BigInt)
    }

    /// The decimal type that holds every value of an integer type exactly.
    pub fn as_decimal(self) -> Option<DataType> {
        match self {
            DataType::Int => Some(DataType::Decimal { precision: 10, scale: 0 }),
            DataType::BigInt => Some(DataType::Decimal { precision: 19, scale: 0 }),
            DataType::Decimal { .. } => Some(self),
            _ => None,
        }
    }

    /// Digits after the decimal point: a DECIMAL's scale, 0 for every other type.
    pub fn scale(self) -> u8 {
        match self {
            DataType::Decimal { scale, .. } => scale,
            _ => 0,
        }
    }

    /// The common type two numeric operands are widened to, following Flink's rules loosely:
    /// INT < BIGINT < DECIMAL < DOUBLE.
    pub fn numeric_common(a: DataType, b: DataType) -> Option<DataType> {
        use DataType::*;
        if !a.is_numeric() || !b.is_numeric() {
            return None;
        }
        Some(match (a, b) {
            (Double, _) | (_, Double) => Double,
            (Decimal { .. }, _) | (_, Decimal { .. }) => {
                let (da, db) = (a.as_decimal()?, b.as_decimal()?);
                let scale = da.scale().max(db.scale());
                let int_digits = (decimal_precision(da) - da.scale()).max(decimal_precision(db) - db.scale());
                Decimal { precision: (int_digits + scale).min(38), scale }
            }
            (BigInt, _) | (_, BigInt) => BigInt,
            _ => Int,
        })
    }
}

fn decimal_precision(t: DataType) -> u8 {
    match t {
        DataType::Decimal { precision, .. } => precision,
        _ => 19,
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Boolean => write!(f, "BOOLEAN"),
            DataType::Int => write!(f, "INT"),
            DataType::BigInt => write!(f, "BIGINT"),
            DataType::Double => write!(f, "DOUBLE"),
            DataType::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            DataType::Varchar => write!(f, "VARCHAR"),
            DataType::Timestamp => write!(f, "TIMESTAMP(3)"),
            DataType::Interval => write!(f, "INTERVAL"),
        }
    }
}
