//! The binary encoding of operator state in checkpoints: little-endian integers, length-prefixed
//! bytes, and columns by physical type. It is the executor-independent format of DESIGN.md: it
//! describes logical state (rows, keys, accumulator values), never in-memory layouts, and the
//! golden files in `tests/golden/` pin it. Decoding never trusts lengths: a damaged file gives an
//! error, not a panic or a huge allocation.

use crate::column::{Batch, Column, ColumnData, StrVec};
use crate::error::CorruptState;

/// Results of decoding a snapshot.
type Result<T> = std::result::Result<T, CorruptState>;

/// Elements per chunk of a vector encoded in pieces (see [`Enc::chunked`]): small enough that
/// an update touching a few groups re-encodes little, large enough that a table of millions of
/// groups is a few thousand pieces.
pub const CHUNK_BITS: u32 = 13;
/// Elements per chunk: `1 << CHUNK_BITS`.
pub const CHUNK: usize = 1 << CHUNK_BITS;

/// An encoded state: the bytes encoded now, and what goes between them: ranges of this
/// operator's state in the last complete checkpoint (which the checkpoint writer copies from
/// that checkpoint's file), and parts whose encoding the coordinator finishes.
#[derive(Debug, Default)]
pub struct Encoded {
    /// The bytes encoded now, between which the inserts go.
    pub buf: Vec<u8>,
    /// The pieces to insert into `buf`, in order of `at`.
    pub inserts: Vec<Insert>,
}

impl Encoded {
    /// The state's bytes, given `prev`: the last complete checkpoint's epoch and this
    /// operator's bytes in it; and how many bytes came from there. (What the checkpoint writer
    /// produces, in memory: for tests.)
    pub fn resolve(self, prev: Option<(u64, &[u8])>) -> (Vec<u8>, usize) {
        let (mut out, mut reused, mut from) = (Vec::new(), 0, 0);
        for i in self.inserts {
            out.extend_from_slice(&self.buf[from..i.at]);
            match i.source {
                Source::Prev { epoch, offset } => {
                    let (durable, bytes) = prev.expect("a state refers to a checkpoint only when there is one");
                    assert_eq!(epoch, durable, "states refer to the last complete checkpoint");
                    out.extend_from_slice(&bytes[offset as usize..(offset + i.len) as usize]);
                    reused += i.len as usize;
                }
                Source::Later(encode) => {
                    let at = out.len();
                    out.resize(at + i.len as usize, 0);
                    encode(&mut out[at..]);
                }
            }
            from = i.at;
        }
        out.extend_from_slice(&self.buf[from..]);
        (out, reused)
    }
}

/// `len` bytes inserted before byte `at` of the new bytes.
#[derive(Debug)]
pub struct Insert {
    /// The offset in [`Encoded::buf`] the piece goes before.
    pub at: usize,
    /// The piece's length in bytes.
    pub len: u64,
    /// Where the piece's bytes come from.
    pub source: Source,
}

/// Finishes encoding a part of a state into exactly the bytes given, off the worker's path.
pub type Deferred = Box<dyn FnOnce(&mut [u8]) + Send>;

/// Where an inserted piece of a state's bytes comes from.
pub enum Source {
    /// Bytes at `offset` of the operator's state in checkpoint `epoch`.
    Prev {
        /// The checkpoint, which must be the last complete one.
        epoch: u64,
        /// The byte offset in the operator's state in that checkpoint.
        offset: u64,
    },
    /// Bytes the coordinator encodes from a copy the operator took.
    Later(Deferred),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Prev { epoch, offset } => write!(f, "Prev {{ epoch: {epoch}, offset: {offset} }}"),
            Source::Later(_) => write!(f, "Later"),
        }
    }
}

/// Appends encoded values to a byte buffer. A snapshot taken for a checkpoint may also refer
/// to unchanged chunks of the operator's state in the last complete checkpoint instead of
/// encoding them again ([`Enc::chunked`]); the result is then [`Encoded`] with inserts.
#[derive(Default)]
pub struct Enc {
    /// The bytes encoded so far (without the inserted pieces).
    pub buf: Vec<u8>,
    /// Ranges of the last checkpoint between the bytes of `buf`, and their total length.
    inserts: Vec<Insert>,
    inserted: u64,
    /// The checkpoint this snapshot is for, and the last complete one, whose bytes it may reuse.
    epoch: Option<u64>,
    durable: Option<u64>,
}

/// Fixed-width values as the format writes them: little-endian, booleans as one byte.
pub trait Fixed: Copy {
    /// Encoded bytes per value.
    const WIDTH: usize;
    /// Writes the value into `out`, which is exactly `WIDTH` bytes.
    fn put(self, out: &mut [u8]);
}

