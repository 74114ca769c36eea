//! Filter and projection, fused: the predicate selects rows, then the projections are evaluated
//! over the selected rows only. An evaluation error is told with the row it failed on (the
//! input's values by column name), found a row at a time on the error path only.

use crate::error::{Result, RuntimeError};
use crate::operator::{Msg, Operator};
use darwin_columnar::column::Batch;
use darwin_columnar::column::{Column, ColumnData};
use darwin_columnar::eval::{eval, eval_mask};
use darwin_columnar::EvalError;
use darwin_common::DataType;
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
    /// The input's column names and types, for an error that shows its row.
    columns: Vec<(String, DataType)>,
}

/// The result of the interpreted work on a batch: the output (None: no row passed the
/// filter), or the error with the batch it happened on.
type Calc = std::result::Result<Option<Batch>, (EvalError, Batch)>;

impl CalcOp {
    /// Keeps the rows `filter` accepts (`None`: all), then evaluates `project` over them (`None`: the columns as
    /// they are); with a `kernel` (compiled mode), that does both instead.
    pub fn new(
        input: Box<dyn Operator>,
        filter: Option<Expr>,
        project: Option<Vec<Expr>>,
        kernel: Option<crate::kernels::CalcFn>,
    ) -> Self {
        CalcOp { input, filter, project, kernel, compact: None, columns: Vec::new() }
    }

    /// Names the input's columns (and their types), so an evaluation error can show its row.
    pub fn named(mut self, columns: Vec<(String, DataType)>) -> Self {
        self.columns = columns;
        self
    }

    /// Filter and projections over `batch` by the interpreter.
    fn calc(&mut self, batch: Batch) -> Calc {
        if let (Some(f), Some(p)) = (&self.filter, &self.project) {
            // Only the columns the projections read are gathered (copying all of YSB's nine
            // columns to keep two cost ~10%); the projections read them renumbered.
            let mask = match eval_mask(f, &batch) {
                Ok(m) => m,
                Err(e) => return Err((e, batch)),
            };
            let (used, compact) = self.compact.get_or_insert_with(|| {
                let mut used: Vec<usize> = p.iter().flat_map(|e| e.columns()).collect();
                used.sort_unstable();
                used.dedup();
                let compact = p.iter().map(|e| e.map_columns(&|i| used.binary_search(&i).unwrap_or(0))).collect();
                (used, compact)
            });
            let idx: Vec<u32> = (0..mask.len() as u32).filter(|i| mask[*i as usize]).collect();
            if idx.is_empty() {
                return Ok(None);
            }
            let rows = Batch::new(used.iter().map(|i| batch.columns[*i].take(&idx)).collect(), idx.len());
            return match compact.iter().map(|e| eval(e, &rows)).collect::<darwin_columnar::Result<Vec<_>>>() {
                Ok(cols) => Ok(Some(Batch::new(cols, rows.num_rows))),
                Err(e) => Err((e, batch.take(&idx))),
            };
        }
        let mut batch = batch;
        if let Some(f) = &self.filter {
            match eval_mask(f, &batch) {
                Ok(mask) => batch = batch.filter(&mask),
                Err(e) => return Err((e, batch)),
            }
        }
        if batch.num_rows == 0 {
            return Ok(None);
        }
        let Some(p) = &self.project else { return Ok(Some(batch)) };
        // Computed columns first; then plain column references, moved out of the input when
        // referenced once (cloning them cost Nexmark q0 ~20%).
        let computed =
            p.iter().map(|e| if is_plain_column(e) { Ok(None) } else { eval(e, &batch).map(Some) }).collect();
        let mut cols: Vec<Option<Column>> = match computed {
            Ok(cols) => cols,
            Err(e) => return Err((e, batch)),
        };
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
        Ok(Some(Batch::new(cols.into_iter().map(|c| c.expect("every projection evaluated")).collect(), n)))
    }

    /// The first row of `batch` on which the filter or a projection fails, as `(name = value, ...)`.
    fn failing_row(&self, batch: &Batch) -> Option<String> {
        let exprs: Vec<&Expr> = self.filter.iter().chain(self.project.iter().flatten()).collect();
        let i = (0..batch.num_rows).find(|&i| {
            let one = batch.take(&[i as u32]);
            exprs.iter().any(|e| eval(e, &one).is_err())
        })?;
        let values: Vec<String> = self
            .columns
            .iter()
            .zip(&batch.columns)
            .map(|((name, ty), col)| format!("{name} = {}", col.get(i, *ty)))
            .collect();
        (values.len() == batch.columns.len()).then(|| format!("({})", values.join(", ")))
    }
}

impl Operator for CalcOp {
    fn next(&mut self) -> Result<Option<Msg>> {
        let Some(msg) = self.input.next()? else {
            return Ok(None);
        };
        let Msg::Batch(batch) = msg else {
            return Ok(Some(msg));
        };
        let out = match self.kernel {
            Some(k) => Some(k(batch)?),
            None => match self.calc(batch) {
                Ok(out) => out,
                Err((error, batch)) => {
                    return Err(match self.failing_row(&batch) {
                        Some(row) => RuntimeError::EvalOnRow { error, row },
                        None => error.into(),
                    })
                }
            },
        };
        match out {
            Some(b) if b.num_rows > 0 => Ok(Some(Msg::Batch(b))),
            _ => Ok(crate::operator::absorbed()),
        }
    }
}
