//! Darwin columns into Arrow arrays, for the Parquet and Arrow IPC writers: each buffer copied
//! once; TIMESTAMP(3) becomes an Arrow timestamp in milliseconds without a time zone, DECIMAL
//! a 128-bit decimal of the same precision and scale.

use arrow_array::{
    ArrayRef, BooleanArray, Decimal128Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType as Arrow, Field, Schema as ArrowSchema, SchemaRef, TimeUnit};
use darwin_columnar::column::{Batch, Column, ColumnData};
use darwin_common::{DataType, Schema};
use std::sync::Arc;

/// The Arrow type Darwin writes a SQL type as.
fn arrow_type(t: DataType) -> Arrow {
    match t {
        DataType::Boolean => Arrow::Boolean,
        DataType::Int => Arrow::Int32,
        DataType::BigInt | DataType::Interval => Arrow::Int64,
        DataType::Double => Arrow::Float64,
        DataType::Decimal { precision, scale } => Arrow::Decimal128(precision, scale as i8),
        DataType::Varchar => Arrow::Utf8,
        DataType::Timestamp => Arrow::Timestamp(TimeUnit::Millisecond, None),
    }
}

/// The Arrow schema of a table (every column nullable).
pub fn arrow_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema.fields.iter().map(|f| Field::new(&f.name, arrow_type(f.data_type), true)).collect();
    Arc::new(ArrowSchema::new(fields))
}

/// A batch of `schema`'s columns as an Arrow record batch of `arrow` (from `arrow_schema`).
pub fn record_batch(batch: &Batch, schema: &Schema, arrow: &SchemaRef) -> Result<RecordBatch, String> {
    let columns: Vec<ArrayRef> =
        batch.columns.iter().zip(&schema.fields).map(|(c, f)| array(c, f.data_type)).collect::<Result<_, _>>()?;
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows));
    RecordBatch::try_new_with_options(arrow.clone(), columns, &options).map_err(|e| e.to_string())
}

fn array(col: &Column, ty: DataType) -> Result<ArrayRef, String> {
    let nulls = col.validity.as_ref().map(|v| NullBuffer::from(v.clone()));
    Ok(match (&col.data, ty) {
        (ColumnData::Bool(v), _) => Arc::new(BooleanArray::new(v.as_slice().into(), nulls)),
        (ColumnData::I32(v), _) => Arc::new(Int32Array::new(ScalarBuffer::from(v.to_vec()), nulls)),
        (ColumnData::I64(v), DataType::Timestamp) => {
            Arc::new(TimestampMillisecondArray::new(ScalarBuffer::from(v.to_vec()), nulls))
        }
        (ColumnData::I64(v), _) => Arc::new(Int64Array::new(ScalarBuffer::from(v.to_vec()), nulls)),
        (ColumnData::F64(v), _) => Arc::new(Float64Array::new(ScalarBuffer::from(v.to_vec()), nulls)),
        (ColumnData::I128(v), DataType::Decimal { precision, scale }) => Arc::new(
            Decimal128Array::new(ScalarBuffer::from(v.to_vec()), nulls)
                .with_precision_and_scale(precision, scale as i8)
                .map_err(|e| e.to_string())?,
        ),
        (ColumnData::I128(_), other) => return Err(format!("a 128-bit column of type {other}")),
        (ColumnData::Str(s), _) => {
            let offsets: Vec<i32> =
                s.offsets.iter().map(|&o| i32::try_from(o)).collect::<Result<_, _>>().map_err(|_| {
                    "a batch holds more than 2 GiB of strings, more than an Arrow string array can".to_string()
                })?;
            let offsets = if offsets.is_empty() { vec![0] } else { offsets };
            let a = StringArray::try_new(
                OffsetBuffer::new(ScalarBuffer::from(offsets)),
                Buffer::from(s.bytes.clone()),
                nulls,
            )
            .map_err(|e| e.to_string())?;
            Arc::new(a)
        }
    })
}
