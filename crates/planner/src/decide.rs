//! The planner's last pass: the decisions consumers would otherwise recompute at run time are
//! made once and recorded in the physical plan, where the fingerprint covers them and
//! `darwin explain` reads them. Per node: the keys of compiled mode's generated kernels. Per
//! pipeline: the sub-plans computed once and read several times, and how far its sources may
//! drift apart. Per plan: how far a join's input may run ahead of the other.

use crate::parallel::{alignment_drift, window_extent};
use crate::share::shared_subplans;
use darwin_plan::logical::{JoinType, WindowKind};
use darwin_plan::physical::{agg_kernel_input, GroupKey};
use darwin_plan::{AggFunc, Expr, ExprKind, PhysNode, PhysicalPlan, SharedPlan, WindowSpec};

/// Records every decision in `plan` (see the module's doc).
pub fn decide(mut plan: PhysicalPlan) -> PhysicalPlan {
    let workers = plan.settings.parallelism.max(1);
    for p in &mut plan.pipelines {
        let root = std::mem::replace(&mut p.root, placeholder());
        p.root = with_kernels(root);
        p.shared =
            shared_subplans(&p.root).into_iter().map(|(n, readers)| SharedPlan { node: n.clone(), readers }).collect();
        p.alignment_drift = alignment_drift(&p.root, workers);
    }
    let roots: Vec<&PhysNode> = plan.pipelines.iter().map(|p| &p.root).collect();
    plan.join_lead = window_extent(&roots);
    plan
}

/// A node to stand in while the root is rebuilt.
fn placeholder() -> PhysNode {
    PhysNode::Source {
        table: darwin_plan::TableDef::new(String::new(), Default::default(), String::new(), Default::default()),
        partitions: 0,
    }
}

/// The node with the kernel keys of it and every node below it.
fn with_kernels(node: PhysNode) -> PhysNode {
    let mut node = node.map_inputs(&mut with_kernels);
    let fused = fused_lookup_key(&node);
    let agg = agg_kernel_key(&node);
    match &mut node {
        PhysNode::Calc { filter, project, kernel, fused_probe, .. } => {
            *kernel = Some(calc_key(filter, project));
            *fused_probe = fused;
        }
        PhysNode::WindowAggregate { kernel, .. } => *kernel = agg,
        _ => {}
    }
    node
}

/// FNV-1a over the canonical JSON of a kernel's defining parts: equal parts, equal keys.
fn json_key(parts: &impl serde::Serialize) -> u64 {
    darwin_plan::canonical_hash(parts)
}

/// Identifies a Calc node's work for compiled mode: FNV-1a over the canonical JSON of its
/// expressions (types included). Equal nodes get equal keys and share one generated kernel.
fn calc_key(filter: &Option<Expr>, project: &Option<Vec<Expr>>) -> u64 {
    json_key(&(filter, project))
}

/// A Calc directly over an inner lookup join on one plain integer or string column without a
/// residual: compiled mode fuses the probe and the Calc into one loop over (stream row, table
/// row) pairs. Returns the key of that fused kernel.
fn fused_lookup_key(node: &PhysNode) -> Option<u64> {
    use darwin_common::types::PhysicalType as P;
    let PhysNode::Calc { input, filter, project, .. } = node else { return None };
    let PhysNode::LookupJoin { stream, join_type, stream_keys, table_keys, residual: None, .. } = &**input else {
        return None;
    };
    let ([sk], [tk]) = (&stream_keys[..], &table_keys[..]) else { return None };
    let plain = matches!((&sk.kind, &tk.kind), (ExprKind::Column(_), ExprKind::Column(_)));
    let typed = sk.ty.physical() == tk.ty.physical() && matches!(sk.ty.physical(), P::I64 | P::I32 | P::Str);
    if *join_type != JoinType::Inner || !plain || !typed {
        return None;
    }
    Some(json_key(&("fused lookup", filter, project, stream_keys, table_keys, stream.schema())))
}

/// A TUMBLE/HOP window aggregate (or one over existing windows) that compiled mode turns into one
/// generated loop from batch to group-table update: at most one integer group key besides the
/// window, and COUNT, or SUM/MIN/MAX/AVG of integers or doubles, without DISTINCT. Other
/// aggregates run the library's generic update in both modes. Returns the kernel's key.
fn agg_kernel_key(node: &PhysNode) -> Option<u64> {
    use darwin_common::types::PhysicalType as P;
    let PhysNode::WindowAggregate { group, aggs, .. } = node else { return None };
    let (input, spec) = agg_kernel_input(node)?;
    if matches!(spec, WindowSpec::Assign { window: WindowKind::Session { .. }, .. }) {
        return None;
    }
    let keys: Vec<&Expr> =
        group.iter().filter_map(|k| if let GroupKey::Expr(e) = k { Some(e) } else { None }).collect();
    let int = |e: &Expr| matches!(e.ty.physical(), P::I64 | P::I32);
    let keys_ok = match keys[..] {
        [] => true,
        [k] => int(k),
        _ => false,
    };
    let aggs_ok = aggs.iter().all(|a| {
        !a.distinct
            && match (&a.func, &a.arg) {
                (AggFunc::Count, _) => true,
                (_, Some(arg)) => matches!(arg.ty.physical(), P::I64 | P::I32 | P::F64),
                (_, None) => false,
            }
    });
    if !keys_ok || !aggs_ok {
        return None;
    }
    Some(json_key(&("window aggregate", &spec, group, aggs, input.schema())))
}
