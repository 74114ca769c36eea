//! Hash aggregation state: a group table (key bytes → group index) and columnar accumulators
//! indexed by group. Updates take a whole batch: `(group, row)` pairs, dispatched once per
//! aggregate per batch.

use super::hashed_keys::{hash_rows, HashedKeys};
use super::int_index::IntIndex;
use crate::checkpoint::codec::{Dec, Enc};
use crate::column::{Batch, Column, ColumnBuilder, ColumnData};
use crate::error::Result;
use crate::eval::{eval, eval_mask};
use crate::keys::encode_row;
use crate::keys::FastSet;
use darwin_common::types::PhysicalType;
use darwin_common::DataType;
use darwin_plan::{AggCall, AggFunc, Expr};

/// Values of an integer-like column as i64 (INT widened).
fn ints(c: &Column) -> std::borrow::Cow<'_, [i64]> {
    match &c.data {
        ColumnData::I32(v) => std::borrow::Cow::Owned(v.iter().map(|x| *x as i64).collect()),
        ColumnData::I64(v) => std::borrow::Cow::Borrowed(v),
        _ => unreachable!("integer column expected"),
    }
}

#[derive(Debug)]
enum Acc {
    Count(Vec<i64>),
    SumI(Vec<i64>, Vec<bool>),
    SumF(Vec<f64>, Vec<bool>),
    SumD(Vec<i128>, Vec<bool>),
    MinMaxI { v: Vec<i64>, seen: Vec<bool>, max: bool },
    MinMaxF { v: Vec<f64>, seen: Vec<bool>, max: bool },
    MinMaxD { v: Vec<i128>, seen: Vec<bool>, max: bool },
    MinMaxS { v: Vec<Option<String>>, max: bool },
    MinMaxB { v: Vec<Option<bool>>, max: bool },
    AvgI(Vec<i64>, Vec<i64>),
    AvgF(Vec<f64>, Vec<i64>),
    AvgD(Vec<i128>, Vec<i64>),
}

/// One aggregate call's state across groups.
#[derive(Debug)]
pub struct Accumulator {
    call: AggCall,
    acc: Acc,
    distinct: Option<Vec<FastSet<Vec<u8>>>>,
}

