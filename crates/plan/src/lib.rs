//! Logical and physical query plans. The physical plan is what both executors run: it is
//! serialisable and has a stable fingerprint (checkpoints and the compiled-code cache key on it).

pub mod catalog;
pub mod decompose;
pub mod explain;
pub mod expr;
pub mod logical;
pub mod optimize;
pub mod parallel;
pub mod physical;
pub mod prune;
pub mod share;

pub use catalog::{ConnectorCatalog, TableDef, WatermarkDef};
pub use expr::{AggCall, AggFunc, BinOp, Expr, ExprKind, Func};
pub use logical::{JoinKind, JoinType, LogicalPlan, WindowKind};
pub use physical::{ExecSettings, PhysNode, PhysicalPlan, Pipeline, SinkTarget, WindowSpec};
