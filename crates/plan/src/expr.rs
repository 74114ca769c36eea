//! Bound, typed scalar expressions and aggregate calls. Column references are indices into the
//! input schema of the node that evaluates them.

use darwin_common::{DataType, Value};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: DataType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
    Concat,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Eq => "=",
            BinOp::NotEq => "<>",
            BinOp::Lt => "<",
            BinOp::LtEq => "<=",
            BinOp::Gt => ">",
            BinOp::GtEq => ">=",
            BinOp::And => "AND",
            BinOp::Or => "OR",
            BinOp::Concat => "||",
        }
    }
    pub fn is_comparison(self) -> bool {
        matches!(self, BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq)
    }
}

/// Scalar functions. Argument types are fixed by the binder (it inserts casts), so an executor
/// dispatches on the function once per batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Func {
    Abs,
    Floor,
    Ceil,
    Round,
    Power,
    Sqrt,
    Lower,
    Upper,
    CharLength,
    /// SUBSTRING(s, start [, length]), 1-based.
    Substring,
    /// CONCAT(a, b, ...): NULL if any argument is NULL.
    Concat,
    TrimBoth,
    TrimLeading,
    TrimTrailing,
    Replace,
    Year,
    Month,
    DayOfMonth,
    Hour,
    Minute,
    Second,
    DateFormat,
    /// REGEXP_EXTRACT(s, pattern [, group]).
    RegexpExtract,
    /// SPLIT_INDEX(s, delimiter, index), 0-based.
    SplitIndex,
    Coalesce,
    /// IF(condition, then, else).
    If,
    NullIf,
    /// TO_TIMESTAMP_LTZ(epoch_millis, 3).
    ToTimestampLtz,
    /// TO_TIMESTAMP(string).
    ToTimestamp,
}

