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

pub use catalog::{ColumnRange, ConnectorCatalog, FieldPositions, TableDef, WatermarkDef};

thread_local! {
    /// Set while `canonical_hash` serialises: `Expr::origin` is then left out.
    static CANONICAL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether an expression's origin stays out of its serialised form: when there is none, and
/// always inside `canonical_hash`.
pub(crate) fn skip_origin(origin: &Option<Box<Origin>>) -> bool {
    origin.is_none() || CANONICAL.with(std::cell::Cell::get)
}

/// FNV-1a over the canonical JSON of plan parts, for fingerprints and kernel keys: what the
/// parts compute, without where their expressions were written (`Expr::origin`), so equal
/// plans from differently formatted scripts get equal names. The JSON is hashed as it is
/// written, never held: a plan with a hundred-thousand-term predicate costs no memory here.
#[expect(clippy::expect_used, reason = "plans are plain data with string-keyed maps: serialising them cannot fail")]
pub fn canonical_hash(parts: &impl serde::Serialize) -> u64 {
    struct Fnv(u64);
    impl std::io::Write for Fnv {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 = darwin_common::hash::fnv1a_extend(self.0, buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut h = Fnv(darwin_common::hash::FNV_OFFSET);
    let was = CANONICAL.with(|c| c.replace(true));
    let written = serde_json::to_writer(&mut h, parts);
    CANONICAL.with(|c| c.set(was));
    written.expect("plans always serialise");
    h.0
}
pub use display::expr_to_string;
pub use expr::{AggCall, AggFunc, BinOp, Expr, ExprKind, Func, Origin};
pub use logical::{JoinKind, JoinType, LogicalPlan, WindowKind};
pub use physical::{
    ExecSettings, Executor, IdlePolicy, PhysNode, PhysicalPlan, Pipeline, SharedPlan, SinkTarget, WindowSpec,
};
