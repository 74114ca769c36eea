//! Bound, typed scalar expressions and aggregate calls. Column references are indices into the
//! input schema of the node that evaluates them.

use darwin_common::{DataType, Value};
use serde::{Deserialize, Serialize};

/// A bound scalar expression with the SQL type of its result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Expr {
    /// What the expression computes.
    pub kind: ExprKind,
    /// SQL type of the result; the binder has already inserted the casts its operands need.
    pub ty: DataType,
    /// Where in the script the expression was written, for runtime errors; None for parts the
    /// planner added (casts, rewrites). Not part of what an expression is: equality, kernel keys
    /// and the plan's fingerprint ignore it, so reformatting a script changes none of them.
    #[serde(default, skip_serializing_if = "crate::skip_origin")]
    pub origin: Option<Box<Origin>>,
}

impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        self.kind == other.kind && self.ty == other.ty
    }
}

/// Where an expression was written: its position in the script and its SQL text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// Line and column (1-based) of the expression's first character.
    pub at: darwin_common::Location,
    /// The expression as SQL (normalised by the parser: `v / z`).
    pub text: String,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` (line {}, column {})", self.text, self.at.line, self.at.column)
    }
}

/// A binary operator. Any NULL operand gives NULL, except for AND and OR (three-valued logic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinOp {
    /// `+` on numbers, TIMESTAMP + INTERVAL (timestamp on the left) or INTERVAL + INTERVAL.
    Add,
    /// `-` on numbers, TIMESTAMP - INTERVAL or INTERVAL - INTERVAL.
    Sub,
    /// `*`; integers wrap on overflow.
    Mul,
    /// `/`; integers truncate toward zero, and a zero integer divisor is an evaluation error.
    Div,
    /// Remainder (`%`, `MOD`); a zero integer divisor is an evaluation error.
    Mod,
    /// `=`.
    Eq,
    /// `<>` (also written `!=`).
    NotEq,
    /// `<`.
    Lt,
    /// `<=`.
    LtEq,
    /// `>`.
    Gt,
    /// `>=`.
    GtEq,
    /// Logical AND: FALSE if either side is FALSE, else NULL if either is NULL.
    And,
    /// Logical OR: TRUE if either side is TRUE, else NULL if either is NULL.
    Or,
    /// String concatenation `||`.
    Concat,
}

impl BinOp {
    /// The operator as SQL writes it (`AND`, `<>`, `||`), for explain output and messages.
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
    /// True for `=`, `<>`, `<`, `<=`, `>`, `>=` (the operators that yield a BOOLEAN from any two values).
    pub fn is_comparison(self) -> bool {
        matches!(self, BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq)
    }
}

/// Scalar functions. Argument types are fixed by the binder (it inserts casts), so an executor
/// dispatches on the function once per batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Func {
    /// ABS(x): absolute value, same type as `x`.
    Abs,
    /// FLOOR(x): largest integral value not above `x`; a DECIMAL keeps its precision with scale 0.
    Floor,
    /// CEIL(x) / CEILING(x): smallest integral value not below `x`; a DECIMAL gets scale 0.
    Ceil,
    /// ROUND(x, places): `places` is an INT literal (the binder adds 0 when omitted).
    Round,
    /// POWER(x, y) / POW: `x` raised to `y`, as DOUBLE.
    Power,
    /// SQRT(x), as DOUBLE.
    Sqrt,
    /// LOWER(s): Unicode lower case.
    Lower,
    /// UPPER(s): Unicode upper case.
    Upper,
    /// CHAR_LENGTH(s) / CHARACTER_LENGTH / LENGTH: length in characters (not bytes), as INT.
    CharLength,
    /// SUBSTRING(s, start [, length]), 1-based.
    Substring,
    /// CONCAT(a, b, ...): NULL if any argument is NULL.
    Concat,
    /// TRIM(s): removes leading and trailing spaces (only ' ', not other whitespace).
    TrimBoth,
    /// LTRIM(s): removes leading spaces.
    TrimLeading,
    /// RTRIM(s): removes trailing spaces.
    TrimTrailing,
    /// REPLACE(s, from, to): every occurrence of `from` replaced; an empty `from` leaves `s` unchanged.
    Replace,
    /// YEAR(ts): the calendar year of a TIMESTAMP(3) (UTC), as BIGINT.
    Year,
    /// MONTH(ts): month of the year, 1–12, as BIGINT.
    Month,
    /// DAYOFMONTH(ts): day of the month, 1–31, as BIGINT.
    DayOfMonth,
    /// HOUR(ts): hour of the day, 0–23, as BIGINT.
    Hour,
    /// MINUTE(ts): minute of the hour, 0–59, as BIGINT.
    Minute,
    /// SECOND(ts): second of the minute, 0–59, as BIGINT.
    Second,
    /// DATE_FORMAT(ts, pattern): formats with a Java `SimpleDateFormat`-style pattern (`yyyy-MM-dd HH:mm`).
    DateFormat,
    /// REGEXP_EXTRACT(s, pattern [, group]).
    RegexpExtract,
    /// SPLIT_INDEX(s, delimiter, index), 0-based.
    SplitIndex,
    /// COALESCE(a, b, ...): the first non-NULL argument, NULL if all are.
    Coalesce,
    /// IF(condition, then, else).
    If,
    /// NULLIF(a, b): NULL when `a` equals `b`, else `a`.
    NullIf,
    /// TO_TIMESTAMP_LTZ(epoch_millis, 3).
    ToTimestampLtz,
    /// `x IN (v1, v2, ...)` of many literals (the arguments after `x`, of `x`'s type), looked up
    /// in a hash set: TRUE if `x` equals one, NULL if `x` is NULL or none equals it and the list
    /// holds a NULL, else FALSE (an OR of the equalities, as SQL defines IN).
    InList,
    /// TRY_CAST(x AS type): as CAST to the call's type, but NULL where CAST fails (an invalid
    /// value, one out of range).
    TryCast,
    /// TO_TIMESTAMP(string).
    ToTimestamp,
}

impl Func {
    /// The function's SQL name, upper case, as explain and error messages print it.
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
            TryCast => "TRY_CAST",
            InList => "IN",
        }
    }
}

/// The node kinds of a scalar expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ExprKind {
    /// The value of the input column at this index.
    Column(usize),
    /// A constant; `Value::Null` for a typed NULL.
    Literal(Value),
    /// `left op right`.
    Binary {
        /// The operator.
        op: BinOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// Logical NOT; NULL stays NULL.
    Not(Box<Expr>),
    /// Arithmetic negation (unary minus); integers wrap on overflow.
    Neg(Box<Expr>),
    /// `expr IS NULL`, or `expr IS NOT NULL` when `negated`; never NULL itself.
    IsNull {
        /// The operand tested for NULL.
        expr: Box<Expr>,
        /// True for IS NOT NULL.
        negated: bool,
    },
    /// Conversion to `Expr::ty`.
    Cast(Box<Expr>),
    /// Searched CASE: the result of the first branch whose condition is TRUE.
    Case {
        /// `(WHEN condition, THEN result)` pairs, tried in order; a NULL condition does not match.
        branches: Vec<(Expr, Expr)>,
        /// The ELSE result; None means NULL when no branch matches.
        otherwise: Option<Box<Expr>>,
    },
    /// LIKE with a literal pattern (`%` any run, `_` one character).
    Like {
        /// The string matched; a NULL string gives NULL.
        expr: Box<Expr>,
        /// The LIKE pattern as written, without escape handling.
        pattern: String,
        /// True for NOT LIKE.
        negated: bool,
    },
    /// A scalar function call.
    Call {
        /// The function called.
        func: Func,
        /// Arguments, already cast to the types the function takes (see `Func`).
        args: Vec<Expr>,
    },
}

impl Expr {
    /// An expression without an origin (see `Expr::origin`).
    pub fn new(kind: ExprKind, ty: DataType) -> Expr {
        Expr { kind, ty, origin: None }
    }

    /// The expression, written at `origin` (kept if it already has one: the innermost wins).
    pub fn at(mut self, origin: Origin) -> Expr {
        if self.origin.is_none() {
            self.origin = Some(Box::new(origin));
        }
        self
    }

    /// A reference to input column `index`, of type `ty`.
    pub fn column(index: usize, ty: DataType) -> Expr {
        Expr::new(ExprKind::Column(index), ty)
    }
    /// A constant of type `ty` (pass `Value::Null` for a typed NULL).
    pub fn literal(v: Value, ty: DataType) -> Expr {
        Expr::new(ExprKind::Literal(v), ty)
    }
    /// `left op right` with result type `ty` (the caller has unified the operand types).
    pub fn binary(op: BinOp, left: Expr, right: Expr, ty: DataType) -> Expr {
        Expr::new(ExprKind::Binary { op, left: Box::new(left), right: Box::new(right) }, ty)
    }
    /// The expression converted to `ty`; returned unchanged when it already has that type.
    pub fn cast(self, ty: DataType) -> Expr {
        if self.ty == ty {
            return self;
        }
        Expr::new(ExprKind::Cast(Box::new(self)), ty)
    }
    /// The column index when the expression is a plain column reference, else None.
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
        Expr { kind, ty: self.ty, origin: self.origin.clone() }
    }

    /// Every column index the expression reads, in visiting order, with repeats.
    pub fn columns(&self) -> Vec<usize> {
        let mut v = Vec::new();
        self.visit_columns(&mut |i| v.push(i));
        v
    }

    /// Splits a conjunction into its conjuncts, left to right. Iterative: generated SQL may AND
    /// together a hundred thousand terms.
    pub fn conjuncts(self) -> Vec<Expr> {
        let mut out = Vec::new();
        let mut pending = vec![self];
        while let Some(e) = pending.pop() {
            match e.kind {
                ExprKind::Binary { op: BinOp::And, left, right } => {
                    pending.push(*right);
                    pending.push(*left);
                }
                kind => out.push(Expr { kind, ..e }),
            }
        }
        out
    }

    /// The conjunction of `exprs` in the given order, as a balanced tree (see [`Expr::balanced`]);
    /// None when `exprs` is empty.
    pub fn and_all(exprs: Vec<Expr>) -> Option<Expr> {
        Expr::balanced(exprs, BinOp::And, DataType::Boolean)
    }

    /// `items` combined with the associative operator `op` (typed `ty`), neighbours first, into a
    /// tree of depth log2(n), keeping their order (`||` is associative, not commutative); None when
    /// `items` is empty. Evaluation and planning then never recurse once per operand.
    pub fn balanced(mut items: Vec<Expr>, op: BinOp, ty: DataType) -> Option<Expr> {
        while items.len() > 1 {
            let mut next = Vec::with_capacity(items.len().div_ceil(2));
            let mut it = items.into_iter();
            while let Some(a) = it.next() {
                next.push(match it.next() {
                    Some(b) => Expr::binary(op, a, b, ty),
                    None => a,
                });
            }
            items = next;
        }
        items.pop()
    }
}

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AggFunc {
    /// COUNT(*) counts rows; COUNT(x) counts non-NULL values. A BIGINT, 0 when nothing is counted.
    Count,
    /// SUM(x) of non-NULL values; NULL when there are none.
    Sum,
    /// MIN(x) of non-NULL values; NULL when there are none.
    Min,
    /// MAX(x) of non-NULL values; NULL when there are none.
    Max,
    /// AVG(x) of non-NULL values (integers average to an integer); NULL when there are none.
    Avg,
}

/// One aggregate of a GROUP BY: `func(DISTINCT? arg) FILTER (WHERE filter)`, typed `ty`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggCall {
    /// The aggregate function.
    pub func: AggFunc,
    /// None for COUNT(*).
    pub arg: Option<Expr>,
    /// True for `func(DISTINCT arg)`: each distinct value of the group counts once.
    pub distinct: bool,
    /// The `FILTER (WHERE ...)` predicate over the input row; None aggregates every row.
    pub filter: Option<Expr>,
    /// Result type: BIGINT for COUNT; the argument's type for MIN, MAX, and SUM or AVG of INT, BIGINT or
    /// DOUBLE; DECIMAL(38, s) for SUM or AVG of a DECIMAL (AVG keeps at least 6 fractional digits).
    pub ty: DataType,
}
