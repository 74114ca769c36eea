//! The binary encoding of operator state in checkpoints: little-endian integers, length-prefixed
//! bytes, and columns by physical type. It is the executor-independent format of DESIGN.md: it
//! describes logical state (rows, keys, accumulator values), never in-memory layouts, and the
//! golden files in `tests/golden/` pin it. Decoding never trusts lengths: a damaged file gives an
//! error, not a panic or a huge allocation.

use crate::column::{Batch, Column, ColumnData, StrVec};
use crate::error::{Result, RuntimeError};

/// Appends encoded values to a byte buffer.
#[derive(Default)]
pub struct Enc {
    pub buf: Vec<u8>,
}

impl Enc {
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i128(&mut self, v: i128) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_bits().to_le_bytes());
    }
    pub fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    pub fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.buf.extend_from_slice(b);
    }
    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    pub fn i64s(&mut self, v: &[i64]) {
        self.len(v.len());
        self.buf.reserve(v.len() * 8);
        v.iter().for_each(|x| self.i64(*x));
    }
    pub fn bools(&mut self, v: &[bool]) {
        self.len(v.len());
        self.buf.extend(v.iter().map(|b| u8::from(*b)));
    }
    pub fn f64s(&mut self, v: &[f64]) {
        self.len(v.len());
        self.buf.reserve(v.len() * 8);
        v.iter().for_each(|x| self.f64(*x));
    }
    pub fn i128s(&mut self, v: &[i128]) {
        self.len(v.len());
        self.buf.reserve(v.len() * 16);
        v.iter().for_each(|x| self.i128(*x));
    }

    pub fn column(&mut self, c: &Column) {
        self.column_parts(&c.data, c.validity.as_deref());
    }

    /// A column from its values and validity, as [`Enc::column`] writes it (a group table's
    /// key builders are encoded without a copy into a `Column` first).
    pub fn column_parts(&mut self, data: &ColumnData, validity: Option<&[bool]>) {
        match data {
            ColumnData::Bool(v) => {
                self.u8(0);
                self.bools(v);
            }
            ColumnData::I32(v) => {
                self.u8(1);
                self.len(v.len());
                v.iter().for_each(|x| self.buf.extend_from_slice(&x.to_le_bytes()));
            }
            ColumnData::I64(v) => {
                self.u8(2);
                self.i64s(v);
            }
            ColumnData::F64(v) => {
                self.u8(3);
                self.f64s(v);
            }
            ColumnData::I128(v) => {
                self.u8(4);
                self.i128s(v);
            }
            ColumnData::Str(s) => {
                self.u8(5);
                self.len(s.len());
                for i in 0..s.len() {
                    self.str(s.get(i));
                }
            }
        }
        match validity {
            None => self.bool(false),
            Some(v) => {
                self.bool(true);
                self.bools(v);
            }
        }
    }

    pub fn batch(&mut self, b: &Batch) {
        self.len(b.num_rows);
        self.len(b.columns.len());
        b.columns.iter().for_each(|c| self.column(c));
    }
}

/// Reads what `Enc` wrote; every read checks the remaining length.
pub struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
    /// What is being decoded, for error messages.
    what: &'a str,
}

impl<'a> Dec<'a> {
    pub fn new(buf: &'a [u8], what: &'a str) -> Self {
        Dec { buf, pos: 0, what }
    }

    pub fn error(&self, message: impl std::fmt::Display) -> RuntimeError {
        RuntimeError::Checkpoint { message: format!("{} at byte {}: {message}", self.what, self.pos) }
    }

