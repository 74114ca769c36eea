//! Columnar batches: typed vectors with an optional validity mask. Operators process a batch at
//! a time; per-row work happens inside typed loops, never through per-row dispatch.

use crate::buf::Buf;
use darwin_common::types::PhysicalType;
use darwin_common::{DataType, Value};

/// Strings of a column, Arrow-style: one byte buffer and offsets (no allocation per string).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StrVec {
    /// Where each string starts in `bytes`, plus the end of the last: `len() + 1` entries starting at 0
    /// (empty only in a `Default` value, which `push` fixes up).
    pub offsets: Vec<u32>,
    /// The UTF-8 bytes of all strings, back to back; only ever extended by whole strings.
    pub bytes: Vec<u8>,
}

impl StrVec {
    /// An empty vector with room for `n` strings (and 8 bytes per string).
    pub fn with_capacity(n: usize) -> Self {
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        StrVec { offsets, bytes: Vec::with_capacity(n * 8) }
    }
    /// The number of strings.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
    /// Whether there are no strings.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// String `i` (panics if `i >= len()`).
    #[inline]
    #[expect(unsafe_code, reason = "string columns are read per row on the hot path: no second UTF-8 check")]
    pub fn get(&self, i: usize) -> &str {
        let (a, b) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        // SAFETY: `bytes` is only ever extended by whole `&str`s (`push`), and offsets mark their
        // boundaries, so every range is valid UTF-8. Re-validating cost 11% of YSB's run time.
        unsafe { std::str::from_utf8_unchecked(&self.bytes[a..b]) }
    }
    /// The bytes of string `i` as little-endian 8-byte words, the last one zero-padded, each
    /// with its number of string bytes (1..=8); nothing for an empty string. A word is loaded
    /// whole from the buffer wherever 8 bytes are there (the bytes past the string masked off):
    /// copying each short tail out first was most of the time of hashing string keys.
    #[inline]
    pub fn for_each_word(&self, i: usize, mut f: impl FnMut(u64, u32)) {
        let (mut a, b) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        let bytes = &self.bytes[..];
        let load = |a: usize| u64::from_le_bytes(bytes[a..a + 8].try_into().expect("8 bytes"));
        while a + 8 <= b {
            f(load(a), 8);
            a += 8;
        }
        let n = b - a;
        if n > 0 {
            let w = if a + 8 <= bytes.len() {
                load(a) & (u64::MAX >> (64 - 8 * n))
            } else {
                let mut w = [0u8; 8];
                w[..n].copy_from_slice(&bytes[a..b]);
                u64::from_le_bytes(w)
            };
            f(w, n as u32);
        }
    }
    /// Appends a string.
    #[inline]
    pub fn push(&mut self, s: &str) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.bytes.extend_from_slice(s.as_bytes());
        self.offsets.push(self.bytes.len() as u32);
    }

    /// Keeps the first `len` strings.
    pub fn truncate(&mut self, len: usize) {
        if let Some(&end) = self.offsets.get(len) {
            self.bytes.truncate(end as usize);
            self.offsets.truncate(len + 1);
        }
    }
}

/// A column's values. Each buffer is owned or shared between batches ([`Buf`]): reading goes
/// through `Deref` to the vector, writing copies a shared buffer first.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// `BOOLEAN` values.
    Bool(Buf<Vec<bool>>),
    /// `INT` values.
    I32(Buf<Vec<i32>>),
    /// `BIGINT`, `TIMESTAMP` (ms since the epoch) and `INTERVAL` (ms) values.
    I64(Buf<Vec<i64>>),
    /// `DOUBLE` values.
    F64(Buf<Vec<f64>>),
    /// `DECIMAL` mantissas, at the scale of the column's `DataType`.
    I128(Buf<Vec<i128>>),
    /// `VARCHAR` values.
    Str(Buf<StrVec>),
}