macro_rules! fixed {
    ($t:ty, $w:expr, $f:expr) => {
        impl Fixed for $t {
            const WIDTH: usize = $w;
            #[inline]
            fn put(self, out: &mut [u8]) {
                out.copy_from_slice(&$f(self));
            }
        }
    };
}
fixed!(i64, 8, i64::to_le_bytes);
fixed!(i32, 4, i32::to_le_bytes);
fixed!(i128, 16, i128::to_le_bytes);
fixed!(f64, 8, |x: f64| x.to_bits().to_le_bytes());
fixed!(bool, 1, |x: bool| [u8::from(x)]);

/// Appends the values without a length, in one resize and a loop the compiler turns into
/// wide copies (a value at a time through `extend_from_slice` ran at a tenth of the speed).
fn put_all<T: Fixed>(buf: &mut Vec<u8>, v: &[T]) {
    let start = buf.len();
    buf.resize(start + v.len() * T::WIDTH, 0);
    for (out, x) in buf[start..].chunks_exact_mut(T::WIDTH).zip(v) {
        x.put(out);
    }
}

/// Where each chunk of one vector lies in the operator's state of the last snapshot taken for
/// a checkpoint: `(elements, offset, bytes)`. Kept by the operator between snapshots.
#[derive(Debug, Default)]
pub struct ChunkCache {
    epoch: u64,
    chunks: Vec<(u32, u64, u64)>,
}

/// Where each of a list of buffered batches lay in the operator's state of the last snapshot
/// taken for a checkpoint (`None`: not there as it is now). Buffered batches do not change, so
/// those already in the last complete checkpoint are referred to, not encoded again. The
/// operator keeps `spans` parallel to its batches: a batch appended has no span, one dropped
/// or rewritten takes its span with it ([`BatchCache::keep`]).
#[derive(Debug, Default)]
pub struct BatchCache {
    epoch: u64,
    spans: Vec<Option<(u64, u64)>>,
}

impl BatchCache {
    /// After the batches were replaced by a selection of them: `kept[i]` is the old index of
    /// new batch `i` if it is unchanged, `None` if it is new or rewritten.
    pub fn keep(&mut self, kept: impl Iterator<Item = Option<usize>>) {
        let old = std::mem::take(&mut self.spans);
        self.spans = kept.map(|k| k.and_then(|i| old.get(i).copied().flatten())).collect();
    }
}

impl Enc {
    /// Buffered batches as [`Enc::batch`] writes them, each preceded by the count; batches
    /// with a span in the cache come from the last complete checkpoint.
    pub fn batches_cached(&mut self, batches: &[Batch], cache: &mut BatchCache) {
        self.len(batches.len());
        let usable = self.epoch.is_some() && self.durable == Some(cache.epoch);
        let mut now = Vec::with_capacity(batches.len());
        for (i, b) in batches.iter().enumerate() {
            let at = self.position();
            match cache.spans.get(i).copied().flatten() {
                Some((offset, len)) if usable => self.reuse(cache.epoch, offset, len),
                _ => self.batch(b),
            }
            now.push(Some((at, self.position() - at)));
        }
        match self.epoch {
            Some(e) => *cache = BatchCache { epoch: e, spans: now },
            None => cache.spans.clear(),
        }
    }

    /// An encoder for the snapshot of checkpoint `epoch` (`None`: an operator's final state,
    /// kept by the coordinator for every later checkpoint, so it never refers to a file);
    /// `durable` is the last complete checkpoint.
    pub fn for_checkpoint(epoch: Option<u64>, durable: Option<u64>, capacity: usize) -> Enc {
        Enc { buf: Vec::with_capacity(capacity), inserts: Vec::new(), inserted: 0, epoch, durable }
    }

    /// Bytes of the state so far (the offset of whatever comes next).
    pub fn position(&self) -> u64 {
        self.inserted + self.buf.len() as u64
    }

    /// The bytes and the pieces to insert between them, for the checkpoint writer.
    pub fn finish(self) -> Encoded {
        Encoded { buf: self.buf, inserts: self.inserts }
    }

    /// The encoded bytes, for an encoder that never refers to a checkpoint (tests, states
    /// outside checkpoints).
    pub fn into_bytes(self) -> Vec<u8> {
        assert!(self.inserts.is_empty(), "an encoder without a checkpoint refers to none");
        self.buf
    }

    /// Inserts a range of the last checkpoint here; one that continues the range inserted
    /// just before extends it.
    fn reuse(&mut self, epoch: u64, offset: u64, len: u64) {
        self.inserted += len;
        let at = self.buf.len();
        if let Some(Insert { at: a, len: l, source: Source::Prev { epoch: e, offset: o } }) = self.inserts.last_mut() {
            if *a == at && *e == epoch && *o + *l == offset {
                *l += len;
                return;
            }
        }
        self.inserts.push(Insert { at, len, source: Source::Prev { epoch, offset } });
    }

