//! Incremental capture: a snapshot taken for a checkpoint may refer to the unchanged parts of
//! the operator's state in the last complete checkpoint. Resolved against that checkpoint's
//! bytes, it must equal a full encoding of the same state, at every barrier of a long input,
//! for every stateful operator (a failed checkpoint in between may not be referred to).

use darwin_columnar::codec::Enc;
use darwin_common::{DataType, Value};
use darwin_plan::physical::GroupKey;
use darwin_plan::{AggCall, AggFunc, Expr, JoinType, WindowKind, WindowSpec};
use darwin_runtime::ops::interval_join::{IntervalJoinOp, IntervalJoinSpec};
use darwin_runtime::ops::session_agg::SessionAggOp;
use darwin_runtime::ops::window_agg::{GlobalAggOp, WindowAggOp};
use darwin_runtime::ops::window_join::{WindowJoinOp, WindowJoinSpec};
use darwin_runtime::{Batch, Counters, Msg, Operator, Result};
use std::collections::VecDeque;
use std::sync::Arc;

struct Script(VecDeque<Msg>);

impl Operator for Script {
    fn next(&mut self) -> Result<Option<Msg>> {
        Ok(self.0.pop_front())
    }
}

fn types() -> Vec<DataType> {
    vec![
        DataType::BigInt,
        DataType::Varchar,
        DataType::BigInt,
        DataType::Timestamp,
        DataType::Timestamp,
        DataType::Timestamp,
    ]
}

/// Batches in time order with watermarks, a barrier every third batch (epochs 1, 2, ...).
fn script(seed: u64) -> Vec<Msg> {
    let mut x = seed;
    let mut rnd = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut out = Vec::new();
    for b in 0..90i64 {
        let rows: Vec<Vec<Value>> = (0..150)
            .map(|_| {
                let t = b * 300 + rnd(250) as i64;
                let ws = t - t % 5000;
                let k = if b % 10 < 7 { rnd(40) as i64 } else { 1000 + b * 10 + rnd(10) as i64 };
                vec![
                    Value::BigInt(k),
                    Value::Str(format!("s{}", k % 3)),
                    Value::BigInt(rnd(1000) as i64),
                    Value::Timestamp(t),
                    Value::Timestamp(ws),
                    Value::Timestamp(ws + 5000),
                ]
            })
            .collect();
        out.push(Msg::Batch(Batch::from_rows(&rows, &types())));
        out.push(Msg::Watermark(b * 300 - 1000));
        if b % 3 == 2 {
            out.push(Msg::Barrier(b as u64 / 3 + 1));
        }
    }
    out.push(Msg::Watermark(i64::MAX));
    out
}

fn agg(func: AggFunc, arg: Option<Expr>) -> AggCall {
    let ty = if func == AggFunc::Max { DataType::Varchar } else { DataType::BigInt };
    AggCall { func, arg, distinct: false, filter: None, ty }
}

fn aggs() -> Vec<AggCall> {
    vec![
        agg(AggFunc::Count, None),
        agg(AggFunc::Sum, Some(Expr::column(2, DataType::BigInt))),
        agg(AggFunc::Max, Some(Expr::column(1, DataType::Varchar))),
    ]
}

fn counters() -> Arc<Counters> {
    Arc::new(Counters::default())
}

fn input(m: Vec<Msg>) -> Box<dyn Operator> {
    Box::new(Script(m.into()))
}

/// The messages split between two inputs: batches alternate, the rest goes to both.
fn split(m: Vec<Msg>) -> (Box<dyn Operator>, Box<dyn Operator>) {
    let (mut l, mut r) = (Vec::new(), Vec::new());
    for (i, m) in m.into_iter().enumerate() {
        match m {
            Msg::Batch(_) if i % 4 == 0 => l.push(m),
            Msg::Batch(_) => r.push(m),
            m => {
                l.push(m.clone());
                r.push(m);
            }
        }
    }
    (input(l), input(r))
}