/// The smallest and largest of the integers whose validity is true (all without a validity);
/// None when there is none.
pub fn min_max<T: Copy + Into<i64>>(values: &[T], validity: Option<&[bool]>) -> Option<(i64, i64)> {
    let fold = |(lo, hi): (i64, i64), t: i64| (lo.min(t), hi.max(t));
    let (lo, hi) = match validity {
        None => values.iter().map(|&t| t.into()).fold((i64::MAX, i64::MIN), fold),
        Some(m) => values.iter().zip(m).filter(|(_, ok)| **ok).map(|(&t, _)| t.into()).fold((i64::MAX, i64::MIN), fold),
    };
    (lo <= hi).then_some((lo, hi))
}

/// A column: values plus validity (`None` means no NULLs). Values under a NULL are unspecified
/// (zero/empty) and must not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The values, one per row (unspecified under a NULL).
    pub data: ColumnData,
    /// Per row, false where the value is NULL; `None` when no row is NULL.
    pub validity: Option<Vec<bool>>,
}

impl Column {
    /// A column of `data`; a validity with no false entry is dropped (stored as `None`).
    pub fn new(data: ColumnData, validity: Option<Vec<bool>>) -> Column {
        let validity = validity.filter(|v| v.iter().any(|b| !b));
        Column { data, validity }
    }

