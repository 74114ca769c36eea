//! Sources read only the columns their query uses. A generator declares every column of its
//! table, but Nexmark q5 needs two of a bid's seven (the strings are most of its 184 bytes):
//! a source under an operator whose output does not pass its input's columns through (a
//! projection, an aggregate) is narrowed to the columns that operator reads, and the operator's
//! column references are renumbered. Connectors that find columns by name are asked for fewer;
//! CSV files, read by position, are told where the kept columns are (`TableDef::positions`) and
//! skip the other fields.

use darwin_common::Schema;
use darwin_plan::catalog::{ConnectorCatalog, FieldPositions, TableDef, WatermarkDef};
use darwin_plan::physical::{GroupKey, PhysNode, WindowSpec};
use darwin_plan::{Expr, ExprKind};

/// `root` with every narrowable source narrowed.
pub fn prune_sources(root: PhysNode, catalog: &dyn ConnectorCatalog) -> PhysNode {
    let node = root.map_inputs(&mut |c| prune_sources(c, catalog));
    let Some(used) = used_columns(&node) else { return node };
    let narrowed = match node.children().as_slice() {
        [PhysNode::Source { table, partitions }]
            if catalog.finds_columns_by_name(table) || catalog.reads_by_position(table) =>
        {
            let by_position = catalog.reads_by_position(table);
            narrow(table, used, by_position)
                .map(|(table, keep)| (PhysNode::Source { table, partitions: *partitions }, keep))
        }
        [calc @ PhysNode::Calc { project: Some(_), .. }] => narrow_calc(calc, used),
        _ => None,
    };
    let Some((source, keep)) = narrowed else { return node };
    #[expect(clippy::expect_used, reason = "narrow and narrow_calc keep every used column")]
    let new = |c: usize| keep.iter().position(|k| *k == c).expect("every used column is kept");
    renumber(node, source, &new)
}

/// Input columns read by an operator whose output is built from expressions over its input
/// (so its input can be narrowed); None for operators that pass input columns through.
fn used_columns(node: &PhysNode) -> Option<Vec<usize>> {
    let agg_exprs = |aggs: &[darwin_plan::AggCall]| -> Vec<Expr> {
        aggs.iter().flat_map(|a| a.arg.iter().chain(a.filter.iter())).cloned().collect()
    };
    let (mut used, exprs): (Vec<usize>, Vec<Expr>) = match node {
        PhysNode::Calc { filter, project: Some(project), .. } => {
            (vec![], filter.iter().chain(project).cloned().collect())
        }
        PhysNode::WindowAggregate { spec, group, aggs, .. } => {
            let cols = match spec {
                WindowSpec::Assign { time_col, .. } => vec![*time_col],
                WindowSpec::Existing { start_col, end_col } => vec![*start_col, *end_col],
                WindowSpec::Slices { start_col, .. } => vec![*start_col],
            };
            let keys = group.iter().filter_map(|k| if let GroupKey::Expr(e) = k { Some(e.clone()) } else { None });
            (cols, keys.chain(agg_exprs(aggs)).collect())
        }
        PhysNode::GlobalAggregate { group, aggs, .. } => {
            (vec![], group.iter().cloned().chain(agg_exprs(aggs)).collect())
        }
        _ => return None,
    };
    exprs.iter().for_each(|e| e.visit_columns(&mut |c| used.push(c)));
    Some(used)
}

/// The table with only the `used` columns and those its watermark reads (at least one column,
/// so batches keep their row count), and the kept old column numbers in order; None when every
/// column is used.
fn narrow(table: &TableDef, mut used: Vec<usize>, by_position: bool) -> Option<(TableDef, Vec<usize>)> {
    if let Some(w) = &table.watermark {
        used.push(w.column);
        w.expr.visit_columns(&mut |c| used.push(c));
    }
    used.sort_unstable();
    used.dedup();
    if used.is_empty() {
        used.push(0);
    }
    if used.len() >= table.schema.len() {
        return None;
    }
    #[expect(clippy::expect_used, reason = "used_columns includes the watermark's columns")]
    let new = |c: usize| used.iter().position(|k| *k == c).expect("the watermark's columns are kept");
    let fields = used.iter().map(|c| table.schema.fields[*c].clone()).collect();
    let watermark =
        table.watermark.as_ref().map(|w| WatermarkDef { column: new(w.column), expr: w.expr.map_columns(&new) });
    // A source read by position reads the kept columns from their fields in the full record.
    let positions = by_position.then(|| match &table.positions {
        Some(p) => FieldPositions { width: p.width, columns: used.iter().map(|c| p.columns[*c]).collect() },
        None => FieldPositions { width: table.schema.len(), columns: used.clone() },
    });
    Some((TableDef { schema: Schema::new(fields), watermark, positions, ..table.clone() }, used))
}

