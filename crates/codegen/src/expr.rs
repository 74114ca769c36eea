//! Rust for one fused filter-and-projection kernel. Expressions become straight-line code over
//! typed column slices, one `let` per plan expression node, each an `Option<T>` (None is SQL
//! NULL). Every subexpression is evaluated eagerly, like the vectorised interpreter, so errors
//! (division by zero) arise for exactly the same rows. Literals enter the source only through
//! Rust's own escaping (`{:?}` of a `str`, exact bit patterns for floats).

use darwin_common::{DataType, Value};
use darwin_plan::{BinOp, Expr, ExprKind, Func};
use std::collections::BTreeSet;
use std::fmt::Write;

/// The physical Rust type of an expression's values: the columnar storage type.
use darwin_common::types::PhysicalType as RTy;

fn rty(t: DataType) -> RTy {
    t.physical()
}

/// Names of a physical type in generated code.
trait RustNames {
    /// Suffix of the `kernels` helpers (`lit_i64`, `out_str`, ...).
    fn suffix(self) -> &'static str;
    /// The value type inside `Option<...>`.
    fn name(self) -> &'static str;
    /// The typed column view (`kernels::i64s`, ...).
    fn view(self) -> String;
}

impl RustNames for RTy {
    fn suffix(self) -> &'static str {
        match self {
            RTy::Bool => "bool",
            RTy::I32 => "i32",
            RTy::I64 => "i64",
            RTy::F64 => "f64",
            RTy::I128 => "i128",
            RTy::Str => "str",
        }
    }
    fn name(self) -> &'static str {
        if self == RTy::Str {
            "&str"
        } else {
            self.suffix()
        }
    }
    fn view(self) -> String {
        format!("{}s", self.suffix())
    }
}

/// The Rust type of an expression's values in generated code (`Option<i64>`, ...).
pub fn option_type(t: DataType) -> String {
    format!("Option<{}>", rty(t).name())
}

/// The `kernels` view function of a type's columns (`i64s`, `strs`, ...).
pub fn view_of(t: DataType) -> String {
    rty(t).view()
}

/// A `DataType` as a Rust expression.
pub fn type_code(t: DataType) -> String {
    match t {
        DataType::Boolean => "DataType::Boolean".into(),
        DataType::Int => "DataType::Int".into(),
        DataType::BigInt => "DataType::BigInt".into(),
        DataType::Double => "DataType::Double".into(),
        DataType::Decimal { precision, scale } => {
            format!("DataType::Decimal {{ precision: {precision}, scale: {scale} }}")
        }
        DataType::Varchar => "DataType::Varchar".into(),
        DataType::Timestamp => "DataType::Timestamp".into(),
        DataType::Interval => "DataType::Interval".into(),
    }
}

/// A `Value` as a Rust expression; strings through `{:?}`, which escapes quotes, backslashes,
/// newlines and every other control character, so no SQL text can end the literal.
pub fn value_code(v: &Value) -> String {
    match v {
        Value::Null => "Value::Null".into(),
        Value::Bool(b) => format!("Value::Bool({b})"),
        Value::Int(x) => format!("Value::Int({x}i32)"),
        Value::BigInt(x) => format!("Value::BigInt({x}i64)"),
        Value::Double(x) => format!("Value::Double(f64::from_bits({:#x}u64))", x.to_bits()),
        Value::Decimal(m, s) => format!("Value::Decimal({m}i128, {s}u8)"),
        Value::Str(s) => format!("Value::Str(String::from({s:?}))"),
        Value::Timestamp(x) => format!("Value::Timestamp({x}i64)"),
        Value::Interval(x) => format!("Value::Interval({x}i64)"),
    }
}

/// Text safe inside a `//` comment: one line, control characters escaped, at most 160 characters.
pub fn comment_text(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(160)
        .flat_map(|c| if c.is_control() { c.escape_debug().collect::<Vec<_>>() } else { vec![c] })
        .collect();
    if s.chars().nth(160).is_some() {
        out.push_str(" …");
    }
    out
}

