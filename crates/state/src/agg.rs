//! Aggregation state: columnar accumulators indexed by group (the group table that assigns
//! groups is `group_table.rs`). Updates take a whole batch: `(group, row)` pairs, dispatched
//! once per aggregate per batch.

use crate::codec::{ChunkCache, Dec, Enc};
use crate::error::{RestoreResult, Result};
use darwin_columnar::column::{Batch, Column, ColumnBuilder, ColumnData};
use darwin_columnar::eval::{eval, eval_mask};
use darwin_columnar::keys::encode_row;
use darwin_columnar::keys::FastSet;
use darwin_columnar::EvalError;
use darwin_common::DataType;
use darwin_plan::{AggCall, AggFunc};

/// Values of an integer-like column as i64 (INT widened).
fn ints(c: &Column) -> std::borrow::Cow<'_, [i64]> {
    match &c.data {
        ColumnData::I32(v) => std::borrow::Cow::Owned(v.iter().map(|x| *x as i64).collect()),
        ColumnData::I64(v) => std::borrow::Cow::Borrowed(v),
        _ => unreachable!("integer column expected"),
    }
}

/// The values of one aggregate call, by function and argument representation: each vector holds
/// one entry per group, indexed by group number. Rows whose argument is NULL (or that the call's
/// FILTER drops) are not folded in.
#[derive(Debug)]
pub enum Acc {
    /// `COUNT`: rows counted per group.
    Count(Vec<i64>),
    /// `SUM` of integers: the wrapping sum, and whether any value was added (else the sum is NULL).
    SumI(Vec<i64>, Vec<bool>),
    /// `SUM` of doubles: the sum, and whether any value was added (else the sum is NULL).
    SumF(Vec<f64>, Vec<bool>),
    /// `SUM` of decimals: the sum of mantissas at the argument's scale, and whether any value was added.
    SumD(Vec<i128>, Vec<bool>),
    /// `MIN`/`MAX` of integers (and timestamps, intervals).
    MinMaxI {
        /// The smallest or largest value so far (meaningless where `seen` is false).
        v: Vec<i64>,
        /// Whether the group has a value (else the result is NULL).
        seen: Vec<bool>,
        /// True for `MAX`, false for `MIN`.
        max: bool,
    },
    /// `MIN`/`MAX` of doubles.
    MinMaxF {
        /// The smallest or largest value so far (meaningless where `seen` is false).
        v: Vec<f64>,
        /// Whether the group has a value (else the result is NULL).
        seen: Vec<bool>,
        /// True for `MAX`, false for `MIN`.
        max: bool,
    },
    /// `MIN`/`MAX` of decimals.
    MinMaxD {
        /// The smallest or largest mantissa so far, at the argument's scale (meaningless where `seen` is false).
        v: Vec<i128>,
        /// Whether the group has a value (else the result is NULL).
        seen: Vec<bool>,
        /// True for `MAX`, false for `MIN`.
        max: bool,
    },
    /// `MIN`/`MAX` of strings.
    MinMaxS {
        /// The smallest or largest string so far; `None` until the group has one.
        v: Vec<Option<String>>,
        /// True for `MAX`, false for `MIN`.
        max: bool,
    },
    /// `MIN`/`MAX` of booleans.
    MinMaxB {
        /// The AND (`MIN`) or OR (`MAX`) of the values so far; `None` until the group has one.
        v: Vec<Option<bool>>,
        /// True for `MAX`, false for `MIN`.
        max: bool,
    },
    /// `AVG` of integers: the wrapping sum and the count (the result is the truncated quotient).
    AvgI(Vec<i64>, Vec<i64>),
    /// `AVG` of doubles: the sum and the count.
    AvgF(Vec<f64>, Vec<i64>),
    /// `AVG` of decimals: the sum of mantissas at the argument's scale, and the count.
    AvgD(Vec<i128>, Vec<i64>),
}

/// One aggregate call's state across groups.
#[derive(Debug)]
pub struct Accumulator {
    pub(crate) call: AggCall,
    /// The per-group values, one entry per group in each vector.
    pub acc: Acc,
    distinct: Option<Vec<FastSet<Vec<u8>>>>,
    /// Where the chunks of the (up to two) vectors were in the last snapshot.
    chunks: [ChunkCache; 2],
}