/// A projection without the outputs its reader leaves unused, and the kept output numbers in
/// order; None when all are used. Only column references and literals are dropped: another
/// expression may fail on some row, and dropping it would hide the error. (YSB's aggregate reads
/// the campaign and the time of its view, not the ad the join found them by.)
fn narrow_calc(calc: &PhysNode, mut used: Vec<usize>) -> Option<(PhysNode, Vec<usize>)> {
    let PhysNode::Calc { input, filter, project: Some(project), schema, .. } = calc else { return None };
    used.sort_unstable();
    used.dedup();
    let keep: Vec<usize> = (0..project.len())
        .filter(|c| used.contains(c) || !matches!(project[*c].kind, ExprKind::Column(_) | ExprKind::Literal(_)))
        .collect();
    if keep.len() == project.len() || keep.is_empty() {
        return None;
    }
    let calc = crate::lower::calc(
        input.clone(),
        filter.clone(),
        Some(keep.iter().map(|c| project[*c].clone()).collect()),
        Schema::new(keep.iter().map(|c| schema.fields[*c].clone()).collect()),
    );
    Some((calc, keep))
}

/// The operator reading `source` instead of its old input, its column references renumbered.
fn renumber(node: PhysNode, source: PhysNode, new: &dyn Fn(usize) -> usize) -> PhysNode {
    let input = Box::new(source);
    let aggs_of = |aggs: Vec<darwin_plan::AggCall>| -> Vec<darwin_plan::AggCall> {
        aggs.into_iter()
            .map(|a| darwin_plan::AggCall {
                arg: a.arg.map(|e| e.map_columns(new)),
                filter: a.filter.map(|e| e.map_columns(new)),
                ..a
            })
            .collect()
    };
    match node {
        PhysNode::Calc { filter, project, schema, .. } => crate::lower::calc(
            input,
            filter.map(|e| e.map_columns(new)),
            project.map(|p| p.iter().map(|e| e.map_columns(new)).collect()),
            schema,
        ),
        PhysNode::WindowAggregate { spec, group, aggs, schema, partial, .. } => PhysNode::WindowAggregate {
            input,
            partial,
            kernel: None,
            spec: match spec {
                WindowSpec::Assign { window, time_col } => WindowSpec::Assign { window, time_col: new(time_col) },
                WindowSpec::Existing { start_col, end_col } => {
                    WindowSpec::Existing { start_col: new(start_col), end_col: new(end_col) }
                }
                WindowSpec::Slices { slide, size, start_col } => {
                    WindowSpec::Slices { slide, size, start_col: new(start_col) }
                }
            },
            group: group
                .into_iter()
                .map(|k| match k {
                    GroupKey::Expr(e) => GroupKey::Expr(e.map_columns(new)),
                    other => other,
                })
                .collect(),
            aggs: aggs_of(aggs),
            schema,
        },
        PhysNode::GlobalAggregate { group, aggs, schema, .. } => PhysNode::GlobalAggregate {
            input,
            group: group.iter().map(|e| e.map_columns(new)).collect(),
            aggs: aggs_of(aggs),
            schema,
        },
        other => unreachable!("only operators with used_columns are renumbered: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use darwin_common::{DataType, Field};
    use darwin_plan::{AggCall, AggFunc, WindowKind};

    struct Catalog(bool);

    impl ConnectorCatalog for Catalog {
        fn validate(&self, _: &TableDef) -> Result<(), String> {
            Ok(())
        }
        fn is_bounded(&self, _: &TableDef) -> bool {
            true
        }
        fn is_sink(&self, _: &TableDef) -> bool {
            false
        }
        fn partitions(&self, _: &TableDef, p: usize) -> usize {
            p
        }
        fn finds_columns_by_name(&self, _: &TableDef) -> bool {
            self.0
        }
    }

    /// A MAX(price) per window over a four-column table with a watermark on its time: the source
    /// keeps price and the time, and the aggregate reads them at their new positions. A source
    /// read by position is left whole.
    #[test]
    fn sources_keep_only_the_columns_read() {
        let ty = [DataType::BigInt, DataType::Varchar, DataType::BigInt, DataType::Timestamp];
        let fields =
            ["auction", "extra", "price", "date_time"].iter().zip(ty).map(|(n, t)| Field::new(*n, t)).collect();
        let time = Expr::column(3, DataType::Timestamp);
        let table = TableDef {
            name: "bid".into(),
            schema: Schema::new(fields),
            connector: "nexmark".into(),
            options: Default::default(),
            watermark: Some(WatermarkDef { column: 3, expr: time }),
            positions: None,
            ranges: Vec::new(),
            partition_keys: Vec::new(),
        };
        let max = AggCall {
            func: AggFunc::Max,
            arg: Some(Expr::column(2, DataType::BigInt)),
            distinct: false,
            filter: None,
            ty: DataType::BigInt,
        };
        let plan = PhysNode::WindowAggregate {
            input: Box::new(PhysNode::Source { table: table.clone(), partitions: 2 }),
            spec: WindowSpec::Assign { window: WindowKind::Tumble { size: 10 }, time_col: 3 },
            group: vec![GroupKey::WindowStart, GroupKey::WindowEnd],
            aggs: vec![max],
            schema: Schema::new(vec![]),
            partial: false,
            kernel: None,
        };
        assert_eq!(prune_sources(plan.clone(), &Catalog(false)), plan);
        let PhysNode::WindowAggregate { input, spec, aggs, .. } = prune_sources(plan, &Catalog(true)) else {
            panic!("the aggregate stays")
        };
        let PhysNode::Source { table: narrowed, .. } = *input else { panic!("its input stays a source") };
        let names: Vec<&str> = narrowed.schema.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["price", "date_time"]);
        assert_eq!(narrowed.watermark.map(|w| (w.column, w.expr.as_column())), Some((1, Some(1))));
        assert!(matches!(spec, WindowSpec::Assign { time_col: 1, .. }));
        assert_eq!(aggs[0].arg.as_ref().and_then(Expr::as_column), Some(0));
    }

    /// A projection under an aggregate loses the column references the aggregate does not read
    /// (YSB's ad), keeps an expression that may fail even if unread, and the aggregate reads the
    /// rest at their new positions.
    #[test]
    fn projections_drop_unread_columns() {
        let big = |i| Expr::column(i, DataType::BigInt);
        let input = PhysNode::Source {
            table: TableDef::new(
                "t",
                Schema::new(vec![Field::new("a", DataType::BigInt); 3]),
                "ysb",
                Default::default(),
            ),
            partitions: 1,
        };
        let div = Expr::binary(darwin_plan::BinOp::Div, big(0), big(1), DataType::BigInt);
        let project = vec![big(0), big(1), div, Expr::column(2, DataType::Timestamp)];
        let names = ["ad", "campaign", "ratio", "time"];
        let types = [DataType::BigInt, DataType::BigInt, DataType::BigInt, DataType::Timestamp];
        let calc = PhysNode::Calc {
            input: Box::new(input),
            filter: None,
            project: Some(project),
            schema: Schema::new(names.iter().zip(types).map(|(n, t)| Field::new(*n, t)).collect()),
            kernel: None,
            fused_probe: None,
        };
        let plan = PhysNode::WindowAggregate {
            input: Box::new(calc),
            spec: WindowSpec::Assign { window: WindowKind::Tumble { size: 10 }, time_col: 3 },
            group: vec![GroupKey::WindowStart, GroupKey::Expr(big(1))],
            aggs: vec![],
            schema: Schema::new(vec![]),
            partial: false,
            kernel: None,
        };
        let PhysNode::WindowAggregate { input, spec, group, .. } = prune_sources(plan, &Catalog(false)) else {
            panic!("the aggregate stays")
        };
        let PhysNode::Calc { schema, .. } = *input else { panic!("its input stays a projection") };
        let names: Vec<&str> = schema.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["campaign", "ratio", "time"]);
        assert!(matches!(spec, WindowSpec::Assign { time_col: 2, .. }));
        assert!(matches!(&group[1], GroupKey::Expr(e) if e.as_column() == Some(0)));
    }
}