    /// Approximate heap size, for memory accounting.
    pub fn size_bytes(&self) -> usize {
        let d = match &self.data {
            ColumnData::Bool(v) => v.len(),
            ColumnData::I32(v) => v.len() * 4,
            ColumnData::I64(v) => v.len() * 8,
            ColumnData::F64(v) => v.len() * 8,
            ColumnData::I128(v) => v.len() * 16,
            ColumnData::Str(s) => s.bytes.len() + s.offsets.len() * 4,
        };
        d + self.validity.as_ref().map_or(0, Vec::len)
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        match &self.data {
            ColumnData::Bool(v) => v.len(),
            ColumnData::I32(v) => v.len(),
            ColumnData::I64(v) => v.len(),
            ColumnData::F64(v) => v.len(),
            ColumnData::I128(v) => v.len(),
            ColumnData::Str(v) => v.len(),
        }
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    /// Whether rows `i` and `j` hold the same group key (NULLs equal, -0.0 = 0.0, NaN = NaN).
    pub fn same_key(&self, i: usize, j: usize) -> bool {
        let (a, b) = (self.is_valid(i), self.is_valid(j));
        if !a || !b {
            return a == b;
        }
        same_value(&self.data, i, &self.data, j)
    }

    /// Whether row `i` is not NULL.
    pub fn is_valid(&self, i: usize) -> bool {
        self.validity.as_ref().is_none_or(|v| v[i])
    }

    /// The number of NULL rows.
    pub fn null_count(&self) -> usize {
        self.validity.as_ref().map_or(0, |v| v.iter().filter(|b| !**b).count())
    }

    /// One value, for the slow paths (sinks, reference checks, rare functions).
    pub fn get(&self, i: usize, ty: DataType) -> Value {
        if !self.is_valid(i) {
            return Value::Null;
        }
        match (&self.data, ty) {
            (ColumnData::Bool(v), _) => Value::Bool(v[i]),
            (ColumnData::I32(v), _) => Value::Int(v[i]),
            (ColumnData::I64(v), DataType::Timestamp) => Value::Timestamp(v[i]),
            (ColumnData::I64(v), DataType::Interval) => Value::Interval(v[i]),
            (ColumnData::I64(v), _) => Value::BigInt(v[i]),
            (ColumnData::F64(v), _) => Value::Double(v[i]),
            (ColumnData::I128(v), t) => Value::Decimal(v[i], t.scale()),
            (ColumnData::Str(v), _) => Value::Str(v.get(i).to_string()),
        }
    }

    /// A clone that shares this column's value buffer instead of copying it (this column's
    /// buffer becomes shared too; the first write to either copies it).
    pub fn share(&mut self) -> Column {
        let data = match &mut self.data {
            ColumnData::Bool(v) => ColumnData::Bool(v.share()),
            ColumnData::I32(v) => ColumnData::I32(v.share()),
            ColumnData::I64(v) => ColumnData::I64(v.share()),
            ColumnData::F64(v) => ColumnData::F64(v.share()),
            ColumnData::I128(v) => ColumnData::I128(v.share()),
            ColumnData::Str(v) => ColumnData::Str(v.share()),
        };
        Column { data, validity: self.validity.clone() }
    }

    /// The values of an `I64` column (any under a NULL are unspecified); panics on another type.
    pub fn i64s(&self) -> &[i64] {
        match &self.data {
            ColumnData::I64(v) => v,
            other => panic!("expected an i64 column, found {:?}", std::mem::discriminant(other)),
        }
    }

    /// The values of a `Bool` column (any under a NULL are unspecified); panics on another type.
    pub fn bools(&self) -> &[bool] {
        match &self.data {
            ColumnData::Bool(v) => v,
            other => panic!("expected a bool column, found {:?}", std::mem::discriminant(other)),
        }
    }

    /// Rows at `indices`, in that order.
    pub fn take(&self, indices: &[u32]) -> Column {
        take_parts(&self.data, self.validity.as_deref(), indices)
    }

    /// Rows where `mask` is true.
    pub fn filter(&self, mask: &[bool]) -> Column {
        let idx: Vec<u32> = mask.iter().enumerate().filter(|(_, m)| **m).map(|(i, _)| i as u32).collect();
        self.take(&idx)
    }

    /// A column of `n` copies of a value.
    pub fn constant(v: &Value, ty: DataType, n: usize) -> Column {
        let data = match (v, ty.physical()) {
            (Value::Null, _) => {
                let mut b = ColumnBuilder::new(ty, n);
                (0..n).for_each(|_| b.push_null());
                return b.finish();
            }
            (Value::Bool(x), _) => ColumnData::Bool(vec![*x; n].into()),
            (Value::Int(x), PhysicalType::I32) => ColumnData::I32(vec![*x; n].into()),
            (v, PhysicalType::I64) if v.as_i64().is_some() => {
                ColumnData::I64(vec![v.as_i64().unwrap_or_default(); n].into())
            }
            (v, PhysicalType::F64) if v.as_f64().is_some() => {
                ColumnData::F64(vec![v.as_f64().unwrap_or_default(); n].into())
            }
            (Value::Decimal(m, s), PhysicalType::I128) => {
                ColumnData::I128(vec![crate::scalar::rescale(*m, *s, ty.scale()); n].into())
            }
            (Value::Str(x), PhysicalType::Str) => {
                let mut sv = StrVec::with_capacity(n);
                (0..n).for_each(|_| sv.push(x));
                ColumnData::Str(sv.into())
            }
            (v, _) => panic!("literal {v:?} does not fit {ty}"),
        };
        Column::new(data, None)
    }
}

/// Appends values of one type; finishes into a [`Column`].
#[derive(Debug)]
pub struct ColumnBuilder {
    ty: DataType,
    data: ColumnData,
    validity: Vec<bool>,
    has_null: bool,
}

/// Whether value `g` of `x` and value `r` of `y` are the same group key (both valid).
#[inline]
fn same_value(x: &ColumnData, g: usize, y: &ColumnData, r: usize) -> bool {
    match (x, y) {
        (ColumnData::Bool(x), ColumnData::Bool(y)) => x[g] == y[r],
        (ColumnData::I32(x), ColumnData::I32(y)) => x[g] == y[r],
        (ColumnData::I64(x), ColumnData::I64(y)) => x[g] == y[r],
        (ColumnData::I128(x), ColumnData::I128(y)) => x[g] == y[r],
        (ColumnData::F64(x), ColumnData::F64(y)) => x[g] == y[r] || (x[g].is_nan() && y[r].is_nan()),
        (ColumnData::Str(x), ColumnData::Str(y)) => x.get(g) == y.get(r),
        _ => false,
    }
}

impl ColumnBuilder {
    /// An empty builder for values of type `ty`, with room for `capacity` values.
    pub fn new(ty: DataType, capacity: usize) -> Self {
        let data = match ty.physical() {
            PhysicalType::Bool => ColumnData::Bool(Vec::with_capacity(capacity).into()),
            PhysicalType::I32 => ColumnData::I32(Vec::with_capacity(capacity).into()),
            PhysicalType::I64 => ColumnData::I64(Vec::with_capacity(capacity).into()),
            PhysicalType::F64 => ColumnData::F64(Vec::with_capacity(capacity).into()),
            PhysicalType::I128 => ColumnData::I128(Vec::with_capacity(capacity).into()),
            PhysicalType::Str => ColumnData::Str(StrVec::with_capacity(capacity).into()),
        };
        ColumnBuilder { ty, data, validity: Vec::with_capacity(capacity), has_null: false }
    }