impl Accumulator {
    /// An accumulator with no groups for `call`, its kind chosen by the function and the argument type.
    pub fn new(call: &AggCall) -> Accumulator {
        let arg_ty = call.arg.as_ref().map(|a| a.ty);
        let max = call.func == AggFunc::Max;
        let acc = match (call.func, arg_ty) {
            (AggFunc::Count, _) => Acc::Count(vec![]),
            (AggFunc::Sum, Some(DataType::Double)) => Acc::SumF(vec![], vec![]),
            (AggFunc::Sum, Some(DataType::Decimal { .. })) => Acc::SumD(vec![], vec![]),
            (AggFunc::Sum, _) => Acc::SumI(vec![], vec![]),
            (AggFunc::Avg, Some(DataType::Double)) => Acc::AvgF(vec![], vec![]),
            (AggFunc::Avg, Some(DataType::Decimal { .. })) => Acc::AvgD(vec![], vec![]),
            (AggFunc::Avg, _) => Acc::AvgI(vec![], vec![]),
            (_, Some(DataType::Double)) => Acc::MinMaxF { v: vec![], seen: vec![], max },
            (_, Some(DataType::Decimal { .. })) => Acc::MinMaxD { v: vec![], seen: vec![], max },
            (_, Some(DataType::Varchar)) => Acc::MinMaxS { v: vec![], max },
            (_, Some(DataType::Boolean)) => Acc::MinMaxB { v: vec![], max },
            (_, _) => Acc::MinMaxI { v: vec![], seen: vec![], max },
        };
        Accumulator { call: call.clone(), acc, distinct: call.distinct.then(Vec::new), chunks: Default::default() }
    }

    /// `grow` by one group (to `groups`): a push per vector instead of `resize`, for the common
    /// accumulators (creating groups is a quarter of compiled q5).
    #[inline]
    pub fn grow_one(&mut self, groups: usize) {
        let next = groups - 1;
        match &mut self.acc {
            _ if self.distinct.is_some() => self.grow(groups),
            Acc::Count(c) if c.len() == next => c.push(0),
            Acc::SumI(v, seen) | Acc::MinMaxI { v, seen, .. } if v.len() == next && seen.len() == next => {
                v.push(0);
                seen.push(false);
            }
            Acc::SumF(v, seen) | Acc::MinMaxF { v, seen, .. } if v.len() == next && seen.len() == next => {
                v.push(0.0);
                seen.push(false);
            }
            _ => self.grow(groups),
        }
    }

    /// Makes room for `groups` groups in the common accumulators' vectors.
    pub fn reserve(&mut self, groups: usize) {
        match &mut self.acc {
            Acc::Count(c) => c.reserve(groups),
            Acc::SumI(v, seen) | Acc::MinMaxI { v, seen, .. } => {
                v.reserve(groups);
                seen.reserve(groups);
            }
            Acc::SumF(v, seen) | Acc::MinMaxF { v, seen, .. } => {
                v.reserve(groups);
                seen.reserve(groups);
            }
            _ => {}
        }
    }

    /// Extends every vector to `groups` groups; new groups hold no value yet (a count of 0, NULL otherwise).
    pub fn grow(&mut self, groups: usize) {
        match &mut self.acc {
            Acc::Count(c) => c.resize(groups, 0),
            Acc::SumI(s, n) => {
                s.resize(groups, 0);
                n.resize(groups, false)
            }
            Acc::SumF(s, n) => {
                s.resize(groups, 0.0);
                n.resize(groups, false)
            }
            Acc::SumD(s, n) => {
                s.resize(groups, 0);
                n.resize(groups, false)
            }
            Acc::MinMaxI { v, seen, .. } => {
                v.resize(groups, 0);
                seen.resize(groups, false)
            }
            Acc::MinMaxF { v, seen, .. } => {
                v.resize(groups, 0.0);
                seen.resize(groups, false)
            }
            Acc::MinMaxD { v, seen, .. } => {
                v.resize(groups, 0);
                seen.resize(groups, false)
            }
            Acc::MinMaxS { v, .. } => v.resize(groups, None),
            Acc::MinMaxB { v, .. } => v.resize(groups, None),
            Acc::AvgI(s, c) => {
                s.resize(groups, 0);
                c.resize(groups, 0)
            }
            Acc::AvgF(s, c) => {
                s.resize(groups, 0.0);
                c.resize(groups, 0)
            }
            Acc::AvgD(s, c) => {
                s.resize(groups, 0);
                c.resize(groups, 0)
            }
        }
        if let Some(d) = &mut self.distinct {
            d.resize_with(groups, FastSet::default);
        }
    }