    /// `len` bytes that `encode` writes: for a checkpoint, the coordinator's thread runs it
    /// (the operator hands it a copy of what it needs, which is quicker to take than the
    /// encoding); otherwise it runs here.
    pub fn later(&mut self, len: usize, encode: Deferred) {
        if self.epoch.is_some() {
            self.inserted += len as u64;
            self.inserts.push(Insert { at: self.buf.len(), len: len as u64, source: Source::Later(encode) });
        } else {
            let at = self.buf.len();
            self.buf.resize(at + len, 0);
            encode(&mut self.buf[at..]);
        }
    }

    /// Encodes `n` elements chunk by chunk ([`CHUNK`] elements each, `encode` writing one
    /// chunk). A chunk that had the same number of elements in the last snapshot, which is in
    /// the last complete checkpoint, and for which `changed` is false is not encoded again: the
    /// piece refers to its bytes in that checkpoint. The cache then describes this snapshot.
    pub fn chunked(
        &mut self,
        cache: &mut ChunkCache,
        n: usize,
        changed: &dyn Fn(usize) -> bool,
        encode: &mut dyn FnMut(&mut Vec<u8>, std::ops::Range<usize>),
    ) {
        let usable = self.epoch.is_some() && self.durable == Some(cache.epoch);
        let mut now = Vec::with_capacity(n.div_ceil(CHUNK));
        for c in 0..n.div_ceil(CHUNK) {
            let r = c * CHUNK..n.min((c + 1) * CHUNK);
            let at = self.position();
            match cache.chunks.get(c) {
                Some(&(elems, offset, len)) if usable && elems as usize == r.len() && !changed(c) => {
                    self.reuse(cache.epoch, offset, len);
                    now.push((elems, at, len));
                }
                _ => {
                    encode(&mut self.buf, r.clone());
                    now.push((r.len() as u32, at, self.position() - at));
                }
            }
        }
        match self.epoch {
            Some(e) => *cache = ChunkCache { epoch: e, chunks: now },
            None => cache.chunks.clear(),
        }
    }