    /// A builder for values like those of `col` (same physical type).
    pub fn like(col: &Column, capacity: usize) -> Self {
        let ty = match &col.data {
            ColumnData::Bool(_) => DataType::Boolean,
            ColumnData::I32(_) => DataType::Int,
            ColumnData::I64(_) => DataType::BigInt,
            ColumnData::F64(_) => DataType::Double,
            ColumnData::I128(_) => DataType::Decimal { precision: 38, scale: 0 },
            ColumnData::Str(_) => DataType::Varchar,
        };
        ColumnBuilder::new(ty, capacity)
    }

    /// Whether value `g` so far and row `r` of `col` are the same group key: NULLs are equal,
    /// and doubles group as `keys::encode_row` groups them (-0.0 = 0.0, NaN = NaN).
    #[inline]
    pub fn same_key(&self, g: usize, col: &Column, r: usize) -> bool {
        let (a, b) = (self.validity[g], col.is_valid(r));
        if !a || !b {
            return a == b;
        }
        same_value(&self.data, g, &col.data, r)
    }

    /// A builder holding `col`'s values (a restored table's keys), if `col` has the physical
    /// type of `ty`.
    pub fn from_column(ty: DataType, col: Column) -> Option<Self> {
        let fits = matches!(
            (ty.physical(), &col.data),
            (PhysicalType::Bool, ColumnData::Bool(_))
                | (PhysicalType::I32, ColumnData::I32(_))
                | (PhysicalType::I64, ColumnData::I64(_))
                | (PhysicalType::F64, ColumnData::F64(_))
                | (PhysicalType::I128, ColumnData::I128(_))
                | (PhysicalType::Str, ColumnData::Str(_))
        );
        if !fits {
            return None;
        }
        let n = col.len();
        let has_null = col.validity.as_ref().is_some_and(|v| v.contains(&false));
        Some(ColumnBuilder { ty, data: col.data, validity: col.validity.unwrap_or_else(|| vec![true; n]), has_null })
    }

    /// The type of the values, as given to [`ColumnBuilder::new`].
    pub fn data_type(&self) -> DataType {
        self.ty
    }

    /// The number of values appended so far.
    pub fn len(&self) -> usize {
        self.validity.len()
    }

    /// Whether no value has been appended.
    pub fn is_empty(&self) -> bool {
        self.validity.is_empty()
    }

    /// Appends a NULL.
    pub fn push_null(&mut self) {
        self.has_null = true;
        self.validity.push(false);
        match &mut self.data {
            ColumnData::Bool(v) => v.push(false),
            ColumnData::I32(v) => v.push(0),
            ColumnData::I64(v) => v.push(0),
            ColumnData::F64(v) => v.push(0.0),
            ColumnData::I128(v) => v.push(0),
            ColumnData::Str(v) => v.push(""),
        }
    }

    /// Appends a value, converting between representations of the builder's type.
    /// Panics on a value of another type: the planner guarantees types.
    pub fn push(&mut self, v: &Value) {
        if v.is_null() {
            return self.push_null();
        }
        self.validity.push(true);
        match (&mut self.data, v) {
            (ColumnData::Bool(c), Value::Bool(b)) => c.push(*b),
            (ColumnData::I32(c), Value::Int(x)) => c.push(*x),
            (ColumnData::I64(c), v) if v.as_i64().is_some() => c.push(v.as_i64().unwrap_or_default()),
            (ColumnData::F64(c), v) if v.as_f64().is_some() => c.push(v.as_f64().unwrap_or_default()),
            (ColumnData::I128(c), Value::Decimal(m, s)) => {
                c.push(crate::scalar::rescale(*m, *s, self.ty.scale()));
            }
            (ColumnData::Str(c), Value::Str(s)) => c.push(s),
            (_, v) => panic!("value {v:?} does not fit a {} column", self.ty),
        }
    }