    /// Folds rows into groups: `pairs[k] = (group, row)`.
    pub fn update(&mut self, groups: usize, batch: &Batch, pairs: &[(u32, u32)]) -> Result<()> {
        self.grow(groups);
        let arg = self.call.arg.as_ref().map(|a| eval(a, batch)).transpose()?;
        let mask = self.call.filter.as_ref().map(|f| eval_mask(f, batch)).transpose()?;
        let keep =
            |r: u32| mask.as_ref().is_none_or(|m| m[r as usize]) && arg.as_ref().is_none_or(|a| a.is_valid(r as usize));
        let mut owned;
        let mut pairs = pairs;
        if mask.is_some() || arg.as_ref().is_some_and(|a| a.validity.is_some()) {
            owned = pairs.to_vec();
            owned.retain(|(_, r)| keep(*r));
            pairs = &owned;
        }
        if let (Some(seen), Some(a)) = (&mut self.distinct, &arg) {
            let cols = std::slice::from_ref(a);
            let mut buf = Vec::new();
            owned = pairs
                .iter()
                .copied()
                .filter(|(g, r)| {
                    buf.clear();
                    encode_row(cols, *r as usize, &mut buf);
                    let set = &mut seen[*g as usize];
                    if set.contains(buf.as_slice()) {
                        false
                    } else {
                        set.insert(buf.clone());
                        true
                    }
                })
                .collect();
            pairs = &owned;
        }
        match (&mut self.acc, arg.as_ref()) {
            (Acc::Count(c), _) => pairs.iter().for_each(|(g, _)| c[*g as usize] += 1),
            (Acc::SumI(s, n), Some(a)) => {
                let v = ints(a);
                for (g, r) in pairs {
                    s[*g as usize] = add(s[*g as usize], v[*r as usize], &self.call)?;
                    n[*g as usize] = true;
                }
            }
            (Acc::SumF(s, n), Some(Column { data: ColumnData::F64(v), .. })) => {
                for (g, r) in pairs {
                    s[*g as usize] += v[*r as usize];
                    n[*g as usize] = true;
                }
            }
            (Acc::SumD(s, n), Some(Column { data: ColumnData::I128(v), .. })) => {
                for (g, r) in pairs {
                    s[*g as usize] = add_decimal(s[*g as usize], v[*r as usize], &self.call)?;
                    n[*g as usize] = true;
                }
            }
            (Acc::MinMaxI { v, seen, max }, Some(a)) => {
                let x = ints(a);
                for (g, r) in pairs {
                    let (g, x) = (*g as usize, x[*r as usize]);
                    if !seen[g] || (*max && x > v[g]) || (!*max && x < v[g]) {
                        v[g] = x;
                        seen[g] = true;
                    }
                }
            }
            (Acc::MinMaxF { v, seen, max }, Some(Column { data: ColumnData::F64(x), .. })) => {
                for (g, r) in pairs {
                    let (g, x) = (*g as usize, x[*r as usize]);
                    if !seen[g] || (*max && x > v[g]) || (!*max && x < v[g]) {
                        v[g] = x;
                        seen[g] = true;
                    }
                }
            }
            (Acc::MinMaxD { v, seen, max }, Some(Column { data: ColumnData::I128(x), .. })) => {
                for (g, r) in pairs {
                    let (g, x) = (*g as usize, x[*r as usize]);
                    if !seen[g] || (*max && x > v[g]) || (!*max && x < v[g]) {
                        v[g] = x;
                        seen[g] = true;
                    }
                }
            }
            (Acc::MinMaxS { v, max }, Some(Column { data: ColumnData::Str(x), .. })) => {
                for (g, r) in pairs {
                    let (g, x) = (*g as usize, x.get(*r as usize));
                    let better = match &v[g] {
                        None => true,
                        Some(cur) => (*max && x > cur.as_str()) || (!*max && x < cur.as_str()),
                    };
                    if better {
                        v[g] = Some(x.to_string());
                    }
                }
            }
            (Acc::MinMaxB { v, max }, Some(Column { data: ColumnData::Bool(x), .. })) => {
                for (g, r) in pairs {
                    let (g, x) = (*g as usize, x[*r as usize]);
                    v[g] = Some(match v[g] {
                        None => x,
                        Some(cur) => {
                            if *max {
                                cur || x
                            } else {
                                cur && x
                            }
                        }
                    });
                }
            }
            (Acc::AvgI(s, c), Some(a)) => {
                let v = ints(a);
                for (g, r) in pairs {
                    s[*g as usize] = add(s[*g as usize], v[*r as usize], &self.call)?;
                    c[*g as usize] += 1;
                }
            }
            (Acc::AvgF(s, c), Some(Column { data: ColumnData::F64(v), .. })) => {
                for (g, r) in pairs {
                    s[*g as usize] += v[*r as usize];
                    c[*g as usize] += 1;
                }
            }
            (Acc::AvgD(s, c), Some(Column { data: ColumnData::I128(v), .. })) => {
                for (g, r) in pairs {
                    s[*g as usize] = add_decimal(s[*g as usize], v[*r as usize], &self.call)?;
                    c[*g as usize] += 1;
                }
            }
            (acc, _) => unreachable!("accumulator {acc:?} does not match its argument type"),
        }
        Ok(())
    }