/// Code for one kernel body under construction.
#[derive(Default)]
pub struct Kernel {
    /// Once per batch: column views, literals, LIKE patterns.
    pub prelude: String,
    /// Once per row (the row index is `row`).
    pub body: String,
    columns: BTreeSet<usize>,
    next: usize,
    /// Over a join's output (fused probe): columns below this index are the stream batch `s` at
    /// row `sr`, the others the table `t` at row `tr`. Otherwise one batch `b` at `row`.
    pub split: Option<usize>,
    /// The origins (`Expr::origin`) of the expressions being generated, innermost last: an error
    /// is told with the innermost, as the interpreter tells it.
    origins: Vec<String>,
}

impl Kernel {
    /// A kernel over (stream row, table row) pairs of a join whose stream side has `ns` columns.
    pub fn over_join(ns: usize) -> Kernel {
        Kernel { split: Some(ns), ..Kernel::default() }
    }

    /// Where column `i` lives: its batch expression and the row variable indexing it.
    fn source(&self, i: usize) -> (String, &'static str) {
        match self.split {
            None => (format!("b.columns[{i}]"), "row"),
            Some(ns) if i < ns => (format!("s.columns[{i}]"), "sr"),
            Some(ns) => (format!("t.columns[{}]", i - ns), "tr"),
        }
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{}", self.next)
    }

    fn column_view(&mut self, i: usize, t: RTy) {
        if self.columns.insert(i) {
            let (src, _) = self.source(i);
            let _ =
                writeln!(self.prelude, "    let d{i} = k::{}(&{src});\n    let v{i} = k::validity(&{src});", t.view());
        }
    }

    /// Emits the code of `e` into the row body; returns the variable holding its `Option<T>`.
    pub fn expr(&mut self, e: &Expr) -> String {
        let Some(o) = &e.origin else { return self.expr_node(e) };
        self.origins.push(format!("{}, {}, {:?}", o.at.line, o.at.column, o.text));
        let v = self.expr_node(e);
        self.origins.pop();
        v
    }

    /// An error value, told where the innermost expression being generated was written.
    fn error(&self, code: &str) -> String {
        match self.origins.last() {
            Some(o) => format!("k::at({code}, {o})"),
            None => code.to_string(),
        }
    }

    /// A fallible call followed by `?`, its error told as `error` tells it.
    fn attempt(&self, code: &str) -> String {
        match self.origins.last() {
            Some(o) => format!("{code}.map_err(|e| k::at(e, {o}))?"),
            None => format!("{code}?"),
        }
    }

