//! A column's value buffer: owned, or shared by reference count between batches and copied on
//! the first write (as Arrow's buffers are). Most buffers are owned by one batch at a time and pay
//! nothing for this; a buffer that many batches read - a benchmark's recorded events, a batch of
//! a shared sub-plan read twice - is shared once and then cloned by reference instead of by copy.
//!
//! Sharing is opt-in (`share`), so that the owned path, which operators write through a builder
//! row by row, stays free of atomic reference counts: a write to an owned buffer is one
//! predictable branch, and only a write to a shared one copies it.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// A value buffer (a column's `Vec` or [`StrVec`](crate::StrVec)), owned by one batch or shared between
/// several; reads go through `Deref`, and a write through `DerefMut` copies a shared buffer first.
#[derive(Debug)]
pub enum Buf<V> {
    /// Held by this buffer alone: written in place.
    Owned(V),
    /// Shared by reference count with other batches (after [`Buf::share`]): copied on the first write.
    Shared(Arc<V>),
}

impl<V: Clone + Default> Buf<V> {
    /// A clone that shares this buffer instead of copying it; this one becomes shared too.
    pub fn share(&mut self) -> Self {
        if let Buf::Owned(v) = self {
            *self = Buf::Shared(Arc::new(std::mem::take(v)));
        }
        self.clone()
    }

    /// The values, moved out if this is the buffer's only reference, copied otherwise.
    pub fn into_inner(self) -> V {
        match self {
            Buf::Owned(v) => v,
            Buf::Shared(a) => Arc::try_unwrap(a).unwrap_or_else(|a| (*a).clone()),
        }
    }
}

impl<V> Buf<V> {
    /// Whether the values are shared, so that the next write copies them.
    #[inline]
    pub fn is_shared(&self) -> bool {
        matches!(self, Buf::Shared(_))
    }
}

impl<V: Clone> Clone for Buf<V> {
    /// An owned buffer is copied (the owner may write it); a shared one is referenced.
    fn clone(&self) -> Self {
        match self {
            Buf::Owned(v) => Buf::Owned(v.clone()),
            Buf::Shared(a) => Buf::Shared(a.clone()),
        }
    }
}

impl<V> Deref for Buf<V> {
    type Target = V;
    #[inline]
    fn deref(&self) -> &V {
        match self {
            Buf::Owned(v) => v,
            Buf::Shared(a) => a,
        }
    }
}

impl<V: Clone + Default> DerefMut for Buf<V> {
    /// Writes go to an owned buffer; a shared one is copied first.
    #[inline]
    fn deref_mut(&mut self) -> &mut V {
        if self.is_shared() {
            self.make_owned();
        }
        match self {
            Buf::Owned(v) => v,
            Buf::Shared(_) => unreachable!("made owned above"),
        }
    }
}

impl<V: Clone + Default> Buf<V> {
    /// Takes the values over (copied unless this is the last reference), out of line so that a
    /// builder's per-row push through `DerefMut` stays small enough to inline.
    #[cold]
    #[inline(never)]
    fn make_owned(&mut self) {
        let shared = std::mem::replace(self, Buf::Owned(V::default()));
        *self = Buf::Owned(shared.into_inner());
    }
}

impl<V> From<V> for Buf<V> {
    fn from(v: V) -> Self {
        Buf::Owned(v)
    }
}

impl<V: PartialEq> PartialEq for Buf<V> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<V: Default> Default for Buf<V> {
    fn default() -> Self {
        Buf::Owned(V::default())
    }
}

impl<T> FromIterator<T> for Buf<Vec<T>> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Buf::Owned(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::{Batch, Column, ColumnData};

    /// A shared buffer is read by reference by every clone; a write to one clone copies it first,
    /// so the others keep their values.
    #[test]
    fn writes_to_a_shared_buffer_copy_it_first() {
        let mut a: Buf<Vec<i64>> = vec![1, 2, 3].into();
        let mut b = a.share();
        let c = b.clone();
        assert!(a.is_shared() && b.is_shared() && c.is_shared());
        assert!(std::ptr::eq(a.as_ptr(), b.as_ptr()) && std::ptr::eq(b.as_ptr(), c.as_ptr()));
        b.push(4);
        a[0] = 10;
        assert_eq!((&a[..], &b[..], &c[..]), (&[10, 2, 3][..], &[1, 2, 3, 4][..], &[1, 2, 3][..]));
        assert!(!a.is_shared() && !b.is_shared());
        // The last reference takes its values over without a copy; an owned clone is a copy.
        let mut c = c;
        let before = c.as_ptr();
        c[0] = 5;
        assert!(!c.is_shared() && std::ptr::eq(c.as_ptr(), before));
        assert_eq!(c.into_inner(), vec![5, 2, 3]);
        let d = a.clone();
        assert!(!std::ptr::eq(a.as_ptr(), d.as_ptr()));
    }

    /// A shared batch's clones read the same buffers for every column type and keep their rows
    /// when one of them is written.
    #[test]
    fn shared_batches_keep_their_rows() {
        use darwin_common::{DataType, Value};
        let types = [DataType::BigInt, DataType::Varchar, DataType::Double, DataType::Int, DataType::Boolean];
        let rows = vec![
            vec![Value::BigInt(1), Value::Str("a".into()), Value::Double(0.5), Value::Int(3), Value::Bool(true)],
            vec![Value::Null, Value::Str("bé".into()), Value::Null, Value::Int(-1), Value::Bool(false)],
        ];
        let mut batch = Batch::from_rows(&rows, &types);
        let copy = batch.share();
        assert_eq!(copy, batch);
        let ColumnData::I64(v) = &mut batch.columns[0].data else { panic!("an i64 column") };
        v[0] = 99;
        let got: Vec<Vec<Value>> = (0..2).map(|i| copy.row(i, &types)).collect();
        assert_eq!(got, rows);
        assert_eq!(batch.columns[0].get(0, DataType::BigInt), Value::BigInt(99));
        let mut col = Column::constant(&Value::Str("x".into()), DataType::Varchar, 3);
        assert_eq!(col.share(), col);
    }
}