impl Func {
    pub fn name(self) -> &'static str {
        use Func::*;
        match self {
            Abs => "ABS",
            Floor => "FLOOR",
            Ceil => "CEIL",
            Round => "ROUND",
            Power => "POWER",
            Sqrt => "SQRT",
            Lower => "LOWER",
            Upper => "UPPER",
            CharLength => "CHAR_LENGTH",
            Substring => "SUBSTRING",
            Concat => "CONCAT",
            TrimBoth => "TRIM",
            TrimLeading => "LTRIM",
            TrimTrailing => "RTRIM",
            Replace => "REPLACE",
            Year => "YEAR",
            Month => "MONTH",
            DayOfMonth => "DAYOFMONTH",
            Hour => "HOUR",
            Minute => "MINUTE",
            Second => "SECOND",
            DateFormat => "DATE_FORMAT",
            RegexpExtract => "REGEXP_EXTRACT",
            SplitIndex => "SPLIT_INDEX",
            Coalesce => "COALESCE",
            If => "IF",
            NullIf => "NULLIF",
            ToTimestampLtz => "TO_TIMESTAMP_LTZ",
            ToTimestamp => "TO_TIMESTAMP",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ExprKind {
    Column(usize),
    Literal(Value),
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Not(Box<Expr>),
    Neg(Box<Expr>),
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    /// Conversion to `Expr::ty`.
    Cast(Box<Expr>),
    Case {
        branches: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    /// LIKE with a literal pattern (`%` any run, `_` one character).
    Like {
        expr: Box<Expr>,
        pattern: String,
        negated: bool,
    },
    Call {
        func: Func,
        args: Vec<Expr>,
    },
}

impl Expr {
    pub fn column(index: usize, ty: DataType) -> Expr {
        Expr { kind: ExprKind::Column(index), ty }
    }
    pub fn literal(v: Value, ty: DataType) -> Expr {
        Expr { kind: ExprKind::Literal(v), ty }
    }
    pub fn binary(op: BinOp, left: Expr, right: Expr, ty: DataType) -> Expr {
        Expr { kind: ExprKind::Binary { op, left: Box::new(left), right: Box::new(right) }, ty }
    }
    pub fn cast(self, ty: DataType) -> Expr {
        if self.ty == ty {
            return self;
        }
        Expr { kind: ExprKind::Cast(Box::new(self)), ty }
    }
    pub fn as_column(&self) -> Option<usize> {
        match self.kind {
            ExprKind::Column(i) => Some(i),
            _ => None,
        }
    }

    /// Calls `f` on every column index the expression reads.
    pub fn visit_columns(&self, f: &mut dyn FnMut(usize)) {
        match &self.kind {
            ExprKind::Column(i) => f(*i),
            ExprKind::Literal(_) => {}
            ExprKind::Binary { left, right, .. } => {
                left.visit_columns(f);
                right.visit_columns(f);
            }
            ExprKind::Not(e) | ExprKind::Neg(e) | ExprKind::Cast(e) => e.visit_columns(f),
            ExprKind::IsNull { expr, .. } | ExprKind::Like { expr, .. } => expr.visit_columns(f),
            ExprKind::Case { branches, otherwise } => {
                for (w, t) in branches {
                    w.visit_columns(f);
                    t.visit_columns(f);
                }
                if let Some(o) = otherwise {
                    o.visit_columns(f);
                }
            }
            ExprKind::Call { args, .. } => args.iter().for_each(|a| a.visit_columns(f)),
        }
    }

    /// Rewrites column indices (used when an expression moves across a join or projection).
    pub fn map_columns(&self, f: &dyn Fn(usize) -> usize) -> Expr {
        self.replace_columns(&|i, ty| Some(Expr::column(f(i), ty)))
    }

    /// Replaces each column reference `f` returns an expression for (given the column and its
    /// type); keeps the others.
    pub fn replace_columns(&self, f: &dyn Fn(usize, DataType) -> Option<Expr>) -> Expr {
        let g = |e: &Expr| Box::new(e.replace_columns(f));
        let kind = match &self.kind {
            ExprKind::Column(i) => return f(*i, self.ty).unwrap_or_else(|| self.clone()),
            ExprKind::Literal(v) => ExprKind::Literal(v.clone()),
            ExprKind::Binary { op, left, right } => ExprKind::Binary { op: *op, left: g(left), right: g(right) },
            ExprKind::Not(e) => ExprKind::Not(g(e)),
            ExprKind::Neg(e) => ExprKind::Neg(g(e)),
            ExprKind::Cast(e) => ExprKind::Cast(g(e)),
            ExprKind::IsNull { expr, negated } => ExprKind::IsNull { expr: g(expr), negated: *negated },
            ExprKind::Like { expr, pattern, negated } => {
                ExprKind::Like { expr: g(expr), pattern: pattern.clone(), negated: *negated }
            }
            ExprKind::Case { branches, otherwise } => ExprKind::Case {
                branches: branches.iter().map(|(w, t)| (w.replace_columns(f), t.replace_columns(f))).collect(),
                otherwise: otherwise.as_ref().map(|o| g(o)),
            },
            ExprKind::Call { func, args } => {
                ExprKind::Call { func: *func, args: args.iter().map(|a| a.replace_columns(f)).collect() }
            }
        };
        Expr { kind, ty: self.ty }
    }

    pub fn columns(&self) -> Vec<usize> {
        let mut v = Vec::new();
        self.visit_columns(&mut |i| v.push(i));
        v
    }

    /// Splits a conjunction into its conjuncts.
    pub fn conjuncts(self) -> Vec<Expr> {
        match self.kind {
            ExprKind::Binary { op: BinOp::And, left, right } => {
                let mut v = left.conjuncts();
                v.extend(right.conjuncts());
                v
            }
            _ => vec![self],
        }
    }

    pub fn and_all(mut exprs: Vec<Expr>) -> Option<Expr> {
        let first = if exprs.is_empty() {
            return None;
        } else {
            exprs.remove(0)
        };
        Some(exprs.into_iter().fold(first, |acc, e| Expr::binary(BinOp::And, acc, e, DataType::Boolean)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AggFunc {
    Count,
    Sum,
    Min,
    Max,
    Avg,
}

/// One aggregate of a GROUP BY: `func(DISTINCT? arg) FILTER (WHERE filter)`, typed `ty`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggCall {
    pub func: AggFunc,
    /// None for COUNT(*).
    pub arg: Option<Expr>,
    pub distinct: bool,
    pub filter: Option<Expr>,
    pub ty: DataType,
}