    /// Drops every value after the first `len` (a record that failed half-way).
    pub fn truncate(&mut self, len: usize) {
        self.validity.truncate(len);
        match &mut self.data {
            ColumnData::Bool(v) => v.truncate(len),
            ColumnData::I32(v) => v.truncate(len),
            ColumnData::I64(v) => v.truncate(len),
            ColumnData::F64(v) => v.truncate(len),
            ColumnData::I128(v) => v.truncate(len),
            ColumnData::Str(v) => v.truncate(len),
        }
        self.has_null = self.validity.contains(&false);
    }

    /// Appends a non-NULL string; panics unless this is a string builder.
    #[inline]
    pub fn push_str(&mut self, s: &str) {
        self.validity.push(true);
        match &mut self.data {
            ColumnData::Str(c) => c.push(s),
            _ => panic!("push_str on a {} column", self.ty),
        }
    }

    /// Appends a non-NULL 64-bit integer; panics unless this builder holds `I64` values.
    #[inline]
    pub fn push_i64(&mut self, x: i64) {
        self.validity.push(true);
        match &mut self.data {
            ColumnData::I64(c) => c.push(x),
            _ => panic!("push_i64 on a {} column", self.ty),
        }
    }

    /// Appends row `i` of a column of the same type.
    pub fn push_from(&mut self, col: &Column, i: usize) {
        if !col.is_valid(i) {
            return self.push_null();
        }
        self.validity.push(true);
        match (&mut self.data, &col.data) {
            (ColumnData::Bool(a), ColumnData::Bool(b)) => a.push(b[i]),
            (ColumnData::I32(a), ColumnData::I32(b)) => a.push(b[i]),
            (ColumnData::I64(a), ColumnData::I64(b)) => a.push(b[i]),
            (ColumnData::F64(a), ColumnData::F64(b)) => a.push(b[i]),
            (ColumnData::I128(a), ColumnData::I128(b)) => a.push(b[i]),
            (ColumnData::Str(a), ColumnData::Str(b)) => a.push(b.get(i)),
            _ => panic!("push_from between columns of different types ({})", self.ty),
        }
    }

    /// Makes room for `n` more values.
    pub fn reserve(&mut self, n: usize) {
        self.validity.reserve(n);
        match &mut self.data {
            ColumnData::Bool(v) => v.reserve(n),
            ColumnData::I32(v) => v.reserve(n),
            ColumnData::I64(v) => v.reserve(n),
            ColumnData::F64(v) => v.reserve(n),
            ColumnData::I128(v) => v.reserve(n),
            ColumnData::Str(v) => v.offsets.reserve(n),
        }
    }

    /// Appends every row of a column of the same type (one typed copy per column, where
    /// `push_from` per row was a fifth of Nexmark q8's window join).
    pub fn extend_from(&mut self, col: &Column) {
        match &col.validity {
            Some(v) => {
                self.has_null |= v.contains(&false);
                self.validity.extend_from_slice(v);
            }
            None => self.validity.resize(self.validity.len() + col.len(), true),
        }
        match (&mut self.data, &col.data) {
            (ColumnData::Bool(a), ColumnData::Bool(b)) => a.extend_from_slice(b),
            (ColumnData::I32(a), ColumnData::I32(b)) => a.extend_from_slice(b),
            (ColumnData::I64(a), ColumnData::I64(b)) => a.extend_from_slice(b),
            (ColumnData::F64(a), ColumnData::F64(b)) => a.extend_from_slice(b),
            (ColumnData::I128(a), ColumnData::I128(b)) => a.extend_from_slice(b),
            (ColumnData::Str(a), ColumnData::Str(b)) => {
                if a.offsets.is_empty() {
                    a.offsets.push(0);
                }
                let base = *a.offsets.last().expect("offsets start at 0");
                let first = b.offsets.first().copied().unwrap_or(0);
                a.offsets.extend(b.offsets.iter().skip(1).map(|o| o - first + base));
                a.bytes.extend_from_slice(&b.bytes[first as usize..*b.offsets.last().unwrap_or(&0) as usize]);
            }
            _ => panic!("extend_from between columns of different types ({})", self.ty),
        }
    }