    fn expr_node(&mut self, e: &Expr) -> String {
        let t = rty(e.ty);
        let v = self.fresh("e");
        let ty = format!("Option<{}>", t.name());
        match &e.kind {
            ExprKind::Column(i) => {
                self.column_view(*i, t);
                let (_, row) = self.source(*i);
                let get = if t == RTy::Str { format!("d{i}.get({row})") } else { format!("d{i}[{row}]") };
                let _ = writeln!(
                    self.body,
                    "        let {v}: {ty} = if v{i}.is_none_or(|m| m[{row}]) {{ Some({get}) }} else {{ None }};"
                );
            }
            // A string is its own value: inline it (escaped by `{:?}`), so comparisons with it
            // compile to fixed-length compares instead of calls to memcmp.
            ExprKind::Literal(Value::Str(text)) if e.ty == DataType::Varchar => {
                let _ = writeln!(self.body, "        let {v}: {ty} = Some({text:?});");
            }
            ExprKind::Literal(val) => {
                let l = self.fresh("l");
                let owned = if t == RTy::Str { "Option<String>".to_string() } else { ty.clone() };
                let _ = writeln!(
                    self.prelude,
                    "    let {l}: {owned} = k::lit_{}(&{}, {});",
                    t.suffix(),
                    value_code(val),
                    type_code(e.ty)
                );
                let read = if t == RTy::Str { format!("{l}.as_deref()") } else { l };
                let _ = writeln!(self.body, "        let {v}: {ty} = {read};");
            }
            ExprKind::Binary { op, left, right } => {
                let (a, b) = (self.expr(left), self.expr(right));
                self.binary(&v, &ty, *op, &a, &b, (left.ty, e.ty));
            }
            ExprKind::Not(x) => {
                let a = self.expr(x);
                let _ = writeln!(self.body, "        let {v}: {ty} = {a}.map(|x| !x);");
            }
            ExprKind::Neg(x) => {
                let a = self.expr(x);
                let body = match t {
                    RTy::F64 | RTy::I128 => format!("{a}.map(|x| -x)"),
                    _ => format!(
                        "match {a} {{ Some(x) => match x.checked_neg() {{ Some(v) => Some(v), None => \
                         return Err({}) }}, None => None }}",
                        self.error(&format!("k::negation_overflow(x as i128, {})", type_code(x.ty)))
                    ),
                };
                let _ = writeln!(self.body, "        let {v}: {ty} = {body};");
            }
            ExprKind::IsNull { expr, negated } => {
                let a = self.expr(expr);
                let _ = writeln!(self.body, "        let {v}: {ty} = Some({a}.is_some() == {negated});");
            }
            ExprKind::Cast(x) => {
                let a = self.expr(x);
                self.cast(&v, &ty, &a, x.ty, e.ty);
            }
            ExprKind::Case { branches, otherwise } => {
                let arms: Vec<(String, String)> =
                    branches.iter().map(|(w, th)| (self.expr(w), self.expr(th))).collect();
                let other = otherwise.as_ref().map(|o| self.expr(o)).unwrap_or_else(|| "None".into());
                let mut code = String::new();
                for (c, x) in &arms {
                    let _ = write!(code, "if {c} == Some(true) {{ {x} }} else ");
                }
                let _ = writeln!(self.body, "        let {v}: {ty} = {code}{{ {other} }};");
            }
            ExprKind::Like { expr, pattern, negated } => {
                let a = self.expr(expr);
                let p = self.fresh("p");
                let _ = writeln!(self.prelude, "    let {p}: Vec<char> = {pattern:?}.chars().collect();");
                let _ = writeln!(self.body, "        let {v}: {ty} = {a}.map(|s| k::like(s, &{p}) != {negated});");
            }
            ExprKind::Call { func: Func::InList, args } => {
                // The list's literals go into a hash set built once per process, not per row.
                let x = self.expr(&args[0]);
                let set = self.fresh("in");
                let values: Vec<String> = args[1..]
                    .iter()
                    .map(|a| match &a.kind {
                        ExprKind::Literal(l) => value_code(l),
                        _ => unreachable!("the binder makes an IN set of literals only"),
                    })
                    .collect();
                let _ = writeln!(
                    self.prelude,
                    "    static {}: std::sync::OnceLock<k::InSet> = std::sync::OnceLock::new();\n    \
                     let {set} = {}.get_or_init(|| k::InSet::new(&[{}]));",
                    set.to_uppercase(),
                    set.to_uppercase(),
                    values.join(", ")
                );
                let value = self.to_value(&x, args[0].ty);
                let _ = writeln!(self.body, "        let {v}: {ty} = {set}.test(&{value});");
            }
            ExprKind::Call { func, args } => {
                let vars: Vec<String> = args.iter().map(|a| self.expr(a)).collect();
                self.call(&v, &ty, t, *func, args, &vars, e.ty);
            }
        }
        v
    }

    fn binary(&mut self, v: &str, ty: &str, op: BinOp, a: &str, b: &str, (lt, out): (DataType, DataType)) {
        let operand = rty(lt);
        let body = match op {
            op if op.is_comparison() => {
                let sym = match op {
                    BinOp::Eq => "==",
                    BinOp::NotEq => "!=",
                    BinOp::Lt => "<",
                    BinOp::LtEq => "<=",
                    BinOp::Gt => ">",
                    _ => ">=",
                };
                format!("match ({a}, {b}) {{ (Some(x), Some(y)) => Some(x {sym} y), _ => None }}")
            }
            BinOp::And => format!(
                "match ({a}, {b}) {{ (Some(false), _) | (_, Some(false)) => Some(false), (Some(true), Some(true)) => Some(true), _ => None }}"
            ),
            BinOp::Or => format!(
                "match ({a}, {b}) {{ (Some(true), _) | (_, Some(true)) => Some(true), (Some(false), Some(false)) => Some(false), _ => None }}"
            ),
            BinOp::Concat => {
                let s = self.fresh("s");
                let _ = writeln!(
                    self.body,
                    "        let {s}: Option<String> = match ({a}, {b}) {{ (Some(x), Some(y)) => Some([x, y].concat()), _ => None }};"
                );
                format!("{s}.as_deref()")
            }
            op if operand == RTy::F64 => {
                let sym = match op {
                    BinOp::Add => "+",
                    BinOp::Sub => "-",
                    BinOp::Mul => "*",
                    BinOp::Div => "/",
                    _ => "%",
                };
                format!("match ({a}, {b}) {{ (Some(x), Some(y)) => Some(x {sym} y), _ => None }}")
            }
            // Integer, decimal and timestamp arithmetic is exact or an error, as the interpreter's.
            op => {
                let zero = |name: &str| {
                    format!("(Some(_), Some(0)) => return Err({}), ", self.error(&format!("k::division_by_zero({name:?})")))
                };
                let (f, zero) = match op {
                    BinOp::Add => ("checked_add", String::new()),
                    BinOp::Sub => ("checked_sub", String::new()),
                    BinOp::Mul => ("checked_mul", String::new()),
                    BinOp::Div => ("checked_div", zero("/")),
                    _ => ("checked_rem", zero("MOD")),
                };
                let fits = match out {
                    DataType::Decimal { .. } | DataType::Timestamp => format!(".filter(|v| k::fits(*v as i128, {}))", type_code(out)),
                    _ => String::new(),
                };
                let overflow = self.error(&format!(
                    "k::overflow(darwin_exec::darwin_plan::BinOp::{op:?}, x as i128, y as i128, {}, {})",
                    type_code(lt),
                    type_code(out)
                ));
                format!(
                    "match ({a}, {b}) {{ {zero}(Some(x), Some(y)) => match x.{f}(y){fits} {{ Some(v) => Some(v), None => \
                     return Err({overflow}) }}, _ => None }}"
                )
            }
        };
        let _ = writeln!(self.body, "        let {v}: {ty} = {body};");
    }

