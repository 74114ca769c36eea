//! Golden files pin the checkpoint format: the state of each stateful operator at a barrier,
//! encoded, must equal the bytes in `tests/golden/`, and restoring those bytes into a new
//! operator must continue to the same results as the operator that was never interrupted.
//! A change to the encoding fails here; it then needs a new `store::FORMAT_VERSION` (old
//! checkpoints are refused, not misread) and regenerated files (`DARWIN_UPDATE_GOLDEN=1`).

use darwin_checkpoint::store;
use darwin_columnar::codec::{Dec, Enc};
use darwin_common::{DataType, Value};
use darwin_plan::physical::GroupKey;
use darwin_plan::{AggCall, AggFunc, Expr, WindowKind, WindowSpec};
use darwin_runtime::ops::interval_join::{IntervalJoinOp, IntervalJoinSpec};
use darwin_runtime::ops::session_agg::SessionAggOp;
use darwin_runtime::ops::window_agg::{GlobalAggOp, WindowAggOp};
use darwin_runtime::{Batch, Counters, Msg, Operator, Result};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

/// An input that replays fixed messages, then ends.
struct Script(VecDeque<Msg>);

impl Operator for Script {
    fn next(&mut self) -> Result<Option<Msg>> {
        Ok(self.0.pop_front())
    }
}

const T0: i64 = 1_672_531_200_000;

fn rows(rows: &[(i64, &str, i64, i64)]) -> Batch {
    let types = [DataType::BigInt, DataType::Varchar, DataType::BigInt, DataType::Timestamp];
    let v: Vec<Vec<Value>> = rows
        .iter()
        .map(|(k, s, x, t)| {
            vec![Value::BigInt(*k), Value::Str(s.to_string()), Value::BigInt(*x), Value::Timestamp(T0 + t)]
        })
        .collect();
    Batch::from_rows(&v, &types)
}

fn input_before() -> Vec<Msg> {
    vec![
        Msg::Batch(rows(&[(1, "a", 10, 100), (2, "b\"q", 20, 1500), (1, "c", 5, 2200)])),
        Msg::Watermark(T0 + 1000),
        Msg::Batch(rows(&[(3, "naïve", -7, 2500), (1, "", 30, 3100)])),
        Msg::Barrier(1),
    ]
}

fn input_after() -> Vec<Msg> {
    vec![Msg::Batch(rows(&[(2, "z", 1, 3900), (1, "y", 2, 4200)])), Msg::Watermark(i64::MAX)]
}

fn agg(func: AggFunc, arg: Option<Expr>, distinct: bool, ty: DataType) -> AggCall {
    AggCall { func, arg, distinct, filter: None, ty }
}

fn window_agg(input: Vec<Msg>) -> Box<dyn Operator> {
    let aggs = vec![
        agg(AggFunc::Count, None, false, DataType::BigInt),
        agg(AggFunc::Sum, Some(Expr::column(2, DataType::BigInt)), false, DataType::BigInt),
        agg(AggFunc::Min, Some(Expr::column(1, DataType::Varchar)), false, DataType::Varchar),
        agg(AggFunc::Count, Some(Expr::column(2, DataType::BigInt)), true, DataType::BigInt),
        agg(AggFunc::Avg, Some(Expr::column(2, DataType::BigInt)), false, DataType::BigInt),
    ];
    Box::new(WindowAggOp::new(
        Box::new(Script(input.into())),
        WindowSpec::Assign { window: WindowKind::Hop { slide: 1000, size: 2000 }, time_col: 3 },
        vec![GroupKey::Expr(Expr::column(0, DataType::BigInt)), GroupKey::WindowEnd],
        aggs,
        Arc::new(Counters::default()),
    ))
}

/// GROUP BY two columns: a group table indexed by hash, whose index the checkpoint holds.
fn global_agg(input: Vec<Msg>) -> Box<dyn Operator> {
    Box::new(GlobalAggOp::new(
        Box::new(Script(input.into())),
        vec![Expr::column(0, DataType::BigInt), Expr::column(1, DataType::Varchar)],
        vec![
            agg(AggFunc::Count, None, false, DataType::BigInt),
            agg(AggFunc::Max, Some(Expr::column(2, DataType::BigInt)), false, DataType::BigInt),
        ],
        Arc::new(Counters::default()),
    ))
}

fn session_agg(input: Vec<Msg>) -> Box<dyn Operator> {
    Box::new(SessionAggOp::new(
        Box::new(Script(input.into())),
        1000,
        3,
        vec![GroupKey::Expr(Expr::column(0, DataType::BigInt)), GroupKey::WindowStart, GroupKey::WindowEnd],
        vec![agg(AggFunc::Max, Some(Expr::column(1, DataType::Varchar)), false, DataType::Varchar)],
        Arc::new(Counters::default()),
    ))
}

