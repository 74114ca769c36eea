//! The operator library, one operator per file.

pub mod calc;
pub mod exchange;
pub mod interval_join;
pub mod lookup_join;
pub mod partition_hash;
pub mod pass_through;
pub mod session_agg;
pub mod slice_merge;
pub mod source;
pub mod tee;
pub mod two_inputs;
pub mod window_agg;
pub mod window_assign;
pub mod window_join;
pub(crate) mod windowed;

use darwin_columnar::column::{Batch, Column, ColumnBuilder};
use darwin_common::DataType;

/// Keeps the join pairs (`li[k]`, `ri[k]`, all matched) that pass `residual`. It is evaluated
/// over only the columns it reads, gathered for the pairs, so the caller gathers whole rows for
/// the pairs that pass only: q5's window join pairs each of a window's rows with the window's
/// maximum and keeps the few that reach it, and gathering every column of every pair was most of
/// its time. The rows and their order are the joined batch's, so are values and errors.
pub(crate) fn retain_residual(
    residual: &darwin_plan::Expr,
    left: &Batch,
    li: &mut Vec<u32>,
    right: &Batch,
    ri: &mut Vec<Option<u32>>,
) -> crate::error::Result<()> {
    let mut read = residual.columns();
    read.sort_unstable();
    read.dedup();
    let nl = left.columns.len();
    let right_rows: Vec<u32> = match read.last() {
        Some(&c) if c >= nl => ri.iter().map(|r| r.expect("pairs of matched rows")).collect(),
        _ => Vec::new(),
    };
    let cols = read
        .iter()
        .map(|&c| if c < nl { left.columns[c].take(li) } else { right.columns[c - nl].take(&right_rows) })
        .collect();
    let narrow = residual.map_columns(&|c| read.binary_search(&c).expect("a column the residual reads"));
    let mask = darwin_columnar::eval::eval_mask(&narrow, &Batch::new(cols, li.len()))?;
    let mut keep = mask.iter();
    li.retain(|_| *keep.next().expect("one mask entry per pair"));
    let mut keep = mask.iter();
    ri.retain(|_| *keep.next().expect("one mask entry per pair"));
    Ok(())
}

/// Output of a join: left rows at `li`, right rows at `ri` (None pads with NULLs).
pub(crate) fn join_rows(
    left: &Batch,
    li: &[u32],
    right: &Batch,
    ri: &[Option<u32>],
    right_types: &[DataType],
) -> Batch {
    let mut cols: Vec<Column> = left.columns.iter().map(|c| c.take(li)).collect();
    if ri.iter().all(Option::is_some) {
        let idx: Vec<u32> = ri.iter().map(|r| r.unwrap_or(0)).collect();
        cols.extend(right.columns.iter().map(|c| c.take(&idx)));
    } else {
        for (c, t) in right.columns.iter().zip(right_types) {
            let mut b = ColumnBuilder::new(*t, ri.len());
            for r in ri {
                match r {
                    Some(r) => b.push_from(c, *r as usize),
                    None => b.push_null(),
                }
            }
            cols.push(b.finish());
        }
    }
    Batch::new(cols, li.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use darwin_common::Value;
    use darwin_plan::{BinOp, Expr};

    /// Filtering pairs by a residual over only the columns it reads gives the rows, order and
    /// errors of evaluating it over the whole joined batch.
    #[test]
    fn residual_over_read_columns_matches_the_joined_batch() {
        let mut rnd = darwin_common::xorshift(0x7e51);
        let (lt, rt) = ([DataType::BigInt, DataType::BigInt, DataType::Varchar], [DataType::BigInt, DataType::BigInt]);
        let value = |rnd: &mut dyn FnMut() -> u64| match rnd() % 6 {
            0 => Value::Null,
            v => Value::BigInt(v as i64 - 2),
        };
        let col = |i: usize| Expr::column(i, DataType::BigInt);
        let cmp = |op, a, b| Expr::binary(op, a, b, DataType::Boolean);
        let residuals = [
            cmp(BinOp::GtEq, col(1), col(4)),
            cmp(
                BinOp::Or,
                cmp(BinOp::Lt, col(0), col(3)),
                cmp(BinOp::Eq, col(4), Expr::literal(Value::BigInt(1), DataType::BigInt)),
            ),
            cmp(BinOp::Gt, col(0), Expr::literal(Value::BigInt(0), DataType::BigInt)),
            // A division by zero fails in both ways alike.
            cmp(BinOp::Gt, Expr::binary(BinOp::Div, col(0), col(4), DataType::BigInt), col(1)),
        ];
        for case in 0..400 {
            let (nl, nr) = (rnd() as usize % 9, 1 + rnd() as usize % 4);
            let left: Vec<Vec<Value>> =
                (0..nl).map(|i| vec![value(&mut rnd), value(&mut rnd), Value::Str(format!("r{i}"))]).collect();
            let right: Vec<Vec<Value>> = (0..nr).map(|_| vec![value(&mut rnd), value(&mut rnd)]).collect();
            let (left, right) = (Batch::from_rows(&left, &lt), Batch::from_rows(&right, &rt));
            let mut li: Vec<u32> = (0..rnd() as usize % 12).map(|_| (rnd() % nl.max(1) as u64) as u32).collect();
            if nl == 0 {
                li.clear();
            }
            let mut ri: Vec<Option<u32>> = li.iter().map(|_| Some((rnd() % nr as u64) as u32)).collect();
            let res = &residuals[case % residuals.len()];
            let joined = join_rows(&left, &li, &right, &ri, &rt);
            let want = darwin_columnar::eval::eval_mask(res, &joined)
                .map(|m| joined.filter(&m))
                .map_err(crate::RuntimeError::from);
            let got =
                retain_residual(res, &left, &mut li, &right, &mut ri).map(|()| join_rows(&left, &li, &right, &ri, &rt));
            match (want, got) {
                (Ok(w), Ok(g)) => assert_eq!(w, g, "case {case}"),
                (Err(w), Err(g)) => assert_eq!(w.to_string(), g.to_string(), "case {case}"),
                (w, g) => panic!("case {case}: {w:?} vs {g:?}"),
            }
        }
    }
}