fn build(kind: &str, m: Vec<Msg>) -> Box<dyn Operator> {
    let key = || vec![Expr::column(0, DataType::BigInt)];
    match kind {
        "window aggregate" => Box::new(WindowAggOp::new(
            input(m),
            WindowSpec::Assign { window: WindowKind::Hop { slide: 1000, size: 4000 }, time_col: 3 },
            vec![GroupKey::Expr(Expr::column(0, DataType::BigInt)), GroupKey::WindowEnd],
            aggs(),
            counters(),
        )),
        "GROUP BY" => Box::new(GlobalAggOp::new(
            input(m),
            vec![Expr::column(0, DataType::BigInt), Expr::column(1, DataType::Varchar)],
            aggs(),
            counters(),
        )),
        "session" => Box::new(SessionAggOp::new(
            input(m),
            700,
            3,
            vec![GroupKey::Expr(Expr::column(0, DataType::BigInt)), GroupKey::WindowStart, GroupKey::WindowEnd],
            vec![agg(AggFunc::Max, Some(Expr::column(1, DataType::Varchar)))],
            counters(),
        )),
        "interval join" => {
            let (l, r) = split(m);
            let spec = IntervalJoinSpec {
                left_time: 3,
                right_time: 3,
                lower: -400,
                upper: 400,
                left_keys: key(),
                right_keys: key(),
                residual: None,
                left_types: types(),
                right_types: types(),
            };
            Box::new(IntervalJoinOp::new(l, r, spec, counters()))
        }
        "window join" => {
            let (l, r) = split(m);
            let spec = WindowJoinSpec {
                join_type: JoinType::Inner,
                left_cols: (4, 5),
                right_cols: (4, 5),
                left_keys: key(),
                right_keys: key(),
                residual: None,
                left_types: types(),
                right_types: types(),
            };
            Box::new(WindowJoinOp::new(l, r, spec, counters()))
        }
        k => unreachable!("{k}"),
    }
}

#[test]
fn incremental_snapshots_equal_full_ones_for_every_stateful_operator() {
    for kind in ["window aggregate", "GROUP BY", "session", "interval join", "window join"] {
        let (mut live, mut mirror) = (build(kind, script(99)), build(kind, script(99)));
        let mut durable: Option<(u64, Vec<u8>)> = None;
        let (mut barriers, mut reused) = (0, 0);
        while let Some(m) = live.next().unwrap() {
            let Msg::Barrier(epoch) = m else { continue };
            barriers += 1;
            while !matches!(mirror.next().unwrap(), Some(Msg::Barrier(e)) if e == epoch) {}
            let mut full = Enc::default();
            mirror.snapshot(&mut full);
            let full = full.into_bytes();
            let mut e = Enc::for_checkpoint(Some(epoch), durable.as_ref().map(|d| d.0), 0);
            live.snapshot(&mut e);
            let (bytes, r) = e.finish().resolve(durable.as_ref().map(|(e, b)| (*e, b.as_slice())));
            // Not assert_eq: the states are kilobytes long; the first difference says enough.
            let first = bytes.iter().zip(&full).position(|(a, b)| a != b);
            assert!(
                bytes == full,
                "{kind}: the snapshot at barrier {epoch} differs from a full one ({} vs {} bytes, first difference at {first:?})",
                bytes.len(),
                full.len()
            );
            if epoch == 8 {
                assert_eq!(r, 0, "{kind}: barrier 8 may not refer to barrier 7's failed checkpoint");
            }
            reused += r;
            // Checkpoint 7 fails: it is never the last complete one.
            if epoch != 7 {
                durable = Some((epoch, bytes));
            }
        }
        assert_eq!(barriers, 30, "{kind}");
        // Session state is encoded whole; the others refer to what did not change.
        assert_eq!(reused > 0, kind != "session", "{kind}: {reused} bytes referred to");
    }
}