fn interval_join(input: Vec<Msg>) -> Box<dyn Operator> {
    // Both sides read the same script split in two: even and odd messages.
    let types = vec![DataType::BigInt, DataType::Varchar, DataType::BigInt, DataType::Timestamp];
    let (mut l, mut r) = (VecDeque::new(), VecDeque::new());
    for m in input {
        if let Msg::Batch(b) = &m {
            l.push_back(Msg::Batch(b.clone()));
            r.push_back(m);
        } else {
            l.push_back(m.clone());
            r.push_back(m);
        }
    }
    let spec = IntervalJoinSpec {
        left_time: 3,
        right_time: 3,
        lower: -500,
        upper: 500,
        left_keys: vec![Expr::column(0, DataType::BigInt)],
        right_keys: vec![Expr::column(0, DataType::BigInt)],
        residual: None,
        left_types: types.clone(),
        right_types: types,
    };
    Box::new(IntervalJoinOp::new(Box::new(Script(l)), Box::new(Script(r)), spec, Arc::new(Counters::default())))
}

/// Runs until the barrier; returns the rows emitted so far and the state at the barrier.
fn until_barrier(op: &mut dyn Operator) -> (Vec<String>, Vec<u8>) {
    let mut out = Vec::new();
    loop {
        match op.next().unwrap() {
            Some(Msg::Barrier(_)) => break,
            Some(Msg::Batch(b)) => out.extend(show(&b)),
            Some(_) => {}
            None => panic!("the input has a barrier"),
        }
    }
    let mut e = Enc::default();
    op.snapshot(&mut e);
    (out, e.buf)
}

fn drain(op: &mut dyn Operator) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(m) = op.next().unwrap() {
        if let Msg::Batch(b) = m {
            out.extend(show(&b));
        }
    }
    out
}

fn show(b: &Batch) -> Vec<String> {
    (0..b.num_rows)
        .map(|i| b.columns.iter().map(|c| format!("{:?}", c.get(i, guess(c)))).collect::<Vec<_>>().join(","))
        .collect()
}

fn guess(c: &darwin_runtime::Column) -> DataType {
    match &c.data {
        darwin_runtime::ColumnData::Str(_) => DataType::Varchar,
        darwin_runtime::ColumnData::Bool(_) => DataType::Boolean,
        darwin_runtime::ColumnData::F64(_) => DataType::Double,
        darwin_runtime::ColumnData::I32(_) => DataType::Int,
        _ => DataType::BigInt,
    }
}

fn golden(name: &str, bytes: &[u8]) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var("DARWIN_UPDATE_GOLDEN").is_ok() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
    }
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (DARWIN_UPDATE_GOLDEN=1 writes it)", path.display()))
}

/// The operator's state at the barrier equals the golden file, and restoring the golden file
/// continues exactly as the uninterrupted operator does.
fn check(name: &str, build: fn(Vec<Msg>) -> Box<dyn Operator>) {
    let mut all = input_before();
    all.extend(input_after());
    let mut whole = build(all);
    let (mut expected, state) = until_barrier(whole.as_mut());
    expected.extend(drain(whole.as_mut()));
    let want = golden(&format!("{name}.state"), &state);
    assert_eq!(state, want, "{name}: the encoding of this state changed");

    let mut first = build(input_before());
    let (mut got, _) = until_barrier(first.as_mut());
    let mut resumed = build(input_after());
    resumed.restore(&mut Dec::new(&want, name)).unwrap();
    got.extend(drain(resumed.as_mut()));
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "{name}: restored from the golden state");
    assert!(!expected.is_empty());
}

#[test]
fn window_aggregate_state_is_pinned() {
    check("window_agg", window_agg);
}

#[test]
fn hash_keyed_group_state_is_pinned() {
    check("global_agg", global_agg);
}

#[test]
fn session_state_is_pinned() {
    check("session_agg", session_agg);
}

#[test]
fn interval_join_state_is_pinned() {
    check("interval_join", interval_join);
}

#[test]
fn state_file_and_manifest_are_pinned() {
    let mut states = store::WorkerStates::new();
    states.insert(0, vec![1, 2, 3].into());
    states.insert(4, b"state".to_vec().into());
    let bytes = store::encode_worker(&states);
    assert_eq!(bytes, golden("worker.state", &bytes));
    let m = store::Manifest {
        format: store::FORMAT_VERSION,
        darwin_version: "0.1.0".into(),
        epoch: 12,
        fingerprint: "00000000deadbeef".into(),
        plan: "Pipeline 1 -> out\n  Source t".into(),
        parallelism: 2,
        finished: false,
        created_unix_ms: 1_700_000_000_000,
        state_bytes: 8,
        files: vec![store::FileEntry { name: "worker-0.state".into(), bytes: 39, crc32: 0x1234_5678 }],
        sinks: vec![store::SinkCommit {
            target: "/data/out.csv".into(),
            committed: 100,
            pending: vec![darwin_checkpoint::StagedFile {
                target: "/data/out.csv".into(),
                staged: "/ckpt/staging/out-0-w0-e0000000012.part".into(),
                bytes: 20,
                dir: None,
            }],
        }],
    };
    let text = store::manifest_text(&m);
    let want = golden("manifest.json", text.as_bytes());
    assert_eq!(text.as_bytes(), want.as_slice());
    assert_eq!(store::parse_manifest(&text, std::path::Path::new("golden")).unwrap(), m);
}