    /// The column of the values appended (validity `None` if none was NULL).
    pub fn finish(self) -> Column {
        Column::new(self.data, if self.has_null { Some(self.validity) } else { None })
    }

    /// The values so far, as a column (a copy; the builder goes on).
    /// The values and (if any is NULL) the validity, as [`ColumnBuilder::to_column`] would hold them.
    pub fn parts(&self) -> (&ColumnData, Option<&[bool]>) {
        (&self.data, self.has_null.then_some(self.validity.as_slice()))
    }

    /// The values at `indices` so far, as a column (the builder goes on).
    pub fn take(&self, indices: &[u32]) -> Column {
        let (data, validity) = self.parts();
        take_parts(data, validity, indices)
    }

    /// The values so far, as a column (a copy; the builder goes on).
    pub fn to_column(&self) -> Column {
        Column::new(self.data.clone(), if self.has_null { Some(self.validity.clone()) } else { None })
    }
}

/// Rows at `indices` of values and validity, in that order.
fn take_parts(data: &ColumnData, validity: Option<&[bool]>, indices: &[u32]) -> Column {
    fn g<T: Copy>(v: &[T], idx: &[u32]) -> Vec<T> {
        idx.iter().map(|&i| v[i as usize]).collect()
    }
    let data = match data {
        ColumnData::Bool(v) => ColumnData::Bool(g(v, indices).into()),
        ColumnData::I32(v) => ColumnData::I32(g(v, indices).into()),
        ColumnData::I64(v) => ColumnData::I64(g(v, indices).into()),
        ColumnData::F64(v) => ColumnData::F64(g(v, indices).into()),
        ColumnData::I128(v) => ColumnData::I128(g(v, indices).into()),
        ColumnData::Str(s) => {
            let mut out = StrVec::with_capacity(indices.len());
            for &i in indices {
                out.push(s.get(i as usize));
            }
            ColumnData::Str(out.into())
        }
    };
    Column::new(data, validity.map(|v| g(v, indices)))
}

/// Rows of equal-length columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The columns, in schema order, each `num_rows` long.
    pub columns: Vec<Column>,
    /// The number of rows (kept also for a batch without columns).
    pub num_rows: usize,
}

impl Batch {
    /// A batch of `columns`, which must each have `num_rows` rows (checked in debug builds).
    pub fn new(columns: Vec<Column>, num_rows: usize) -> Batch {
        debug_assert!(columns.iter().all(|c| c.len() == num_rows), "columns of unequal length");
        Batch { columns, num_rows }
    }

    /// A batch with no rows, one empty column per type.
    pub fn empty(types: &[DataType]) -> Batch {
        Batch { columns: types.iter().map(|t| ColumnBuilder::new(*t, 0).finish()).collect(), num_rows: 0 }
    }

    /// A clone sharing every column's buffer ([`Column::share`]): for a batch that several
    /// readers get (a shared sub-plan's, a broadcast's, a benchmark's recorded events).
    pub fn share(&mut self) -> Batch {
        Batch { columns: self.columns.iter_mut().map(Column::share).collect(), num_rows: self.num_rows }
    }

    /// Rows at `indices`, in that order.
    pub fn take(&self, indices: &[u32]) -> Batch {
        Batch { columns: self.columns.iter().map(|c| c.take(indices)).collect(), num_rows: indices.len() }
    }

    /// Rows where `mask` is true (an unchanged clone when every row is kept).
    pub fn filter(&self, mask: &[bool]) -> Batch {
        let idx: Vec<u32> = mask.iter().enumerate().filter(|(_, m)| **m).map(|(i, _)| i as u32).collect();
        if idx.len() == self.num_rows {
            return self.clone();
        }
        self.take(&idx)
    }

    /// One row as values (slow path).
    pub fn row(&self, i: usize, types: &[DataType]) -> Vec<Value> {
        self.columns.iter().zip(types).map(|(c, t)| c.get(i, *t)).collect()
    }

