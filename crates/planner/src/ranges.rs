//! A filter right above a source that can skip parts of its input by column statistics
//! (Parquet row groups) tells the source which values it keeps: each conjunct comparing a
//! column with a constant (`price > 1000`, `date_time >= TIMESTAMP '...'`, `k = 7`,
//! `x BETWEEN a AND b`) narrows that column's range (`TableDef::ranges`). Only integer,
//! timestamp, decimal and string columns compared with constants of their own type are used,
//! so a range never holds a value the comparison would convert; the filter still runs on every
//! row read, so a range only saves reading.

use darwin_common::{DataType, Value};
use darwin_plan::catalog::{ColumnRange, ConnectorCatalog};
use darwin_plan::physical::PhysNode;
use darwin_plan::{BinOp, Expr, ExprKind};
use std::cmp::Ordering;

/// `root` with the ranges of every filtered statistics-skipping source set.
pub fn push_ranges(root: PhysNode, catalog: &dyn ConnectorCatalog) -> PhysNode {
    let mut node = root.map_inputs(&mut |c| push_ranges(c, catalog));
    if let PhysNode::Calc { input, filter: Some(filter), .. } = &mut node {
        if let PhysNode::Source { table, .. } = input.as_mut() {
            if catalog.skips_by_statistics(table) {
                table.ranges = ranges_of(filter, &table.schema);
            }
        }
    }
    node
}

/// The column ranges a filter over `schema` keeps.
fn ranges_of(filter: &Expr, schema: &darwin_common::Schema) -> Vec<ColumnRange> {
    let mut ranges: Vec<ColumnRange> = Vec::new();
    for (col, op, v) in conjuncts(filter).into_iter().filter_map(comparison) {
        let f = &schema.fields[col];
        if !usable(f.data_type, &v) {
            continue;
        }
        let at = match ranges.iter().position(|r| r.column == f.name) {
            Some(i) => i,
            None => {
                ranges.push(ColumnRange { column: f.name.clone(), lo: None, hi: None });
                ranges.len() - 1
            }
        };
        narrow(&mut ranges[at], op, v);
    }
    ranges
}

fn conjuncts(e: &Expr) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::Binary { op: BinOp::And, left, right } => [conjuncts(left), conjuncts(right)].concat(),
        _ => vec![e],
    }
}

/// `column op constant` (the operator turned around when the constant is on the left).
fn comparison(e: &Expr) -> Option<(usize, BinOp, Value)> {
    let ExprKind::Binary { op, left, right } = &e.kind else { return None };
    let flipped = match op {
        BinOp::Eq => BinOp::Eq,
        BinOp::Lt => BinOp::Gt,
        BinOp::LtEq => BinOp::GtEq,
        BinOp::Gt => BinOp::Lt,
        BinOp::GtEq => BinOp::LtEq,
        _ => return None,
    };
    match (left.as_column(), constant(right), right.as_column(), constant(left)) {
        (Some(c), Some(v), _, _) => Some((c, *op, v)),
        (_, _, Some(c), Some(v)) => Some((c, flipped, v)),
        _ => None,
    }
}

/// A constant, also through a cast that widens an integer exactly (`CAST(1000 AS BIGINT)`,
/// as the binder writes an INT literal compared with a BIGINT column).
fn constant(e: &Expr) -> Option<Value> {
    match &e.kind {
        ExprKind::Literal(v) if *v != Value::Null => Some(v.clone()),
        ExprKind::Cast(inner) => match (constant(inner)?, e.ty) {
            (Value::Int(x), DataType::BigInt) => Some(Value::BigInt(x.into())),
            (Value::Int(x), DataType::Decimal { scale, .. }) => widen(x.into(), scale),
            (Value::BigInt(x), DataType::Decimal { scale, .. }) => widen(x.into(), scale),
            _ => None,
        },
        _ => None,
    }
}

fn widen(x: i128, scale: u8) -> Option<Value> {
    Some(Value::Decimal(x.checked_mul(10i128.checked_pow(scale.into())?)?, scale))
}

