//! Aggregates computed in two steps: partial aggregates over part of the rows, then a merge of
//! the partial rows. Used to pre-aggregate per worker (see `parallel`) and to slice HOP windows:
//! a HOP of size `k * slide` aggregates each row once into its `slide`-long slice, and each
//! window merges its `k` slices, instead of updating `k` overlapping windows per row.

use crate::lower::calc;
use darwin_common::{DataType, Field, Schema};
use darwin_plan::physical::{GroupKey, PhysNode, WindowSpec};
use darwin_plan::{AggCall, AggFunc, BinOp, Expr, ExprKind, WindowKind};

/// Aggregates as partial aggregates: `parts[i]` computes `aggs[i]` (AVG needs a sum and a count).
pub struct Split {
    /// Per original aggregate, the partial aggregates it is computed from (one, or SUM and COUNT for AVG).
    pub parts: Vec<Vec<AggCall>>,
    /// All partial aggregates, `parts` flattened in order: the columns the partial phase outputs.
    pub partial_aggs: Vec<AggCall>,
}

/// The partial aggregates an aggregate is computed from; None when it cannot be merged
/// (DISTINCT, or AVG of a DECIMAL whose rounding a merge would change).
fn partials(a: &AggCall) -> Option<Vec<AggCall>> {
    if a.distinct {
        return None;
    }
    Some(match a.func {
        AggFunc::Count | AggFunc::Sum | AggFunc::Min | AggFunc::Max => vec![a.clone()],
        AggFunc::Avg => {
            let sum_ty = match a.arg.as_ref()?.ty {
                DataType::Int | DataType::BigInt => DataType::BigInt,
                DataType::Double => DataType::Double,
                _ => return None,
            };
            let arg = a.arg.clone()?.cast(sum_ty);
            vec![
                AggCall {
                    func: AggFunc::Sum,
                    arg: Some(arg.clone()),
                    distinct: false,
                    filter: a.filter.clone(),
                    ty: sum_ty,
                },
                AggCall {
                    func: AggFunc::Count,
                    arg: Some(arg),
                    distinct: false,
                    filter: a.filter.clone(),
                    ty: DataType::BigInt,
                },
            ]
        }
    })
}

/// Splits aggregates into partial aggregates a merge can combine; None if any cannot be merged
/// (DISTINCT, or AVG of a DECIMAL).
pub fn split(aggs: &[AggCall]) -> Option<Split> {
    let parts: Vec<Vec<AggCall>> = aggs.iter().map(partials).collect::<Option<_>>()?;
    let partial_aggs = parts.iter().flatten().cloned().collect();
    Some(Split { parts, partial_aggs })
}

/// Group keys in place, then the partial aggregates, named `{prefix}$i` (explain reads them).
pub fn partial_schema(schema: &Schema, group_len: usize, partial_aggs: &[AggCall], prefix: &str) -> Schema {
    let mut fields: Vec<Field> = schema.fields[..group_len].to_vec();
    fields.extend(partial_aggs.iter().enumerate().map(|(i, a)| Field::new(format!("{prefix}${i}"), a.ty)));
    Schema::new(fields)
}

/// Merges partial rows: `input` starts with the group keys and the partial aggregates (laid out
/// as `partial`); its windows are given by `spec`. The result has the aggregate's `schema`.
pub fn merge(
    input: PhysNode,
    partial: &Schema,
    group: &[GroupKey],
    spec: WindowSpec,
    split: &Split,
    aggs: &[AggCall],
    schema: &Schema,
) -> PhysNode {
    let col = |i: usize| Expr::column(i, partial.fields[i].data_type);
    let final_group: Vec<GroupKey> = group
        .iter()
        .enumerate()
        .map(|(i, k)| match k {
            GroupKey::Expr(_) => GroupKey::Expr(col(i)),
            other => other.clone(),
        })
        .collect();
    // Counts and sums add up; minima and maxima of partials are the overall ones.
    let merge_aggs: Vec<AggCall> = split
        .partial_aggs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let func = match p.func {
                AggFunc::Count | AggFunc::Sum => AggFunc::Sum,
                f => f,
            };
            AggCall { func, arg: Some(col(group.len() + i)), distinct: false, filter: None, ty: p.ty }
        })
        .collect();
    let merged_schema = partial_schema(schema, group.len(), &merge_aggs, "merged");
    let merged = PhysNode::WindowAggregate {
        input: Box::new(input),
        spec,
        group: final_group,
        aggs: merge_aggs,
        schema: merged_schema.clone(),
        partial: false,
        kernel: None,
    };
    if split.parts.iter().all(|p| p.len() == 1) {
        // Same layout as the aggregate: rename the columns only.
        return calc(Box::new(merged), None, None, schema.clone());
    }
    // AVG = merged sum / merged count, in the aggregate's own type.
    let m = |i: usize| Expr::column(i, merged_schema.fields[i].data_type);
    let mut project: Vec<Expr> = (0..group.len()).map(m).collect();
    let mut at = group.len();
    for (a, p) in aggs.iter().zip(&split.parts) {
        if p.len() == 1 {
            project.push(m(at));
        } else {
            let (sum, count) = (m(at), m(at + 1));
            let ty = sum.ty;
            let quotient = Expr::binary(BinOp::Div, sum, count.cast(ty), ty);
            project.push(Expr::new(ExprKind::Cast(Box::new(quotient)), a.ty));
        }
        at += p.len();
    }
    calc(Box::new(merged), None, Some(project), schema.clone())
}

/// Rewrites every HOP window aggregate whose aggregates can be merged into slices: a TUMBLE of
/// the slide, then a merge that adds each slice row once to its key's slice and combines a
/// window's `k` slices when it closes (`WindowSpec::Slices`), instead of copying every slice
/// row into the `k` windows that contain it and updating each.
pub fn slice_hops(node: PhysNode) -> PhysNode {
    let node = node.map_inputs(&mut slice_hops);
    let PhysNode::WindowAggregate {
        input,
        spec: WindowSpec::Assign { window: WindowKind::Hop { slide, size }, time_col },
        group,
        aggs,
        schema,
        partial,
        ..
    } = node
    else {
        return node;
    };
    let rebuild = |input| PhysNode::WindowAggregate {
        input,
        spec: WindowSpec::Assign { window: WindowKind::Hop { slide, size }, time_col },
        group: group.clone(),
        aggs: aggs.clone(),
        schema: schema.clone(),
        partial,
        kernel: None,
    };
    let (Some(split), Some(start)) = (split(&aggs), group.iter().position(|k| *k == GroupKey::WindowStart)) else {
        return rebuild(input);
    };
    if size / slide < 2 {
        return rebuild(input);
    }
    let slice_schema = partial_schema(&schema, group.len(), &split.partial_aggs, "slice");
    let slices = PhysNode::WindowAggregate {
        input,
        spec: WindowSpec::Assign { window: WindowKind::Tumble { size: slide }, time_col },
        group: group.clone(),
        aggs: split.partial_aggs.clone(),
        schema: slice_schema.clone(),
        partial: false,
        kernel: None,
    };
    // A slice [a, a + slide) lies in exactly the HOP windows that contain its start a.
    merge(slices, &slice_schema, &group, WindowSpec::Slices { slide, size, start_col: start }, &split, &aggs, &schema)
}