impl Accumulator {
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
        Accumulator { call: call.clone(), acc, distinct: call.distinct.then(Vec::new) }
    }

    fn grow(&mut self, groups: usize) {
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
                    s[*g as usize] = s[*g as usize].wrapping_add(v[*r as usize]);
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
                    s[*g as usize] += v[*r as usize];
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
                    s[*g as usize] = s[*g as usize].wrapping_add(v[*r as usize]);
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
                    s[*g as usize] += v[*r as usize];
                    c[*g as usize] += 1;
                }
            }
            (acc, _) => unreachable!("accumulator {acc:?} does not match its argument type"),
        }
        Ok(())
    }

    /// The results of groups `0..groups`.
    pub fn finish(&self, groups: usize) -> Column {
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
                        let scaled = crate::scalar::rescale(s[g], arg_scale, out + 1) / c[g] as i128;
                        V::Decimal(crate::scalar::rescale(scaled, out + 1, out), out)
                    } else {
                        V::Null
                    }
                }
            };
            b.push(&v);
        }
        b.finish()
    }

    /// Encodes the accumulator values of every group (tag first, so a restore into a different
    /// aggregate is caught).
    pub fn snapshot(&self, e: &mut Enc) {
        e.u8(self.kind());
        match &self.acc {
            Acc::Count(c) => {
                e.i64s(c);
            }
            Acc::SumI(s, n) => {
                e.i64s(s);
                e.bools(n);
            }
            Acc::SumF(s, n) => {
                e.f64s(s);
                e.bools(n);
            }
            Acc::SumD(s, n) => {
                e.i128s(s);
                e.bools(n);
            }
            Acc::MinMaxI { v, seen, .. } => {
                e.i64s(v);
                e.bools(seen);
            }
            Acc::MinMaxF { v, seen, .. } => {
                e.f64s(v);
                e.bools(seen);
            }
            Acc::MinMaxD { v, seen, .. } => {
                e.i128s(v);
                e.bools(seen);
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
                e.i64s(s);
                e.i64s(c);
            }
            Acc::AvgF(s, c) => {
                e.f64s(s);
                e.i64s(c);
            }
            Acc::AvgD(s, c) => {
                e.i128s(s);
                e.i64s(c);
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
    pub fn restore(&mut self, d: &mut Dec, groups: usize) -> Result<()> {
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
                    .collect::<Result<_>>()?;
            }
            Acc::MinMaxB { v, .. } => {
                let n = d.len(1)?;
                *v = (0..n)
                    .map(|_| match d.u8()? {
                        0 => Ok(None),
                        b @ (1 | 2) => Ok(Some(b == 2)),
                        b => Err(d.error(format!("invalid MIN/MAX boolean {b}"))),
                    })
                    .collect::<Result<_>>()?;
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

fn int_value(x: i64, ty: DataType) -> darwin_common::Value {
    match ty {
        DataType::Int => darwin_common::Value::Int(x as i32),
        DataType::Timestamp => darwin_common::Value::Timestamp(x),
        _ => darwin_common::Value::BigInt(x),
    }
}

/// Groups of one aggregation scope (one window, or the whole input): key bytes to group index,
/// the key values in group order, and one accumulator per aggregate call.
#[derive(Debug)]
pub struct GroupTable {
    index: KeyIndex,
    groups: usize,
    keys: Vec<ColumnBuilder>,
    accs: Vec<Accumulator>,
    hashes: Vec<u64>,
    pairs: Vec<(u32, u32)>,
}

/// Key → group. One integer key (the common case: ids, campaigns) probes an integer table;
/// other keys go by hash, compared with the key columns; no key at all is a single group.
#[derive(Debug)]
enum KeyIndex {
    Single,
    Int(IntIndex),
    Hashed(HashedKeys),
}

impl GroupTable {
    pub fn new(key_types: &[DataType], aggs: &[AggCall]) -> GroupTable {
        let index = match key_types {
            [] => KeyIndex::Single,
            [t] if matches!(t.physical(), PhysicalType::I64 | PhysicalType::I32) => KeyIndex::Int(IntIndex::default()),
            _ => KeyIndex::Hashed(HashedKeys::default()),
        };
        GroupTable {
            index,
            groups: 0,
            keys: key_types.iter().map(|t| ColumnBuilder::new(*t, 16)).collect(),
            accs: aggs.iter().map(Accumulator::new).collect(),
            hashes: Vec::new(),
            pairs: Vec::new(),
        }
    }

    pub fn groups(&self) -> usize {
        self.groups
    }

    /// The group of a row whose only key is the integer `key` (a compiled kernel's typed path),
    /// created in first-seen order like [`GroupTable::update`] creates it.
    #[inline]
    pub fn group_int(&mut self, key: Option<i64>) -> usize {
        let KeyIndex::Int(index) = &self.index else { unreachable!("a table with one integer key") };
        match index.get(key) {
            Some(g) => g as usize,
            None => self.new_int_group(key),
        }
    }

    fn new_int_group(&mut self, key: Option<i64>) -> usize {
        let g = self.groups as u32;
        match &mut self.index {
            KeyIndex::Int(index) => index.insert(key, g, self.groups + 1),
            _ => unreachable!("a table with one integer key"),
        }
        match key {
            None => self.keys[0].push_null(),
            Some(k) if self.keys[0].data_type().physical() == PhysicalType::I32 => {
                self.keys[0].push(&darwin_common::Value::Int(k as i32))
            }
            Some(k) => self.keys[0].push_i64(k),
        }
        self.grown()
    }

    /// The only group of a table without keys (a compiled kernel's typed path).
    #[inline]
    pub fn group_single(&mut self) -> usize {
        if self.groups == 0 {
            self.grown();
        }
        0
    }

    /// Counts one more group and sizes every accumulator for it; returns the new group.
    fn grown(&mut self) -> usize {
        self.groups += 1;
        for a in &mut self.accs {
            a.grow(self.groups);
        }
        self.groups - 1
    }

    /// Folds one row into aggregate `a` of group `g` (compiled kernels, typed): COUNT.
    #[inline]
    pub fn count(&mut self, a: usize, g: usize) {
        match &mut self.accs[a].acc {
            Acc::Count(c) => c[g] += 1,
            acc => unreachable!("COUNT kernel on accumulator {acc:?}"),
        }
    }

    /// Folds an integer into aggregate `a` (SUM, MIN, MAX or AVG) of group `g`.
    #[inline]
    pub fn add_i64(&mut self, a: usize, g: usize, x: i64) {
        match &mut self.accs[a].acc {
            Acc::SumI(s, n) => {
                s[g] = s[g].wrapping_add(x);
                n[g] = true;
            }
            Acc::MinMaxI { v, seen, max } => {
                if !seen[g] || (*max && x > v[g]) || (!*max && x < v[g]) {
                    v[g] = x;
                    seen[g] = true;
                }
            }
            Acc::AvgI(s, c) => {
                s[g] = s[g].wrapping_add(x);
                c[g] += 1;
            }
            acc => unreachable!("integer kernel on accumulator {acc:?}"),
        }
    }

    /// Folds a double into aggregate `a` (SUM, MIN, MAX or AVG) of group `g`.
    #[inline]
    pub fn add_f64(&mut self, a: usize, g: usize, x: f64) {
        match &mut self.accs[a].acc {
            Acc::SumF(s, n) => {
                s[g] += x;
                n[g] = true;
            }
            Acc::MinMaxF { v, seen, max } => {
                if !seen[g] || (*max && x > v[g]) || (!*max && x < v[g]) {
                    v[g] = x;
                    seen[g] = true;
                }
            }
            Acc::AvgF(s, c) => {
                s[g] += x;
                c[g] += 1;
            }
            acc => unreachable!("double kernel on accumulator {acc:?}"),
        }
    }

    /// Adds `rows` of a batch whose key columns are `key_cols`.
    pub fn update(&mut self, batch: &Batch, key_cols: &[Column], rows: &[u32]) -> Result<()> {
        self.assign(key_cols, rows);
        for a in &mut self.accs {
            a.update(self.groups, batch, &self.pairs)?;
        }
        Ok(())
    }

    /// Finds or creates the group of each row; fills `pairs` with (group, row).
    fn assign(&mut self, key_cols: &[Column], rows: &[u32]) {
        self.pairs.clear();
        let empty = self.groups == 0;
        let mut next = self.groups as u32;
        let keys = &mut self.keys;
        let mut new_group = |r: u32| {
            for (b, c) in keys.iter_mut().zip(key_cols) {
                b.push_from(c, r as usize);
            }
            let g = next;
            next += 1;
            g
        };
        match &mut self.index {
            KeyIndex::Single => {
                if let (true, Some(first)) = (empty, rows.first()) {
                    new_group(*first);
                }
                self.pairs.extend(rows.iter().map(|r| (0, *r)));
            }
            KeyIndex::Int(index) => {
                let c = &key_cols[0];
                let wide;
                let vals: &[i64] = match &c.data {
                    ColumnData::I64(v) => v,
                    ColumnData::I32(v) => {
                        wide = v.iter().map(|x| *x as i64).collect::<Vec<_>>();
                        &wide
                    }
                    _ => unreachable!("integer key column"),
                };
                for &r in rows {
                    let key = c.is_valid(r as usize).then(|| vals[r as usize]);
                    let g = match index.get(key) {
                        Some(g) => g,
                        None => {
                            let g = new_group(r);
                            index.insert(key, g, g as usize + 1);
                            g
                        }
                    };
                    self.pairs.push((g, r));
                }
            }
            KeyIndex::Hashed(index) => {
                hash_rows(key_cols, rows, &mut self.hashes);
                for (&r, &h) in rows.iter().zip(&self.hashes) {
                    let g = match index.find(h, keys, key_cols, r as usize) {
                        Some(g) => g,
                        None => {
                            for (b, c) in keys.iter_mut().zip(key_cols) {
                                b.push_from(c, r as usize);
                            }
                            index.insert(h, next);
                            next += 1;
                            next - 1
                        }
                    };
                    self.pairs.push((g, r));
                }
            }
        }
        self.groups = next as usize;
    }

    /// Encodes the groups: the key columns (group order) and each accumulator.
    pub fn snapshot(&self, e: &mut Enc) {
        e.len(self.groups);
        e.len(self.keys.len());
        self.keys.iter().for_each(|k| e.column(&k.to_column()));
        e.len(self.accs.len());
        self.accs.iter().for_each(|a| a.snapshot(e));
    }

    /// Restores into an empty table built for the same keys and aggregates.
    pub fn restore(&mut self, d: &mut Dec) -> Result<()> {
        let groups = d.u64()? as usize;
        let n = d.u64()?;
        d.expect("the number of group keys", n, self.keys.len() as u64)?;
        let keys = (0..self.keys.len()).map(|_| d.column()).collect::<Result<Vec<_>>>()?;
        if keys.iter().any(|k| k.len() != groups) {
            return Err(d.error("a key column's length differs from the number of groups"));
        }
        // The keys are indexed as they are, without a probe per group for an equal key: a
        // checkpoint's keys are distinct unless it is damaged, and a damaged one is still
        // caught (equal keys meet in the index).
        let twice = || d.error("the checkpoint holds the same group twice");
        match &mut self.index {
            KeyIndex::Single if groups > 1 => return Err(twice()),
            KeyIndex::Single => {}
            KeyIndex::Int(index) => {
                let key = &keys[0];
                let val = |g: usize| match &key.data {
                    ColumnData::I64(v) => v[g],
                    ColumnData::I32(v) => i64::from(v[g]),
                    _ => unreachable!("checked below"),
                };
                if !matches!(key.data, ColumnData::I64(_) | ColumnData::I32(_)) {
                    return Err(d.error("an integer key column holds other values"));
                }
                for g in 0..groups {
                    let k = key.is_valid(g).then(|| val(g));
                    if index.get(k).is_some() {
                        return Err(twice());
                    }
                    index.insert(k, g as u32, g + 1);
                }
            }
            KeyIndex::Hashed(index) => {
                let hash = |range: std::ops::Range<usize>, out: &mut Vec<u64>| {
                    let rows: Vec<u32> = (range.start as u32..range.end as u32).collect();
                    hash_rows(&keys, &rows, out);
                };
                let same = |a: u32, b: u32| keys.iter().all(|c| c.same_key(a as usize, b as usize));
                index.restore(groups, &hash, same).map_err(|_| twice())?;
            }
        }
        let builders = std::mem::take(&mut self.keys).into_iter().zip(keys);
        self.keys = builders
            .map(|(b, c)| ColumnBuilder::from_column(b.data_type(), c))
            .collect::<Option<_>>()
            .ok_or_else(|| d.error("a key column's type differs from this plan"))?;
        self.groups = groups;
        let n = d.u64()?;
        d.expect("the number of aggregates", n, self.accs.len() as u64)?;
        for a in &mut self.accs {
            a.restore(d, groups)?;
        }
        Ok(())
    }

    /// Key columns and aggregate columns, groups in first-seen order.
    pub fn finish(self) -> (Vec<Column>, Vec<Column>) {
        let n = self.groups;
        let aggs = self.accs.iter().map(|a| a.finish(n)).collect();
        (self.keys.into_iter().map(ColumnBuilder::finish).collect(), aggs)
    }

    pub fn memory_bytes(&self) -> usize {
        let n = self.groups;
        let index = match &self.index {
            KeyIndex::Single => 0,
            KeyIndex::Int(index) => index.memory_bytes(),
            KeyIndex::Hashed(index) => index.memory_bytes(),
        };
        let keys: usize = self.keys.iter().map(|k| k.len() * 9).sum();
        index + keys + self.accs.iter().map(|a| a.memory_bytes(n)).sum::<usize>()
    }
}

/// Evaluates key expressions over a batch.
pub fn eval_keys(keys: &[Expr], batch: &Batch) -> Result<Vec<Column>> {
    keys.iter().map(|k| eval(k, batch)).collect()
}
