//! Arrow arrays into Darwin columns of a declared type. Which Arrow types a SQL type accepts is
//! one table (`fits`): integers widen, and narrow only where every value fits (checked); a
//! decimal takes integers and decimals with no more digits after the point; a TIMESTAMP(3)
//! takes timestamps of any unit (truncated to milliseconds, towards the past) and dates; a
//! VARCHAR takes every string layout and dictionary-encoded strings.

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrowPrimitiveType, OffsetSizeTrait};
use arrow_schema::{DataType as Arrow, TimeUnit};
use darwin_columnar::column::{Column, ColumnData, StrVec};
use darwin_common::{DataType, Schema};

/// Why a column could not be converted, and at which row of the array when one value is why.
#[derive(Debug)]
pub struct ConvertError {
    /// The row (of the array converted) whose value does not fit.
    pub row: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl From<String> for ConvertError {
    fn from(message: String) -> ConvertError {
        ConvertError { row: None, message }
    }
}

/// Whether an Arrow column of type `from` can be read into a Darwin column of type `to`.
pub fn fits(from: &Arrow, to: DataType) -> bool {
    use Arrow::*;
    let int = matches!(from, Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64);
    match (to, from) {
        // A column of NULLs only (as pyarrow types an empty or all-null column).
        (_, Null) => true,
        (_, Dictionary(_, values)) => fits(values, to),
        (DataType::Boolean, Boolean) => true,
        (DataType::Int | DataType::BigInt, _) => int,
        (DataType::Double, Float32 | Float64) => true,
        (DataType::Double, _) => int,
        (DataType::Decimal { scale, .. }, Decimal128(_, s) | Decimal64(_, s) | Decimal32(_, s)) => {
            *s >= 0 && *s as u8 <= scale
        }
        (DataType::Decimal { .. }, _) => int,
        (DataType::Varchar, Utf8 | LargeUtf8 | Utf8View) => true,
        (DataType::Timestamp, Timestamp(..) | Date32 | Date64 | Int64) => true,
        _ => false,
    }
}

/// Where each of `schema`'s columns is among `arrow`'s fields, found by name (exactly, else
/// ignoring case) and checked to fit its SQL type. In errors `holder` names what holds the
/// fields (a file, a client's stream) and `verb` what it does with them ("stores", "sends").
pub fn locate(schema: &Schema, arrow: &arrow_schema::Schema, holder: &str, verb: &str) -> Result<Vec<usize>, String> {
    let mut found = Vec::with_capacity(schema.len());
    for f in &schema.fields {
        let names = arrow.fields();
        let at = names
            .iter()
            .position(|a| a.name() == &f.name)
            .or_else(|| names.iter().position(|a| a.name().eq_ignore_ascii_case(&f.name)));
        let Some(i) = at else {
            let all: Vec<&str> = names.iter().map(|a| a.name().as_str()).collect();
            return Err(format!("{holder} has no column '{}' (its columns: {})", f.name, all.join(", ")));
        };
        let stored = arrow.field(i).data_type();
        if !fits(stored, f.data_type) {
            return Err(format!("column '{}' is {} but {holder} {verb} it as {stored}", f.name, f.data_type));
        }
        found.push(i);
    }
    Ok(found)
}

/// The array as a Darwin column of type `to` (`fits` must hold). An error says which value
/// (by row of the array) does not fit.
pub fn column_of(array: &dyn Array, to: DataType) -> Result<Column, ConvertError> {
    if array.data_type() == &Arrow::Null {
        return Ok(Column::constant(&darwin_common::Value::Null, to, array.len()));
    }
    // Readers often give a null buffer with no null in it: skip turning it into a mask then.
    let validity = if array.logical_null_count() == 0 {
        None
    } else {
        array.logical_nulls().map(|n| n.iter().collect::<Vec<bool>>())
    };
    if let Some(dict) = array.as_any_dictionary_opt() {
        let values = column_of(dict.values().as_ref(), to)?;
        let keys: Vec<u32> = dict.normalized_keys().into_iter().map(|k| k as u32).collect();
        let mut col = values.take(&keys);
        col.validity = validity.filter(|v| v.iter().any(|b| !b));
        return Ok(col);
    }
    let data = match to {
        DataType::Boolean => {
            ColumnData::Bool(array.as_boolean().iter().map(|b| b.unwrap_or(false)).collect::<Vec<_>>().into())
        }
        DataType::Int => ColumnData::I32(integers::<i32>(array)?.into()),
        DataType::BigInt | DataType::Interval => ColumnData::I64(integers::<i64>(array)?.into()),
        DataType::Double => ColumnData::F64(doubles(array)?.into()),
        DataType::Decimal { precision, scale } => ColumnData::I128(decimals(array, precision, scale)?.into()),
        DataType::Varchar => ColumnData::Str(strings(array)?.into()),
        DataType::Timestamp => ColumnData::I64(millis(array)?.into()),
    };
    Ok(Column::new(data, validity))
}

fn values<T: ArrowPrimitiveType>(array: &dyn Array) -> &[T::Native] {
    array.as_primitive::<T>().values()
}

/// Integers of any width as `D`, each checked to fit (values under a NULL are not checked:
/// they are unspecified).
fn integers<D>(array: &dyn Array) -> Result<Vec<D>, ConvertError>
where
    D: Copy + Default,
    D: TryFrom<i8>
        + TryFrom<i16>
        + TryFrom<i32>
        + TryFrom<i64>
        + TryFrom<u8>
        + TryFrom<u16>
        + TryFrom<u32>
        + TryFrom<u64>,
{
    match array.data_type() {
        Arrow::Int8 => convert(array, values::<Int8Type>(array)),
        Arrow::Int16 => convert(array, values::<Int16Type>(array)),
        Arrow::Int32 => convert(array, values::<Int32Type>(array)),
        Arrow::Int64 => convert(array, values::<Int64Type>(array)),
        Arrow::UInt8 => convert(array, values::<UInt8Type>(array)),
        Arrow::UInt16 => convert(array, values::<UInt16Type>(array)),
        Arrow::UInt32 => convert(array, values::<UInt32Type>(array)),
        Arrow::UInt64 => convert(array, values::<UInt64Type>(array)),
        other => Err(format!("{other} is not an integer type").into()),
    }
}

fn convert<S: Copy + std::fmt::Display, D: TryFrom<S> + Copy + Default>(
    array: &dyn Array,
    v: &[S],
) -> Result<Vec<D>, ConvertError> {
    // For the same or a wider type the check is compiled away and the copy vectorised.
    if let Some(row) = (0..v.len()).find(|&i| D::try_from(v[i]).is_err() && array.is_valid(i)) {
        return Err(ConvertError {
            row: Some(row),
            message: format!("{} is out of range for the column's type", v[row]),
        });
    }
    Ok(v.iter().map(|&x| D::try_from(x).unwrap_or_default()).collect())
}

fn doubles(array: &dyn Array) -> Result<Vec<f64>, ConvertError> {
    Ok(match array.data_type() {
        Arrow::Float64 => values::<Float64Type>(array).to_vec(),
        Arrow::Float32 => values::<Float32Type>(array).iter().map(|&x| x.into()).collect(),
        _ => integers::<i128>(array)?.into_iter().map(|x| x as f64).collect(),
    })
}

/// Decimal mantissas at `scale`, each checked to have at most `precision` digits.
fn decimals(array: &dyn Array, precision: u8, scale: u8) -> Result<Vec<i128>, ConvertError> {
    let (raw, from): (Vec<i128>, i8) = match array.data_type() {
        Arrow::Decimal128(_, s) => (values::<Decimal128Type>(array).to_vec(), *s),
        Arrow::Decimal64(_, s) => (values::<Decimal64Type>(array).iter().map(|&x| x.into()).collect(), *s),
        Arrow::Decimal32(_, s) => (values::<Decimal32Type>(array).iter().map(|&x| x.into()).collect(), *s),
        _ => (integers::<i128>(array)?, 0),
    };
    let factor = 10i128.pow(u32::from(scale) - from.max(0) as u32);
    let limit = 10i128.checked_pow(u32::from(precision)).unwrap_or(i128::MAX);
    let mut out = Vec::with_capacity(raw.len());
    for (row, x) in raw.into_iter().enumerate() {
        match x.checked_mul(factor).filter(|v| v.abs() < limit) {
            Some(v) => out.push(v),
            None if array.is_null(row) => out.push(0),
            None => {
                let message = format!("the value does not fit DECIMAL({precision}, {scale})");
                return Err(ConvertError { row: Some(row), message });
            }
        }
    }
    Ok(out)
}

/// Milliseconds since the epoch, truncated towards the past.
fn millis(array: &dyn Array) -> Result<Vec<i64>, ConvertError> {
    let scaled = |v: &[i64], per_ms: i64| v.iter().map(|&x| x.div_euclid(per_ms)).collect();
    Ok(match array.data_type() {
        Arrow::Timestamp(TimeUnit::Second, _) => {
            let v = values::<TimestampSecondType>(array);
            let checked = v.iter().map(|&x| x.checked_mul(1000)).collect::<Option<Vec<_>>>();
            checked.ok_or_else(|| String::from("a timestamp in seconds is out of range for TIMESTAMP(3)"))?
        }
        Arrow::Timestamp(TimeUnit::Millisecond, _) => values::<TimestampMillisecondType>(array).to_vec(),
        Arrow::Timestamp(TimeUnit::Microsecond, _) => scaled(values::<TimestampMicrosecondType>(array), 1000),
        Arrow::Timestamp(TimeUnit::Nanosecond, _) => scaled(values::<TimestampNanosecondType>(array), 1_000_000),
        Arrow::Date32 => values::<Date32Type>(array).iter().map(|&d| i64::from(d) * 86_400_000).collect(),
        Arrow::Date64 => values::<Date64Type>(array).to_vec(),
        Arrow::Int64 => values::<Int64Type>(array).to_vec(),
        other => return Err(format!("{other} cannot be read as TIMESTAMP(3)").into()),
    })
}

/// The strings with one copy of the byte buffer (offsets rebased to 0).
fn offset_strings<O: OffsetSizeTrait>(array: &dyn Array) -> Result<StrVec, ConvertError> {
    let a = array.as_string::<O>();
    let offsets = a.value_offsets();
    let (first, last) = (offsets[0].as_usize(), offsets[offsets.len() - 1].as_usize());
    if last - first > u32::MAX as usize {
        return Err(String::from("a batch holds more than 4 GiB of strings").into());
    }
    Ok(StrVec {
        offsets: offsets.iter().map(|o| (o.as_usize() - first) as u32).collect(),
        bytes: a.values()[first..last].to_vec(),
    })
}

fn strings(array: &dyn Array) -> Result<StrVec, ConvertError> {
    match array.data_type() {
        Arrow::Utf8 => offset_strings::<i32>(array),
        Arrow::LargeUtf8 => offset_strings::<i64>(array),
        Arrow::Utf8View => {
            let mut out = StrVec::with_capacity(array.len());
            for s in array.as_string_view().iter() {
                out.push(s.unwrap_or(""));
            }
            Ok(out)
        }
        other => Err(format!("{other} cannot be read as VARCHAR").into()),
    }
}
