//! Lookup join: the bounded side is read completely into a hash table before the stream starts;
//! the stream probes it batch by batch and keeps its event time and watermarks.

use super::{join_rows, retain_residual};
use crate::error::Result;
use crate::operator::{Msg, Operator};
use darwin_columnar::column::{concat_batches, Batch};
use darwin_columnar::eval::eval_keys;
use darwin_columnar::keys::JoinIndex;
use darwin_common::DataType;
use darwin_plan::{Expr, JoinType};

/// Lookup join of a stream with a bounded table, read whole and indexed before the first stream batch.
pub struct LookupJoinOp {
    stream: Box<dyn Operator>,
    table: Batch,
    table_types: Vec<DataType>,
    index: JoinIndex,
    join_type: JoinType,
    stream_keys: Vec<Expr>,
    residual: Option<Expr>,
    /// Compiled mode: the probe fused with the Calc above the join (which is then not built).
    fused: Option<crate::kernels::ProbeFn>,
}

impl LookupJoinOp {
    /// Reads `table_op` to its end (columns of `table_types`) and indexes it by `table_keys`; stream
    /// batches then probe it by `stream_keys` and keep the pairs `residual` accepts; a left join
    /// (`join_type`) pads unmatched stream rows with NULLs.
    pub fn new(
        stream: Box<dyn Operator>,
        mut table_op: Box<dyn Operator>,
        table_types: Vec<DataType>,
        join_type: JoinType,
        stream_keys: Vec<Expr>,
        table_keys: Vec<Expr>,
        residual: Option<Expr>,
    ) -> Result<Self> {
        let mut batches = Vec::new();
        while let Some(m) = table_op.next()? {
            if let Msg::Batch(b) = m {
                batches.push(b);
            }
        }
        let table = concat_batches(&batches, &table_types);
        let keys = eval_keys(&table_keys, &table)?;
        let index = JoinIndex::build(&keys, table.num_rows);
        Ok(LookupJoinOp { stream, table, table_types, index, join_type, stream_keys, residual, fused: None })
    }

    /// Runs `f` on every stream batch instead of the generic probe (and the Calc above).
    pub fn fused(mut self, f: Option<crate::kernels::ProbeFn>) -> Self {
        self.fused = f;
        self
    }
}

impl Operator for LookupJoinOp {
    fn next(&mut self) -> Result<Option<Msg>> {
        let Some(msg) = self.stream.next()? else {
            return Ok(None);
        };
        let Msg::Batch(batch) = msg else {
            return Ok(Some(msg));
        };
        if let Some(f) = self.fused {
            let out = f(batch, &self.table, &self.index)?;
            return Ok(if out.num_rows > 0 { Some(Msg::Batch(out)) } else { crate::operator::absorbed() });
        }
        let keys = eval_keys(&self.stream_keys, &batch)?;
        let (mut li, mut ri) = (Vec::new(), Vec::new());
        let mut buf = Vec::new();
        for i in 0..batch.num_rows {
            self.index.probe(&keys, i, &mut buf, |r| {
                li.push(i as u32);
                ri.push(Some(r));
            });
        }
        if let Some(res) = &self.residual {
            retain_residual(res, &batch, &mut li, &self.table, &mut ri)?;
        }
        let mut out = join_rows(&batch, &li, &self.table, &ri, &self.table_types);
        if self.join_type == JoinType::Left {
            let mut matched = vec![false; batch.num_rows];
            li.iter().for_each(|l| matched[*l as usize] = true);
            let missing: Vec<u32> = (0..batch.num_rows as u32).filter(|i| !matched[*i as usize]).collect();
            if !missing.is_empty() {
                let pad = join_rows(&batch, &missing, &self.table, &vec![None; missing.len()], &self.table_types);
                out = append(out, pad);
            }
        }
        if out.num_rows > 0 {
            return Ok(Some(Msg::Batch(out)));
        }
        Ok(crate::operator::absorbed())
    }
}

/// Appends the rows of `b` to `a` (same layout).
pub(crate) fn append(a: Batch, b: Batch) -> Batch {
    if a.num_rows == 0 {
        return b;
    }
    let n = a.num_rows + b.num_rows;
    let cols = a
        .columns
        .iter()
        .zip(&b.columns)
        .map(|(x, y)| {
            let idx_a: Vec<u32> = (0..a.num_rows as u32).collect();
            let idx_b: Vec<u32> = (0..b.num_rows as u32).collect();
            let (x, y) = (x.take(&idx_a), y.take(&idx_b));
            darwin_columnar::column::Column::new(
                match (x.data, y.data) {
                    (crate::ColumnData::Bool(mut p), crate::ColumnData::Bool(q)) => {
                        p.extend_from_slice(&q);
                        crate::ColumnData::Bool(p)
                    }
                    (crate::ColumnData::I32(mut p), crate::ColumnData::I32(q)) => {
                        p.extend_from_slice(&q);
                        crate::ColumnData::I32(p)
                    }
                    (crate::ColumnData::I64(mut p), crate::ColumnData::I64(q)) => {
                        p.extend_from_slice(&q);
                        crate::ColumnData::I64(p)
                    }
                    (crate::ColumnData::F64(mut p), crate::ColumnData::F64(q)) => {
                        p.extend_from_slice(&q);
                        crate::ColumnData::F64(p)
                    }
                    (crate::ColumnData::I128(mut p), crate::ColumnData::I128(q)) => {
                        p.extend_from_slice(&q);
                        crate::ColumnData::I128(p)
                    }
                    (crate::ColumnData::Str(mut p), crate::ColumnData::Str(q)) => {
                        for i in 0..q.len() {
                            p.push(q.get(i));
                        }
                        crate::ColumnData::Str(p)
                    }
                    _ => unreachable!("append of batches with different layouts"),
                },
                match (x.validity, y.validity) {
                    (None, None) => None,
                    (p, q) => {
                        let mut v = p.unwrap_or_else(|| vec![true; a.num_rows]);
                        v.extend(q.unwrap_or_else(|| vec![true; b.num_rows]));
                        Some(v)
                    }
                },
            )
        })
        .collect();
    Batch::new(cols, n)
}
