//! The plan types: logical and physical plans, expressions, the connector catalog's view of
//! tables, and the plan's fingerprint. No planning happens here (that is `darwin-planner`): this
//! crate is what both executors, the code generator and compiled queries read, so a compiled
//! query's binary carries the types, not the planner. The physical plan is serialisable and
//! has a stable fingerprint (checkpoints and the compiled-code cache key on it).

// A panic here is a crash on user input: every `expect` states the invariant that rules it out.
#![warn(clippy::expect_used, clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::expect_used, clippy::unwrap_used))]

pub mod catalog;
pub mod display;
pub mod expr;
pub mod logical;
pub mod physical;

pub use catalog::{ConnectorCatalog, TableDef, WatermarkDef};

/// The canonical JSON text of plan parts, for fingerprints and kernel keys: what the parts
/// compute, without where their expressions were written (`Expr::origin`), so equal plans
/// from differently formatted scripts get equal names.
#[expect(clippy::expect_used, reason = "plans are plain data with string-keyed maps: serialising them cannot fail")]
pub fn canonical_json(parts: &impl serde::Serialize) -> String {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("origin");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(parts).expect("plans always serialise");
    strip(&mut v);
    v.to_string()
}
pub use display::expr_to_string;
pub use expr::{AggCall, AggFunc, BinOp, Expr, ExprKind, Func, Origin};
pub use logical::{JoinKind, JoinType, LogicalPlan, WindowKind};
pub use physical::{
    ExecSettings, Executor, IdlePolicy, PhysNode, PhysicalPlan, Pipeline, SharedPlan, SinkTarget, WindowSpec,
};