/// Whether a constant compares with the column's values without conversion.
fn usable(ty: DataType, v: &Value) -> bool {
    match (ty, v) {
        (DataType::Int, Value::Int(_)) | (DataType::BigInt, Value::BigInt(_)) => true,
        (DataType::Timestamp, Value::Timestamp(_)) | (DataType::Varchar, Value::Str(_)) => true,
        (DataType::Decimal { scale, .. }, Value::Decimal(_, s)) => scale == *s,
        _ => false,
    }
}

/// Narrows a range by `column op v`.
fn narrow(r: &mut ColumnRange, op: BinOp, v: Value) {
    let tighter_lo = |cur: &Option<(Value, bool)>, new: &(Value, bool)| match cur {
        None => true,
        Some((c, inc)) => match new.0.total_cmp(c) {
            Ordering::Greater => true,
            Ordering::Equal => *inc && !new.1,
            Ordering::Less => false,
        },
    };
    let tighter_hi = |cur: &Option<(Value, bool)>, new: &(Value, bool)| match cur {
        None => true,
        Some((c, inc)) => match new.0.total_cmp(c) {
            Ordering::Less => true,
            Ordering::Equal => *inc && !new.1,
            Ordering::Greater => false,
        },
    };
    let (lo, hi) = match op {
        BinOp::Eq => (Some((v.clone(), true)), Some((v, true))),
        BinOp::Gt => (Some((v, false)), None),
        BinOp::GtEq => (Some((v, true)), None),
        BinOp::Lt => (None, Some((v, false))),
        _ => (None, Some((v, true))),
    };
    if let Some(lo) = lo.filter(|l| tighter_lo(&r.lo, l)) {
        r.lo = Some(lo);
    }
    if let Some(hi) = hi.filter(|h| tighter_hi(&r.hi, h)) {
        r.hi = Some(hi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use darwin_common::{Field, Schema};

    fn col(i: usize, ty: DataType) -> Expr {
        Expr::column(i, ty)
    }
    fn lit(v: Value, ty: DataType) -> Expr {
        Expr::literal(v, ty)
    }
    fn cmp(op: BinOp, l: Expr, r: Expr) -> Expr {
        Expr::binary(op, l, r, DataType::Boolean)
    }
    fn and(l: Expr, r: Expr) -> Expr {
        Expr::binary(BinOp::And, l, r, DataType::Boolean)
    }

    #[test]
    fn conjuncts_of_columns_and_constants_narrow_ranges_and_nothing_else_does() {
        let schema = Schema::new(vec![
            Field::new("a", DataType::BigInt),
            Field::new("d", DataType::Double),
            Field::new("s", DataType::Varchar),
        ]);
        let (a, big) = (|| col(0, DataType::BigInt), DataType::BigInt);
        let widened = lit(Value::Int(5), DataType::Int).cast(big);
        let f = and(
            and(cmp(BinOp::Gt, a(), widened), cmp(BinOp::GtEq, lit(Value::BigInt(9), big), a())),
            and(
                cmp(BinOp::Lt, col(1, DataType::Double), lit(Value::Double(1.0), DataType::Double)),
                cmp(BinOp::GtEq, a(), lit(Value::BigInt(5), big)),
            ),
        );
        let r = ranges_of(&f, &schema);
        assert_eq!(r.len(), 1, "DOUBLE is not used: {r:?}");
        assert_eq!(r[0].lo, Some((Value::BigInt(5), false)), "a > 5 is tighter than a >= 5");
        assert_eq!(r[0].hi, Some((Value::BigInt(9), true)), "9 >= a turned around");
        let or = Expr::binary(BinOp::Or, cmp(BinOp::Gt, a(), lit(Value::BigInt(1), big)), a(), DataType::Boolean);
        assert!(ranges_of(&or, &schema).is_empty(), "a disjunction keeps anything");
        let eq = cmp(BinOp::Eq, col(2, DataType::Varchar), lit(Value::Str("x".into()), DataType::Varchar));
        let r = ranges_of(&eq, &schema);
        assert_eq!(
            (r[0].lo.clone(), r[0].hi.clone()),
            (Some((Value::Str("x".into()), true)), Some((Value::Str("x".into()), true)))
        );
    }
}
