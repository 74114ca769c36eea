//! The operator library, one operator per file.

pub mod agg;
pub mod calc;
pub mod exchange;
pub mod group_table;
pub mod hashed_keys;
pub mod int_index;
pub mod interval_join;
pub mod join_store;
pub mod lookup_join;
pub mod partition_hash;
pub mod pass_through;
pub mod session_agg;
pub mod source;
pub mod tee;
pub mod two_inputs;
pub mod window_agg;
pub mod window_assign;
pub mod window_join;

use crate::column::{Batch, Column, ColumnBuilder};
use darwin_common::DataType;

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