    /// The interpreter's numeric fast paths typed; every other conversion goes through its own
    /// per-value CAST, so results and errors are the same by construction.
    fn cast(&mut self, v: &str, ty: &str, a: &str, from: DataType, to: DataType) {
        use DataType::*;
        // The same list, in the same order, as `eval::cast`; the arithmetic is the same too
        // (a decimal that does not fit its precision is the same error).
        let to_decimal = |from_scale: u8, scale: u8, precision: u8| {
            let call = format!(
                "k::to_decimal(x as i128, {from_scale}, {scale}, {precision}, {}, {})",
                type_code(from),
                type_code(to)
            );
            format!("match {a} {{ Some(x) => Some({}), None => None }}", self.attempt(&call))
        };
        let checked = match (rty(from), to) {
            (RTy::I32, Decimal { scale, precision }) => Some(to_decimal(0, scale, precision)),
            (RTy::I64, Decimal { scale, precision }) if from == BigInt => Some(to_decimal(0, scale, precision)),
            (RTy::I128, Decimal { scale, precision }) if from.scale() <= scale => {
                Some(to_decimal(from.scale(), scale, precision))
            }
            _ => None,
        };
        if let Some(body) = checked.filter(|_| from != to) {
            let _ = writeln!(self.body, "        let {v}: {ty} = {body};");
            return;
        }
        let fast = match (rty(from), to) {
            _ if from == to => Some("x".to_string()),
            (RTy::I32, BigInt) => Some("x as i64".into()),
            (RTy::I32, Double) => Some("x as f64".into()),
            (RTy::I64, Double) if from == BigInt => Some("x as f64".into()),
            (RTy::I128, Double) => Some(format!("x as f64 / 10f64.powi({})", from.scale() as i32)),
            (RTy::I64, BigInt) | (RTy::I64, Timestamp) => Some("x".into()),
            _ => None,
        };
        if let Some(f) = fast {
            let _ = writeln!(self.body, "        let {v}: {ty} = {a}.map(|x| {f});");
            return;
        }
        let val = self.to_value(a, from);
        let out = rty(to);
        let cast = self.attempt(&format!("k::cast_one({val}, {}, {})", type_code(from), type_code(to)));
        let conv = format!("k::out_{}(&{cast}, {})", out.suffix(), type_code(to));
        self.bind_value(v, ty, out, &format!("if {a}.is_none() {{ None }} else {{ {conv} }}"));
    }

    fn to_value(&self, a: &str, t: DataType) -> String {
        match rty(t) {
            RTy::I64 | RTy::I128 => format!("k::val_{}({a}, {})", rty(t).suffix(), type_code(t)),
            r => format!("k::val_{}({a})", r.suffix()),
        }
    }