    pub fn is_at_end(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// The next `n` bytes as they are (a layout the caller reads in place).
    pub fn raw(&mut self, n: usize) -> Result<&'a [u8]> {
        self.take(n)
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() - self.pos < n {
            return Err(self.error(format!("needs {n} more bytes, {} left", self.buf.len() - self.pos)));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("length checked"))
    }
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(self.error(format!("invalid boolean {b}"))),
        }
    }
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.arr()?))
    }
    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.arr()?))
    }
    pub fn i128(&mut self) -> Result<i128> {
        Ok(i128::from_le_bytes(self.arr()?))
    }
    pub fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(u64::from_le_bytes(self.arr()?)))
    }
    /// A count of items that each take at least `min_item` bytes: checked against what is left,
    /// so a damaged length cannot ask for a huge allocation.
    pub fn len(&mut self, min_item: usize) -> Result<usize> {
        let n = self.u64()?;
        let left = (self.buf.len() - self.pos) as u64;
        if n.saturating_mul(min_item.max(1) as u64) > left && !(min_item == 0 && n <= left) {
            return Err(self.error(format!("length {n} exceeds the {left} bytes left")));
        }
        Ok(n as usize)
    }
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.len(1)?;
        self.take(n)
    }
    pub fn str(&mut self) -> Result<&'a str> {
        let b = self.bytes()?;
        std::str::from_utf8(b).map_err(|_| self.error("invalid UTF-8 in a string"))
    }
    /// `n` fixed-width values in one bounds check (a restore decodes millions of them).
    fn fixed<const N: usize, T>(&mut self, n: usize, f: impl Fn([u8; N]) -> T) -> Result<Vec<T>> {
        let bytes = self.take(n * N)?;
        let mut out = crate::memory::vec_with_capacity(n);
        out.extend(bytes.chunks_exact(N).map(|c| f(c.try_into().expect("chunks of N bytes"))));
        Ok(out)
    }
    pub fn i64s(&mut self) -> Result<Vec<i64>> {
        let n = self.len(8)?;
        self.fixed(n, i64::from_le_bytes)
    }
    pub fn i32s(&mut self) -> Result<Vec<i32>> {
        let n = self.len(4)?;
        self.fixed(n, i32::from_le_bytes)
    }
    pub fn bools(&mut self) -> Result<Vec<bool>> {
        let n = self.len(1)?;
        let bytes = self.take(n)?;
        if let Some(i) = bytes.iter().position(|b| *b > 1) {
            self.pos -= n - i;
            return Err(self.error(format!("invalid boolean {}", bytes[i])));
        }
        let mut out = crate::memory::vec_with_capacity(n);
        out.extend(bytes.iter().map(|b| *b == 1));
        Ok(out)
    }
    pub fn f64s(&mut self) -> Result<Vec<f64>> {
        let n = self.len(8)?;
        self.fixed(n, |b| f64::from_bits(u64::from_le_bytes(b)))
    }
    pub fn i128s(&mut self) -> Result<Vec<i128>> {
        let n = self.len(16)?;
        self.fixed(n, i128::from_le_bytes)
    }
    /// Fails unless the value read equals what this plan expects (a shape check on restore).
    pub fn expect(&self, what: &str, found: u64, expected: u64) -> Result<()> {
        if found == expected {
            Ok(())
        } else {
            Err(self.error(format!("{what} is {found} in the checkpoint but {expected} in this plan")))
        }
    }

    pub fn column(&mut self) -> Result<Column> {
        let data = match self.u8()? {
            0 => ColumnData::Bool(self.bools()?),
            1 => ColumnData::I32(self.i32s()?),
            2 => ColumnData::I64(self.i64s()?),
            3 => ColumnData::F64(self.f64s()?),
            4 => ColumnData::I128(self.i128s()?),
            5 => {
                let n = self.len(8)?;
                let mut s = StrVec::with_capacity(n);
                for _ in 0..n {
                    s.push(self.str()?);
                }
                ColumnData::Str(s)
            }
            t => return Err(self.error(format!("unknown column tag {t}"))),
        };
        let validity = if self.bool()? { Some(self.bools()?) } else { None };
        let c = Column { data, validity };
        if c.validity.as_ref().is_some_and(|v| v.len() != c.len()) {
            return Err(self.error("validity length differs from the column length"));
        }
        Ok(c)
    }

    pub fn batch(&mut self) -> Result<Batch> {
        let rows = self.u64()? as usize;
        let n = self.len(2)?;
        let columns = (0..n).map(|_| self.column()).collect::<Result<Vec<_>>>()?;
        if columns.iter().any(|c| c.len() != rows) {
            return Err(self.error("a column's length differs from the batch's row count"));
        }
        Ok(Batch { columns, num_rows: rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_round_trip() {
        let b = Batch::new(
            vec![
                Column::new(ColumnData::I64(vec![1, -2, 3]), Some(vec![true, false, true])),
                Column::new(ColumnData::I32(vec![7, 8, 9]), None),
                Column::new(ColumnData::F64(vec![0.5, f64::NAN, -1.0]), None),
                Column::new(ColumnData::I128(vec![i128::MAX, 0, i128::MIN]), None),
                Column::new(ColumnData::Bool(vec![true, false, true]), None),
                {
                    let mut s = StrVec::default();
                    ["", "naïve \"x\"", "\n"].iter().for_each(|x| s.push(x));
                    Column::new(ColumnData::Str(s), None)
                },
            ],
            3,
        );
        let mut e = Enc::default();
        e.batch(&b);
        let mut d = Dec::new(&e.buf, "test");
        let back = d.batch().unwrap();
        assert!(d.is_at_end());
        assert_eq!(format!("{back:?}"), format!("{b:?}"));
    }

    #[test]
    fn truncated_or_damaged_input_is_an_error_not_a_panic() {
        let mut e = Enc::default();
        e.batch(&Batch::new(vec![Column::new(ColumnData::I64(vec![1, 2, 3]), None)], 3));
        for cut in 0..e.buf.len() {
            assert!(Dec::new(&e.buf[..cut], "t").batch().is_err(), "cut at {cut}");
        }
        for i in 0..e.buf.len() {
            let mut b = e.buf.clone();
            b[i] ^= 0xff;
            let _ = Dec::new(&b, "t").batch(); // must not panic or allocate wildly
        }
    }
}