    /// Builds a batch from rows of values (slow path: tests, lookup tables, small outputs).
    pub fn from_rows(rows: &[Vec<Value>], types: &[DataType]) -> Batch {
        let mut builders: Vec<ColumnBuilder> = types.iter().map(|t| ColumnBuilder::new(*t, rows.len())).collect();
        for r in rows {
            for (b, v) in builders.iter_mut().zip(r) {
                b.push(v);
            }
        }
        Batch::new(builders.into_iter().map(ColumnBuilder::finish).collect(), rows.len())
    }

    /// Approximate heap size, for memory accounting.
    pub fn size_bytes(&self) -> usize {
        self.columns.iter().map(Column::size_bytes).sum()
    }
}

/// Concatenates batches of the same schema.
pub fn concat_batches(batches: &[Batch], types: &[DataType]) -> Batch {
    let n: usize = batches.iter().map(|b| b.num_rows).sum();
    let mut builders: Vec<ColumnBuilder> = types.iter().map(|t| ColumnBuilder::new(*t, n)).collect();
    for b in batches {
        for (bld, col) in builders.iter_mut().zip(&b.columns) {
            bld.extend_from(col);
        }
    }
    Batch::new(builders.into_iter().map(ColumnBuilder::finish).collect(), n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A string's words are its bytes in 8-byte chunks, the last zero-padded, whether the
    /// buffer has bytes after it (loaded and masked) or ends with it (copied): every length
    /// around the word size, at every position in the buffer.
    #[test]
    fn words_are_the_zero_padded_chunks() {
        let text = "é0123456789abcdefghijklmnopqrstuvwxyz";
        for len in 0..=20 {
            let mut v = StrVec::with_capacity(4);
            for k in 0..4 {
                v.push(&text.chars().take(len + (k % 2)).collect::<String>());
            }
            for i in 0..v.len() {
                let mut got = Vec::new();
                v.for_each_word(i, |w, n| got.push((w, n)));
                let want: Vec<(u64, u32)> = v
                    .get(i)
                    .as_bytes()
                    .chunks(8)
                    .map(|c| {
                        let mut w = [0u8; 8];
                        w[..c.len()].copy_from_slice(c);
                        (u64::from_le_bytes(w), c.len() as u32)
                    })
                    .collect();
                assert_eq!(got, want, "string {i} of length {}", v.get(i).len());
            }
        }
    }

    /// Concatenating batches (bulk copies per column) gives their rows in order, NULLs and
    /// strings included.
    #[test]
    fn concatenation_keeps_every_row_in_order() {
        let types = [DataType::BigInt, DataType::Varchar, DataType::Double, DataType::Int, DataType::Boolean];
        let mut rnd = darwin_common::xorshift(0x5eed);
        let mut batches = Vec::new();
        let mut want = Vec::new();
        for _ in 0..6 {
            let rows: Vec<Vec<Value>> = (0..rnd() % 7)
                .map(|_| {
                    types
                        .iter()
                        .map(|t| match (rnd() % 4, t) {
                            (0, _) => Value::Null,
                            (_, DataType::BigInt) => Value::BigInt(rnd() as i64),
                            (_, DataType::Varchar) => Value::Str("xyzé".repeat((rnd() % 3) as usize)),
                            (_, DataType::Double) => Value::Double(rnd() as f64),
                            (_, DataType::Int) => Value::Int(rnd() as i32),
                            _ => Value::Bool(rnd() % 2 == 1),
                        })
                        .collect()
                })
                .collect();
            let b = Batch::from_rows(&rows, &types);
            // Some rows taken out, as a join's buffered batches are.
            let skip = (rnd() % 3) as usize;
            let keep: Vec<u32> = (skip.min(rows.len()) as u32..rows.len() as u32).collect();
            want.extend(rows[skip.min(rows.len())..].iter().cloned());
            batches.push(b.take(&keep));
        }
        let all = concat_batches(&batches, &types);
        let got: Vec<Vec<Value>> = (0..all.num_rows).map(|i| all.row(i, &types)).collect();
        assert_eq!(got, want);
    }
}