    /// Binds `v` to a slow-path result; strings are owned there, so they get a holder first.
    fn bind_value(&mut self, v: &str, ty: &str, out: RTy, code: &str) {
        if out == RTy::Str {
            let s = self.fresh("s");
            let _ = writeln!(
                self.body,
                "        let {s}: Option<String> = {code};\n        let {v}: {ty} = {s}.as_deref();"
            );
        } else {
            let _ = writeln!(self.body, "        let {v}: {ty} = {code};");
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn call(&mut self, v: &str, ty: &str, t: RTy, func: Func, args: &[Expr], vars: &[String], out_ty: DataType) {
        match func {
            Func::Coalesce => {
                let chain = vars.iter().skip(1).fold(vars[0].clone(), |acc, x| format!("{acc}.or({x})"));
                let _ = writeln!(self.body, "        let {v}: {ty} = {chain};");
            }
            Func::If => {
                let _ = writeln!(
                    self.body,
                    "        let {v}: {ty} = if {} == Some(true) {{ {} }} else {{ {} }};",
                    vars[0], vars[1], vars[2]
                );
            }
            Func::NullIf => {
                let _ = writeln!(
                    self.body,
                    "        let {v}: {ty} = match ({a}, {b}) {{ (Some(x), Some(y)) if x == y => None, _ => {a} }};",
                    a = vars[0],
                    b = vars[1]
                );
            }
            Func::Lower | Func::Upper if rty(args[0].ty) == RTy::Str => {
                let f = if func == Func::Lower { "to_lowercase" } else { "to_uppercase" };
                self.bind_value(v, ty, RTy::Str, &format!("{}.map(|s| s.{f}())", vars[0]));
            }
            _ => {
                let vals: Vec<String> = args.iter().zip(vars).map(|(a, x)| self.to_value(x, a.ty)).collect();
                let call = self.attempt(&format!(
                    "k::call_one(Func::{func:?}, &[{}], {})",
                    vals.join(", "),
                    type_code(out_ty)
                ));
                let code = format!("k::out_{}(&{call}, {})", t.suffix(), type_code(out_ty));
                self.bind_value(v, ty, t, &code);
            }
        }
    }
}

/// Output column builders of a projection: declarations, per-row push, and finish.
pub fn output_column(j: usize, e: &Expr) -> (String, String, String) {
    let t = rty(e.ty);
    let decl = if t == RTy::Str {
        format!("    let mut o{j} = StrVec::with_capacity(m);\n    let mut ov{j}: Vec<bool> = Vec::with_capacity(m);\n")
    } else {
        format!("    let mut o{j}: Vec<{}> = Vec::with_capacity(m);\n    let mut ov{j}: Vec<bool> = Vec::with_capacity(m);\n", t.name())
    };
    let zero = match t {
        RTy::Bool => "false",
        RTy::F64 => "0.0",
        RTy::Str => "\"\"",
        _ => "0",
    };
    let push = format!("match {{X}} {{ Some(x) => {{ o{j}.push(x); ov{j}.push(true) }} None => {{ o{j}.push({zero}); ov{j}.push(false) }} }}");
    let finish = format!("k::col_{}(o{j}, ov{j})", t.suffix());
    (decl, push, finish)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_literals_cannot_end_the_rust_literal() {
        let hostile = "\"); std::process::exit(3); (\"\\ */ {}\n\u{0}ü";
        let code = value_code(&Value::Str(hostile.into()));
        assert_eq!(code, format!("Value::Str(String::from({hostile:?}))"));
        assert!(!code.contains('\n') && !code.contains('\u{0}'));
        // Every quote inside is escaped: the only unescaped ones delimit the literal.
        let unescaped = code.as_bytes().windows(2).filter(|w| w[1] == b'"' && w[0] != b'\\').count();
        assert_eq!(unescaped, 2, "{code}");
    }

    #[test]
    fn floats_keep_their_exact_bits() {
        for x in [0.1, -0.0, f64::NAN, f64::INFINITY, 1e300] {
            let code = value_code(&Value::Double(x));
            assert!(code.contains(&format!("{:#x}u64", x.to_bits())), "{code}");
        }
    }

    #[test]
    fn comments_stay_on_one_line() {
        let c = comment_text(&format!("a\nb\r*/ {}", "x".repeat(500)));
        assert!(!c.contains('\n') && !c.contains('\r'));
        assert!(c.chars().count() < 200 && c.ends_with('…'));
    }
}
