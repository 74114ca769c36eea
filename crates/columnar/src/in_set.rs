//! `x IN (many literals)` as one lookup: the literals in a hash set by physical type, so a list
//! of 100,000 values costs a probe per row, not 100,000 comparisons (and no expression of that
//! depth). Equality is SQL's: NaN equals nothing, -0.0 equals 0.0; a NULL in the list makes a
//! miss NULL instead of FALSE.

use crate::column::{Column, ColumnData};
use crate::keys::FastSet;
use darwin_common::Value;

/// The literals of an IN list, by kind.
#[derive(Debug, Default)]
pub struct InSet {
    ints: FastSet<i64>,
    floats: FastSet<u64>,
    decimals: FastSet<i128>,
    strs: FastSet<String>,
    bools: [bool; 2],
    /// The list holds a NULL.
    has_null: bool,
}

/// A double as a set key: -0.0 as 0.0 (they are equal); NaN never gets here (it equals nothing).
fn float_key(x: f64) -> u64 {
    if x == 0.0 {
        0
    } else {
        x.to_bits()
    }
}

impl InSet {
    /// The set of `values` (literals of one type).
    pub fn new(values: &[Value]) -> InSet {
        let mut set = InSet::default();
        for v in values {
            match v {
                Value::Null => set.has_null = true,
                Value::Bool(b) => set.bools[usize::from(*b)] = true,
                Value::Int(x) => {
                    set.ints.insert(i64::from(*x));
                }
                Value::BigInt(x) | Value::Timestamp(x) | Value::Interval(x) => {
                    set.ints.insert(*x);
                }
                Value::Double(x) if x.is_nan() => {}
                Value::Double(x) => {
                    set.floats.insert(float_key(*x));
                }
                Value::Decimal(m, _) => {
                    set.decimals.insert(*m);
                }
                Value::Str(s) => {
                    set.strs.insert(s.clone());
                }
            }
        }
        set
    }

    /// `v IN (the set)`: Some(true), Some(false), or None (NULL).
    pub fn test(&self, v: &Value) -> Option<bool> {
        let found = match v {
            Value::Null => return None,
            Value::Bool(b) => self.bools[usize::from(*b)],
            Value::Int(x) => self.ints.contains(&i64::from(*x)),
            Value::BigInt(x) | Value::Timestamp(x) | Value::Interval(x) => self.ints.contains(x),
            Value::Double(x) => !x.is_nan() && self.floats.contains(&float_key(*x)),
            Value::Decimal(m, _) => self.decimals.contains(m),
            Value::Str(s) => self.strs.contains(s),
        };
        self.outcome(found)
    }

    fn outcome(&self, found: bool) -> Option<bool> {
        (found || !self.has_null).then_some(found)
    }

    /// `c IN (the set)` for every row of a column.
    pub fn eval(&self, c: &Column) -> Column {
        let n = c.len();
        let found: Vec<bool> = match &c.data {
            ColumnData::Bool(v) => v.iter().map(|b| self.bools[usize::from(*b)]).collect(),
            ColumnData::I32(v) => v.iter().map(|x| self.ints.contains(&i64::from(*x))).collect(),
            ColumnData::I64(v) => v.iter().map(|x| self.ints.contains(x)).collect(),
            ColumnData::F64(v) => v.iter().map(|x| !x.is_nan() && self.floats.contains(&float_key(*x))).collect(),
            ColumnData::I128(v) => v.iter().map(|x| self.decimals.contains(x)).collect(),
            ColumnData::Str(s) => (0..n).map(|i| self.strs.contains(s.get(i))).collect(),
        };
        let valid: Vec<bool> = (0..n).map(|i| c.is_valid(i) && (found[i] || !self.has_null)).collect();
        let validity = (!valid.iter().all(|v| *v)).then_some(valid);
        Column::new(ColumnData::Bool(found.into()), validity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IN's three answers, as the OR of equalities gives them.
    #[test]
    fn answers_as_an_or_of_equalities() {
        let set = InSet::new(&[Value::BigInt(1), Value::BigInt(3)]);
        assert_eq!(set.test(&Value::BigInt(3)), Some(true));
        assert_eq!(set.test(&Value::BigInt(2)), Some(false));
        assert_eq!(set.test(&Value::Null), None);
        let with_null = InSet::new(&[Value::BigInt(1), Value::Null]);
        assert_eq!(with_null.test(&Value::BigInt(1)), Some(true));
        assert_eq!(with_null.test(&Value::BigInt(2)), None);
        let doubles = InSet::new(&[Value::Double(0.0), Value::Double(f64::NAN)]);
        assert_eq!(doubles.test(&Value::Double(-0.0)), Some(true));
        assert_eq!(doubles.test(&Value::Double(f64::NAN)), Some(false));
    }
}
