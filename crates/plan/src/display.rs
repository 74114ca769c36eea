//! How plan expressions read: with the column names of the schema they are evaluated against
//! (`darwin explain`, and the comments of generated code that name the plan node they came from).

use crate::{Expr, ExprKind};
use darwin_common::{Schema, Value};
use std::fmt::Write;

/// Renders an expression with the column names of the schema it is evaluated against.
pub fn expr_to_string(e: &Expr, schema: &Schema) -> String {
    match &e.kind {
        ExprKind::Column(i) => schema.fields.get(*i).map_or_else(|| format!("#{i}"), |f| f.name.clone()),
        ExprKind::Literal(Value::Str(s)) => format!("'{}'", s.replace('\'', "''")),
        ExprKind::Literal(v) => v.to_string(),
        ExprKind::Binary { op, left, right } => {
            format!("({} {} {})", expr_to_string(left, schema), op.symbol(), expr_to_string(right, schema))
        }
        ExprKind::Not(x) => format!("NOT {}", expr_to_string(x, schema)),
        ExprKind::Neg(x) => format!("-{}", expr_to_string(x, schema)),
        ExprKind::IsNull { expr, negated } => {
            format!("{} IS {}NULL", expr_to_string(expr, schema), if *negated { "NOT " } else { "" })
        }
        ExprKind::Cast(x) => format!("CAST({} AS {})", expr_to_string(x, schema), e.ty),
        ExprKind::Case { branches, otherwise } => {
            let mut s = "CASE".to_string();
            for (w, t) in branches {
                let _ = write!(s, " WHEN {} THEN {}", expr_to_string(w, schema), expr_to_string(t, schema));
            }
            if let Some(o) = otherwise {
                let _ = write!(s, " ELSE {}", expr_to_string(o, schema));
            }
            s + " END"
        }
        ExprKind::Like { expr, pattern, negated } => {
            format!("{} {}LIKE '{}'", expr_to_string(expr, schema), if *negated { "NOT " } else { "" }, pattern)
        }
        ExprKind::Call { func: crate::Func::InList, args } => {
            let values: Vec<String> = args[1..].iter().take(8).map(|a| expr_to_string(a, schema)).collect();
            let more = if args.len() > 9 { format!(", ... {} values", args.len() - 1) } else { String::new() };
            format!("{} IN ({}{more})", expr_to_string(&args[0], schema), values.join(", "))
        }
        ExprKind::Call { func: crate::Func::TryCast, args } => {
            format!("TRY_CAST({} AS {})", expr_to_string(&args[0], schema), e.ty)
        }
        ExprKind::Call { func, args } => {
            let a: Vec<String> = args.iter().map(|a| expr_to_string(a, schema)).collect();
            format!("{}({})", func.name(), a.join(", "))
        }
    }
}