    /// Folds `other` (the same call's accumulator over other rows) into this one: `other`'s
    /// group `i` goes into group `into(i)`, as `update` over `other.finish()` would, without
    /// building that column (a window adding up its slices, `slice_merge.rs`). False, with
    /// nothing done, for kinds without this path (the caller goes that way).
    #[inline]
    pub fn merge_from(
        &mut self,
        groups: usize,
        other: &Accumulator,
        into: impl Fn(usize) -> usize,
    ) -> std::result::Result<bool, EvalError> {
        #[inline(always)]
        fn min_max<T: Copy + PartialOrd>(
            v: &mut [T],
            seen: &mut [bool],
            max: bool,
            (x, xs): (&[T], &[bool]),
            into: impl Fn(usize) -> usize,
        ) {
            for (i, (&x, &xs)) in x.iter().zip(xs).enumerate() {
                let g = into(i);
                if xs && (!seen[g] || (max && x > v[g]) || (!max && x < v[g])) {
                    v[g] = x;
                    seen[g] = true;
                }
            }
        }
        if self.distinct.is_some() || other.distinct.is_some() {
            return Ok(false);
        }
        self.grow(groups);
        match (&mut self.acc, &other.acc) {
            (Acc::SumI(s, n), Acc::SumI(x, xn)) => {
                for (i, (&x, &xn)) in x.iter().zip(xn).enumerate() {
                    if xn {
                        let g = into(i);
                        s[g] = add(s[g], x, &self.call)?;
                        n[g] = true;
                    }
                }
            }
            (Acc::SumF(s, n), Acc::SumF(x, xn)) => {
                for (i, (&x, &xn)) in x.iter().zip(xn).enumerate() {
                    if xn {
                        let g = into(i);
                        s[g] += x;
                        n[g] = true;
                    }
                }
            }
            (Acc::MinMaxI { v, seen, max }, Acc::MinMaxI { v: x, seen: xs, .. }) => {
                min_max(v, seen, *max, (x, xs), into)
            }
            (Acc::MinMaxF { v, seen, max }, Acc::MinMaxF { v: x, seen: xs, .. }) => {
                min_max(v, seen, *max, (x, xs), into)
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The results of groups `0..groups`; an integer SUM or AVG over INT whose result leaves
    /// INT (its running value is a BIGINT) is an overflow error, not a wrapped value.
    pub fn finish(&self, groups: usize) -> std::result::Result<Column, EvalError> {
        if self.call.ty == DataType::Int {
            if let Acc::SumI(v, _) | Acc::AvgI(v, _) = &self.acc {
                let out = |g: usize| match &self.acc {
                    Acc::AvgI(s, c) if c[g] > 0 => s[g] / c[g],
                    _ => v[g],
                };
                if (0..groups.min(v.len())).any(|g| i32::try_from(out(g)).is_err()) {
                    return Err(overflow_of(&self.call, DataType::Int));
                }
            }
        }
        Ok(self.finish_typed(groups).unwrap_or_else(|| self.finish_values(groups)))
    }

    /// `finish` for any accumulator, one `Value` per group.
    fn finish_values(&self, groups: usize) -> Column {
        let ty = self.call.ty;
        let mut b = ColumnBuilder::new(ty, groups);
        let arg_scale = self.call.arg.as_ref().map_or(0, |a| a.ty.scale());
        for g in 0..groups {
            use darwin_common::Value as V;
            let v = match &self.acc {
                Acc::Count(c) => V::BigInt(c.get(g).copied().unwrap_or(0)),
                Acc::SumI(s, n) => {
                    if n.get(g) == Some(&true) {
                        int_value(s[g], ty)
                    } else {
                        V::Null
                    }
                }
                Acc::SumF(s, n) => {
                    if n.get(g) == Some(&true) {
                        V::Double(s[g])
                    } else {
                        V::Null
                    }
                }
                Acc::SumD(s, n) => {
                    if n.get(g) == Some(&true) {
                        V::Decimal(s[g], arg_scale)
                    } else {
                        V::Null
                    }
                }
                Acc::MinMaxI { v, seen, .. } => {
                    if seen.get(g) == Some(&true) {
                        int_value(v[g], ty)
                    } else {
                        V::Null
                    }
                }
                Acc::MinMaxF { v, seen, .. } => {
                    if seen.get(g) == Some(&true) {
                        V::Double(v[g])
                    } else {
                        V::Null
                    }
                }
                Acc::MinMaxD { v, seen, .. } => {
                    if seen.get(g) == Some(&true) {
                        V::Decimal(v[g], arg_scale)
                    } else {
                        V::Null
                    }
                }
                Acc::MinMaxS { v, .. } => v.get(g).cloned().flatten().map_or(V::Null, V::Str),
                Acc::MinMaxB { v, .. } => v.get(g).copied().flatten().map_or(V::Null, V::Bool),
                Acc::AvgI(s, c) => {
                    if c.get(g).copied().unwrap_or(0) > 0 {
                        int_value(s[g] / c[g], ty)
                    } else {
                        V::Null
                    }
                }
                Acc::AvgF(s, c) => {
                    if c.get(g).copied().unwrap_or(0) > 0 {
                        V::Double(s[g] / c[g] as f64)
                    } else {
                        V::Null
                    }
                }
                Acc::AvgD(s, c) => {
                    if c.get(g).copied().unwrap_or(0) > 0 {
                        let out = ty.scale();
                        let scaled = darwin_columnar::scalar::rescale(s[g], arg_scale, out + 1) / c[g] as i128;
                        V::Decimal(darwin_columnar::scalar::rescale(scaled, out + 1, out), out)
                    } else {
                        V::Null
                    }
                }
            };
            b.push(&v);
        }
        b.finish()
    }

    /// `finish` for counts and integer or double sums, minima and maxima: the values in their
    /// own representation, not one `Value` at a time (that was 8% of compiled q5).
    fn finish_typed(&self, groups: usize) -> Option<Column> {
        use darwin_common::types::PhysicalType as P;
        let col = |data, validity| Some(Column::new(data, validity));
        match (&self.acc, self.call.ty.physical()) {
            (Acc::Count(c), P::I64) => col(ColumnData::I64(c.get(..groups)?.to_vec().into()), None),
            (Acc::SumI(v, seen) | Acc::MinMaxI { v, seen, .. }, p @ (P::I64 | P::I32)) => {
                let (data, validity) = masked(v.get(..groups)?, seen.get(..groups)?, 0);
                match p {
                    P::I64 => col(ColumnData::I64(data.into()), validity),
                    _ => col(ColumnData::I32(data.into_iter().map(|x| x as i32).collect()), validity),
                }
            }
            (Acc::SumF(v, seen) | Acc::MinMaxF { v, seen, .. }, P::F64) => {
                let (data, validity) = masked(v.get(..groups)?, seen.get(..groups)?, 0.0);
                col(ColumnData::F64(data.into()), validity)
            }
            _ => None,
        }
    }

    /// Encodes the accumulator values of every group (tag first, so a restore into a different
    /// aggregate is caught).
    /// `changed(c)` tells whether a group of chunk `c` changed since the last snapshot.
    pub fn snapshot(&mut self, e: &mut Enc, changed: &dyn Fn(usize) -> bool) {
        e.u8(self.kind());
        let [c0, c1] = &mut self.chunks;
        match &self.acc {
            Acc::Count(c) => e.fixed_chunked(c, c0, changed),
            Acc::SumI(s, n) => {
                e.fixed_chunked(s, c0, changed);
                e.fixed_chunked(n, c1, changed);
            }
            Acc::SumF(s, n) => {
                e.fixed_chunked(s, c0, changed);
                e.fixed_chunked(n, c1, changed);
            }
            Acc::SumD(s, n) => {
                e.fixed_chunked(s, c0, changed);
                e.fixed_chunked(n, c1, changed);
            }
            Acc::MinMaxI { v, seen, .. } => {
                e.fixed_chunked(v, c0, changed);
                e.fixed_chunked(seen, c1, changed);
            }
            Acc::MinMaxF { v, seen, .. } => {
                e.fixed_chunked(v, c0, changed);
                e.fixed_chunked(seen, c1, changed);
            }
            Acc::MinMaxD { v, seen, .. } => {
                e.fixed_chunked(v, c0, changed);
                e.fixed_chunked(seen, c1, changed);
            }
            Acc::MinMaxS { v, .. } => {
                e.len(v.len());
                for x in v {
                    e.bool(x.is_some());
                    e.str(x.as_deref().unwrap_or(""));
                }
            }
            Acc::MinMaxB { v, .. } => {
                e.len(v.len());
                v.iter().for_each(|x| e.u8(x.map_or(0, |b| 1 + u8::from(b))));
            }
            Acc::AvgI(s, c) => {
                e.fixed_chunked(s, c0, changed);
                e.fixed_chunked(c, c1, changed);
            }
            Acc::AvgF(s, c) => {
                e.fixed_chunked(s, c0, changed);
                e.fixed_chunked(c, c1, changed);
            }
            Acc::AvgD(s, c) => {
                e.fixed_chunked(s, c0, changed);
                e.fixed_chunked(c, c1, changed);
            }
        }
        match &self.distinct {
            None => e.bool(false),
            Some(sets) => {
                e.bool(true);
                e.len(sets.len());
                for set in sets {
                    // Sorted, so equal state encodes to equal bytes.
                    let mut items: Vec<&Vec<u8>> = set.iter().collect();
                    items.sort();
                    e.len(items.len());
                    items.iter().for_each(|b| e.bytes(b));
                }
            }
        }
    }

    /// Restores `groups` groups written by `snapshot`.
    pub fn restore(&mut self, d: &mut Dec, groups: usize) -> RestoreResult<()> {
        let tag = d.u8()?;
        d.expect("the accumulator kind", tag.into(), self.kind().into())?;
        match &mut self.acc {
            Acc::Count(c) => *c = d.i64s()?,
            Acc::SumI(s, n) => (*s, *n) = (d.i64s()?, d.bools()?),
            Acc::SumF(s, n) => (*s, *n) = (d.f64s()?, d.bools()?),
            Acc::SumD(s, n) => (*s, *n) = (d.i128s()?, d.bools()?),
            Acc::MinMaxI { v, seen, .. } => (*v, *seen) = (d.i64s()?, d.bools()?),
            Acc::MinMaxF { v, seen, .. } => (*v, *seen) = (d.f64s()?, d.bools()?),
            Acc::MinMaxD { v, seen, .. } => (*v, *seen) = (d.i128s()?, d.bools()?),
            Acc::MinMaxS { v, .. } => {
                let n = d.len(9)?;
                *v = (0..n)
                    .map(|_| {
                        let some = d.bool()?;
                        let s = d.str()?;
                        Ok(some.then(|| s.to_string()))
                    })
                    .collect::<RestoreResult<_>>()?;
            }
            Acc::MinMaxB { v, .. } => {
                let n = d.len(1)?;
                *v = (0..n)
                    .map(|_| match d.u8()? {
                        0 => Ok(None),
                        b @ (1 | 2) => Ok(Some(b == 2)),
                        b => Err(d.error(format!("invalid MIN/MAX boolean {b}"))),
                    })
                    .collect::<RestoreResult<_>>()?;
            }
            Acc::AvgI(s, c) => (*s, *c) = (d.i64s()?, d.i64s()?),
            Acc::AvgF(s, c) => (*s, *c) = (d.f64s()?, d.i64s()?),
            Acc::AvgD(s, c) => (*s, *c) = (d.i128s()?, d.i64s()?),
        }
        if d.bool()? != self.distinct.is_some() {
            return Err(d.error("DISTINCT differs between the checkpoint and this plan"));
        }
        if self.distinct.is_some() {
            let n = d.len(8)?;
            let mut sets = Vec::with_capacity(n);
            for _ in 0..n {
                let k = d.len(8)?;
                let mut set = FastSet::default();
                for _ in 0..k {
                    set.insert(d.bytes()?.to_vec());
                }
                sets.push(set);
            }
            self.distinct = Some(sets);
        }
        // Every vector must hold exactly one value per group.
        let (a, b) = self.lens();
        let sets = self.distinct.as_ref().map_or(groups, Vec::len);
        if a != groups || b != groups || sets != groups {
            return Err(d.error(format!("an accumulator holds {a}/{b}/{sets} values for {groups} groups")));
        }
        Ok(())
    }

    /// The accumulator's tag in the checkpoint encoding.
    fn kind(&self) -> u8 {
        match &self.acc {
            Acc::Count(_) => 0,
            Acc::SumI(..) => 1,
            Acc::SumF(..) => 2,
            Acc::SumD(..) => 3,
            Acc::MinMaxI { .. } => 4,
            Acc::MinMaxF { .. } => 5,
            Acc::MinMaxD { .. } => 6,
            Acc::MinMaxS { .. } => 7,
            Acc::MinMaxB { .. } => 8,
            Acc::AvgI(..) => 9,
            Acc::AvgF(..) => 10,
            Acc::AvgD(..) => 11,
        }
    }

    /// Lengths of the accumulator's vectors.
    fn lens(&self) -> (usize, usize) {
        match &self.acc {
            Acc::Count(c) => (c.len(), c.len()),
            Acc::SumI(s, n) => (s.len(), n.len()),
            Acc::SumF(s, n) => (s.len(), n.len()),
            Acc::SumD(s, n) => (s.len(), n.len()),
            Acc::MinMaxI { v, seen, .. } => (v.len(), seen.len()),
            Acc::MinMaxF { v, seen, .. } => (v.len(), seen.len()),
            Acc::MinMaxD { v, seen, .. } => (v.len(), seen.len()),
            Acc::MinMaxS { v, .. } => (v.len(), v.len()),
            Acc::MinMaxB { v, .. } => (v.len(), v.len()),
            Acc::AvgI(s, c) => (s.len(), c.len()),
            Acc::AvgF(s, c) => (s.len(), c.len()),
            Acc::AvgD(s, c) => (s.len(), c.len()),
        }
    }

    /// Approximate bytes held for `groups` groups, including the DISTINCT sets.
    pub fn memory_bytes(&self, groups: usize) -> usize {
        let per = match &self.acc {
            Acc::Count(_) => 8,
            Acc::SumD(..) | Acc::MinMaxD { .. } => 17,
            Acc::AvgD(..) => 24,
            Acc::MinMaxS { .. } => 32,
            _ => 16,
        };
        per * groups + self.distinct.as_ref().map_or(0, |d| d.iter().map(|s| s.len() * 32).sum())
    }
}

/// Values where `valid`, `zero` (what a NULL holds) elsewhere, and the validity if any is NULL:
/// a column as `ColumnBuilder` builds it.
fn masked<T: Copy>(v: &[T], valid: &[bool], zero: T) -> (Vec<T>, Option<Vec<bool>>) {
    let data = v.iter().zip(valid).map(|(x, ok)| if *ok { *x } else { zero }).collect();
    (data, valid.contains(&false).then(|| valid.to_vec()))
}

/// `s + x` for an integer SUM or AVG, or the overflow error naming the aggregate.
#[inline]
pub fn add(s: i64, x: i64, call: &AggCall) -> std::result::Result<i64, EvalError> {
    s.checked_add(x).ok_or_else(|| overflow(call))
}

/// `s + x` for a DECIMAL SUM or AVG: the sum keeps the 38 digits a DECIMAL holds.
#[inline]
fn add_decimal(s: i128, x: i128, call: &AggCall) -> std::result::Result<i128, EvalError> {
    s.checked_add(x).filter(|v| v.unsigned_abs() < 10u128.pow(38)).ok_or_else(|| overflow(call))
}

/// The error of an aggregate whose running value left its type (a BIGINT for integers, 38
/// digits for decimals).
#[cold]
pub fn overflow(call: &AggCall) -> EvalError {
    let running = match call.ty {
        DataType::Int => DataType::BigInt,
        DataType::Decimal { scale, .. } => DataType::Decimal { precision: 38, scale },
        ty => ty,
    };
    overflow_of(call, running)
}

/// The error of an aggregate whose value does not fit `to`.
#[cold]
fn overflow_of(call: &AggCall, to: DataType) -> EvalError {
    let what = if call.func == AggFunc::Avg { "the sum of an AVG" } else { "a SUM" };
    EvalError::Overflow { what: what.to_string(), to }
}

fn int_value(x: i64, ty: DataType) -> darwin_common::Value {
    match ty {
        DataType::Int => darwin_common::Value::Int(x as i32),
        DataType::Timestamp => darwin_common::Value::Timestamp(x),
        _ => darwin_common::Value::BigInt(x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use darwin_common::Value;
    use darwin_plan::Expr;

    /// The typed `finish` builds the column (values, NULLs, representation) that building it
    /// value by value does, for every aggregate over every numeric type, groups without rows
    /// (NULL results) included.
    #[test]
    fn typed_finish_matches_building_value_by_value() {
        let mut rnd = darwin_common::xorshift(0xf1a5);
        let types = [DataType::Int, DataType::BigInt, DataType::Double, DataType::Timestamp];
        let funcs = [AggFunc::Count, AggFunc::Sum, AggFunc::Min, AggFunc::Max, AggFunc::Avg];
        for case in 0..300 {
            let ty = types[case % types.len()];
            let func = funcs[case / types.len() % funcs.len()];
            if func == AggFunc::Sum && ty == DataType::Timestamp {
                continue;
            }
            let out_ty = if func == AggFunc::Count { DataType::BigInt } else { ty };
            let call = AggCall { func, arg: Some(Expr::column(0, ty)), distinct: false, filter: None, ty: out_ty };
            let rows: Vec<Vec<Value>> = (0..rnd() % 20)
                .map(|_| {
                    let x = (rnd() % 41) as i64 - 20;
                    vec![match (rnd() % 5, ty) {
                        (0, _) => Value::Null,
                        (_, DataType::Int) => Value::Int(x as i32),
                        (_, DataType::Double) => Value::Double(x as f64 / 4.0),
                        (_, DataType::Timestamp) => Value::Timestamp(x),
                        _ => Value::BigInt(x),
                    }]
                })
                .collect();
            let batch = Batch::from_rows(&rows, &[ty]);
            let groups = 1 + (rnd() % 6) as usize;
            let pairs: Vec<(u32, u32)> = (0..rows.len() as u32).map(|r| ((rnd() % groups as u64) as u32, r)).collect();
            let mut acc = Accumulator::new(&call);
            acc.update(groups, &batch, &pairs).unwrap();
            assert_eq!(acc.finish_typed(groups).is_some(), func != AggFunc::Avg, "case {case}: {func:?} of {ty}");
            assert_eq!(acc.finish(groups).unwrap(), acc.finish_values(groups), "case {case}: {func:?} of {ty}");
        }
    }
}
