//! Filter and projection, fused: the predicate selects rows, then the projections are evaluated
//! over the selected rows only.

use crate::error::Result;
use crate::operator::{Msg, Operator};
use darwin_columnar::column::Batch;
use darwin_columnar::column::{Column, ColumnData};
use darwin_columnar::eval::{eval, eval_mask};
use darwin_plan::physical::is_plain_column;
use darwin_plan::{Expr, ExprKind};

/// Filter and projection, a batch at a time (module docs); other messages pass through.
pub struct CalcOp {
    input: Box<dyn Operator>,
    filter: Option<Expr>,
    project: Option<Vec<Expr>>,
    /// Compiled mode: the generated loop that does both at once.
    kernel: Option<crate::kernels::CalcFn>,
    /// With a filter: the input columns the projections read, and the projections over them
    /// renumbered (computed on the first batch).
    compact: Option<(Vec<usize>, Vec<Expr>)>,
}

impl CalcOp {
    /// Keeps the rows `filter` accepts (`None`: all), then evaluates `project` over them (`None`: the columns as
    /// they are); with a `kernel` (compiled mode), that does both instead.
    pub fn new(
        input: Box<dyn Operator>,
        filter: Option<Expr>,
        project: Option<Vec<Expr>>,
        kernel: Option<crate::kernels::CalcFn>,
    ) -> Self {
        CalcOp { input, filter, project, kernel, compact: None }
    }
}

impl Operator for CalcOp {
    fn next(&mut self) -> Result<Option<Msg>> {
        let Some(msg) = self.input.next()? else {
            return Ok(None);
        };
        let Msg::Batch(mut batch) = msg else {
            return Ok(Some(msg));
        };
        if let Some(k) = self.kernel {
            let out = k(batch)?;
            if out.num_rows == 0 {
                return Ok(crate::operator::absorbed());
            }
            return Ok(Some(Msg::Batch(out)));
        }
        if let (Some(f), Some(p)) = (&self.filter, &self.project) {
            // Only the columns the projections read are gathered (copying all of YSB's nine
            // columns to keep two cost ~10%); the projections read them renumbered.
            let mask = eval_mask(f, &batch)?;
            let (used, compact) = self.compact.get_or_insert_with(|| {
                let mut used: Vec<usize> = p.iter().flat_map(|e| e.columns()).collect();
                used.sort_unstable();
                used.dedup();
                let compact = p.iter().map(|e| e.map_columns(&|i| used.binary_search(&i).unwrap_or(0))).collect();
                (used, compact)
            });
            let idx: Vec<u32> = (0..mask.len() as u32).filter(|i| mask[*i as usize]).collect();
            if idx.is_empty() {
                return Ok(crate::operator::absorbed());
            }
            let rows = Batch::new(used.iter().map(|i| batch.columns[*i].take(&idx)).collect(), idx.len());
            let cols = compact.iter().map(|e| eval(e, &rows)).collect::<darwin_columnar::Result<Vec<_>>>()?;
            return Ok(Some(Msg::Batch(Batch::new(cols, rows.num_rows))));
        }
        if let Some(f) = &self.filter {
            let mask = eval_mask(f, &batch)?;
            batch = batch.filter(&mask);
        }
        if batch.num_rows == 0 {
            return Ok(crate::operator::absorbed());
        }
        if let Some(p) = &self.project {
            // Computed columns first; then plain column references, moved out of the input
            // when referenced once (cloning them cost Nexmark q0 ~20%).
            let mut cols = p
                .iter()
                .map(|e| if is_plain_column(e) { Ok(None) } else { eval(e, &batch).map(Some) })
                .collect::<darwin_columnar::Result<Vec<_>>>()?;
            for (out, e) in cols.iter_mut().zip(p) {
                if let ExprKind::Column(i) = e.kind {
                    let uses = p.iter().filter(|x| x.kind == ExprKind::Column(i)).count();
                    *out = Some(if uses == 1 {
                        std::mem::replace(&mut batch.columns[i], Column::new(ColumnData::Bool(Vec::new().into()), None))
                    } else {
                        batch.columns[i].clone()
                    });
                }
            }
            let n = batch.num_rows;
            batch = Batch::new(cols.into_iter().map(|c| c.expect("every projection evaluated")).collect(), n);
        }
        Ok(Some(Msg::Batch(batch)))
    }
}
