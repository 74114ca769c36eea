//! Identical sub-plans inside one pipeline, computed once and read by each consumer. Nexmark q5
//! counts bids per auction and window on both sides of its join (once for the rows, once for
//! their maximum): sharing that count halves the query's work. Found here, on the physical
//! plan, so the runtime builds each shared sub-plan once and `explain` says so.

use darwin_plan::physical::PhysNode;

/// The largest sub-plans of `root` that occur more than once, each with how often it is read,
/// in the order a pre-order walk meets them first. Only sub-plans that aggregate or join are
/// shared: a shared plain scan saves one copy of each row but makes its readers advance in
/// lockstep, and a join whose other side is a window aggregate then buffers every row until
/// the window closes (Nexmark q7 ran at half speed so). The build sides of lookup joins are
/// left out: every worker reads those whole, apart from the partitioned plan.
pub fn shared_subplans(root: &PhysNode) -> Vec<(&PhysNode, usize)> {
    let mut all = Vec::new();
    collect(root, &mut all);
    let mut out = Vec::new();
    walk(root, &all, &mut out);
    out.retain(|(_, readers)| *readers > 1);
    out
}

/// Inputs that are partitioned across workers (all but a lookup join's build side).
fn partitioned_inputs(node: &PhysNode) -> Vec<&PhysNode> {
    match node {
        PhysNode::LookupJoin { stream, .. } => vec![stream],
        _ => node.children(),
    }
}

fn collect<'a>(node: &'a PhysNode, all: &mut Vec<&'a PhysNode>) {
    all.push(node);
    partitioned_inputs(node).into_iter().for_each(|c| collect(c, all));
}

/// Walks down to the first repeated sub-plans; a sub-plan inside a shared one is read once
/// (by the one computation), so it is not counted again.
fn walk<'a>(node: &'a PhysNode, all: &[&'a PhysNode], out: &mut Vec<(&'a PhysNode, usize)>) {
    if let Some(seen) = out.iter_mut().find(|(s, _)| *s == node) {
        seen.1 += 1;
        return;
    }
    if node.stateful_operators() > 0 && all.iter().filter(|n| **n == node).count() > 1 {
        out.push((node, 1));
        return;
    }
    partitioned_inputs(node).into_iter().for_each(|c| walk(c, all, out));
}

#[cfg(test)]
mod tests {
    use super::*;
    use darwin_common::{DataType, Field, Schema};
    use darwin_plan::catalog::TableDef;
    use darwin_plan::physical::Partitioning;

    fn source(name: &str) -> PhysNode {
        let table =
            TableDef::new(name, Schema::new(vec![Field::new("x", DataType::BigInt)]), "test", Default::default());
        PhysNode::Source { table, partitions: 2 }
    }

    fn exchange(input: PhysNode) -> PhysNode {
        let schema = input.schema().clone();
        PhysNode::Exchange { input: Box::new(input), partitioning: Partitioning::Gather, schema }
    }

    fn aggregate(input: PhysNode) -> PhysNode {
        let schema = input.schema().clone();
        PhysNode::GlobalAggregate { input: Box::new(input), group: vec![], aggs: vec![], schema }
    }

    fn join(left: PhysNode, right: PhysNode) -> PhysNode {
        let schema = left.schema().clone();
        PhysNode::IntervalJoin {
            left: Box::new(left),
            right: Box::new(right),
            left_time: 0,
            right_time: 0,
            lower: 0,
            upper: 0,
            left_keys: vec![],
            right_keys: vec![],
            residual: None,
            schema,
        }
    }

    /// The largest repeated sub-plan is shared, not its parts; different inputs are not, nor
    /// repeated scans without an aggregate or join.
    #[test]
    fn finds_the_largest_repeated_subplans() {
        let scan = exchange(source("a"));
        assert_eq!(shared_subplans(&join(scan.clone(), scan.clone())), vec![]);
        let a = aggregate(exchange(source("a")));
        let plan = join(join(a.clone(), a.clone()), join(a.clone(), source("b")));
        assert_eq!(shared_subplans(&plan), vec![(&a, 3)]);
        let plan = join(join(a.clone(), source("b")), join(a.clone(), source("b")));
        let twice = join(a.clone(), source("b"));
        assert_eq!(shared_subplans(&plan), vec![(&twice, 2)]);
        assert_eq!(shared_subplans(&join(a.clone(), source("b"))), vec![]);
    }
}
