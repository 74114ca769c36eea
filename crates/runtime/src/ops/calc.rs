//! Filter and projection, fused: the predicate selects rows, then the projections are evaluated
//! over the selected rows only.

use crate::column::Batch;
use crate::error::Result;
use crate::eval::{eval, eval_mask};
use crate::operator::{Msg, Operator};
use darwin_plan::Expr;

pub struct CalcOp {
    input: Box<dyn Operator>,
    filter: Option<Expr>,
    project: Option<Vec<Expr>>,
    /// Compiled mode: the generated loop that does both at once.
    kernel: Option<crate::kernels::CalcFn>,
}

impl CalcOp {
    pub fn new(
        input: Box<dyn Operator>,
        filter: Option<Expr>,
        project: Option<Vec<Expr>>,
        kernel: Option<crate::kernels::CalcFn>,
    ) -> Self {
        CalcOp { input, filter, project, kernel }
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
            let out = k(&batch)?;
            if out.num_rows == 0 {
                return Ok(crate::operator::absorbed());
            }
            return Ok(Some(Msg::Batch(out)));
        }
        if let Some(f) = &self.filter {
            let mask = eval_mask(f, &batch)?;
            batch = batch.filter(&mask);
        }
        if batch.num_rows == 0 {
            return Ok(crate::operator::absorbed());
        }
        if let Some(p) = &self.project {
            let cols = p.iter().map(|e| eval(e, &batch)).collect::<Result<Vec<_>>>()?;
            batch = Batch::new(cols, batch.num_rows);
        }
        Ok(Some(Msg::Batch(batch)))
    }
}