    /// A vector of fixed-width values, as [`Enc::i64s`] and its kind write it, in chunks.
    pub fn fixed_chunked<T: Fixed>(&mut self, v: &[T], cache: &mut ChunkCache, changed: &dyn Fn(usize) -> bool) {
        self.len(v.len());
        self.chunked(cache, v.len(), changed, &mut |buf, r| put_all(buf, &v[r]));
    }

    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    /// One byte: 0 or 1.
    pub fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }
    /// 8 bytes, little-endian.
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// 8 bytes, little-endian.
    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// 16 bytes, little-endian.
    pub fn i128(&mut self, v: i128) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// The IEEE 754 bits, 8 bytes little-endian.
    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_bits().to_le_bytes());
    }
    /// A count or byte length, as a `u64`.
    pub fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    /// A length, then the bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.buf.extend_from_slice(b);
    }
    /// The UTF-8 bytes, as [`Enc::bytes`] writes them.
    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    /// A length, then the values, 8 bytes each.
    pub fn i64s(&mut self, v: &[i64]) {
        self.len(v.len());
        put_all(&mut self.buf, v);
    }
    /// A length, then the values, one byte (0 or 1) each.
    pub fn bools(&mut self, v: &[bool]) {
        self.len(v.len());
        put_all(&mut self.buf, v);
    }
    /// A length, then the values' bits, 8 bytes each.
    pub fn f64s(&mut self, v: &[f64]) {
        self.len(v.len());
        put_all(&mut self.buf, v);
    }
    /// A length, then the values, 16 bytes each.
    pub fn i128s(&mut self, v: &[i128]) {
        self.len(v.len());
        put_all(&mut self.buf, v);
    }

    /// A column: a tag for its physical type, its values, then whether it has a validity and the validity.
    pub fn column(&mut self, c: &Column) {
        self.column_chunked(&c.data, c.validity.as_deref(), &mut Default::default());
    }

    /// A column from its values and validity, in chunks of its values and validity (`caches[0]`
    /// and `caches[1]`): for columns whose rows never change once written (group keys, encoded
    /// from their builders without a copy into a `Column`), only chunks that were not complete
    /// in the last snapshot are encoded again. With empty caches it is [`Enc::column`].
    pub fn column_chunked(&mut self, data: &ColumnData, validity: Option<&[bool]>, caches: &mut [ChunkCache; 2]) {
        let [values, valid] = caches;
        let same = &|_| false;
        match data {
            ColumnData::Bool(v) => {
                self.u8(0);
                self.fixed_chunked(v, values, same);
            }
            ColumnData::I32(v) => {
                self.u8(1);
                self.fixed_chunked(v, values, same);
            }
            ColumnData::I64(v) => {
                self.u8(2);
                self.fixed_chunked(v, values, same);
            }
            ColumnData::F64(v) => {
                self.u8(3);
                self.fixed_chunked(v, values, same);
            }
            ColumnData::I128(v) => {
                self.u8(4);
                self.fixed_chunked(v, values, same);
            }
            ColumnData::Str(s) => {
                self.u8(5);
                self.len(s.len());
                self.chunked(values, s.len(), same, &mut |buf, r| {
                    for i in r {
                        let x = s.get(i).as_bytes();
                        buf.extend_from_slice(&(x.len() as u64).to_le_bytes());
                        buf.extend_from_slice(x);
                    }
                });
            }
        }
        match validity {
            None => {
                self.bool(false);
                valid.chunks.clear();
            }
            Some(v) => {
                self.bool(true);
                self.fixed_chunked(v, valid, same);
            }
        }
    }

    /// A batch: the row count, the column count, then each column as [`Enc::column`] writes it.
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
    /// A decoder of `buf` from its start; `what` names the state in error messages.
    pub fn new(buf: &'a [u8], what: &'a str) -> Self {
        Dec { buf, pos: 0, what }
    }

    /// A [`CorruptState`] at the current position, saying what is wrong in `message`.
    pub fn error<E: From<CorruptState>>(&self, message: impl std::fmt::Display) -> E {
        CorruptState { what: self.what.to_string(), at: self.pos, detail: message.to_string() }.into()
    }

    /// Whether every byte has been read.
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
    /// One byte.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    /// One byte, which must be 0 or 1.
    pub fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(self.error(format!("invalid boolean {b}"))),
        }
    }
    /// 8 bytes, little-endian.
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.arr()?))
    }
    /// 8 bytes, little-endian.
    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.arr()?))
    }
    /// 16 bytes, little-endian.
    pub fn i128(&mut self) -> Result<i128> {
        Ok(i128::from_le_bytes(self.arr()?))
    }
    /// A double from its 8-byte little-endian bits.
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
    /// Length-prefixed bytes, borrowed from the buffer.
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.len(1)?;
        self.take(n)
    }
    /// Length-prefixed bytes, which must be UTF-8.
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
    /// What [`Enc::i64s`] wrote.
    pub fn i64s(&mut self) -> Result<Vec<i64>> {
        let n = self.len(8)?;
        self.fixed(n, i64::from_le_bytes)
    }
    /// A length, then the values, 4 bytes each (an `INT` column's values).
    pub fn i32s(&mut self) -> Result<Vec<i32>> {
        let n = self.len(4)?;
        self.fixed(n, i32::from_le_bytes)
    }
    /// What [`Enc::bools`] wrote; a byte other than 0 or 1 is an error.
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
    /// What [`Enc::f64s`] wrote.
    pub fn f64s(&mut self) -> Result<Vec<f64>> {
        let n = self.len(8)?;
        self.fixed(n, |b| f64::from_bits(u64::from_le_bytes(b)))
    }
    /// What [`Enc::i128s`] wrote.
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

    /// What [`Enc::column`] (or [`Enc::column_chunked`]) wrote; the validity must have one entry per value.
    pub fn column(&mut self) -> Result<Column> {
        let data = match self.u8()? {
            0 => ColumnData::Bool(self.bools()?.into()),
            1 => ColumnData::I32(self.i32s()?.into()),
            2 => ColumnData::I64(self.i64s()?.into()),
            3 => ColumnData::F64(self.f64s()?.into()),
            4 => ColumnData::I128(self.i128s()?.into()),
            5 => {
                let n = self.len(8)?;
                let mut s = StrVec::with_capacity(n);
                for _ in 0..n {
                    s.push(self.str()?);
                }
                ColumnData::Str(s.into())
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

    /// What [`Enc::batch`] wrote; every column must have the batch's row count.
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
                Column::new(ColumnData::I64(vec![1, -2, 3].into()), Some(vec![true, false, true])),
                Column::new(ColumnData::I32(vec![7, 8, 9].into()), None),
                Column::new(ColumnData::F64(vec![0.5, f64::NAN, -1.0].into()), None),
                Column::new(ColumnData::I128(vec![i128::MAX, 0, i128::MIN].into()), None),
                Column::new(ColumnData::Bool(vec![true, false, true].into()), None),
                {
                    let mut s = StrVec::default();
                    ["", "naïve \"x\"", "\n"].iter().for_each(|x| s.push(x));
                    Column::new(ColumnData::Str(s.into()), None)
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
        e.batch(&Batch::new(vec![Column::new(ColumnData::I64(vec![1, 2, 3].into()), None)], 3));
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
