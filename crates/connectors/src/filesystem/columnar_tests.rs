//! The columnar source and writer, Parquet and Arrow IPC: rows of every type and NULLs written
//! by Darwin's writer come back equal, dealt over any number of partitions (each row once, each
//! partition in file order), and a partition reopened at any offset it reported reads on as
//! before, with the same checksum.

use super::*;
use crate::filesystem::columnar_writer::ColumnarWriter;
use darwin_common::{DataType, Field, Value};
use std::collections::BTreeMap;
use std::fs::File;

fn schema() -> Schema {
    Schema::new(vec![
        Field::new("id", DataType::BigInt),
        Field::new("i", DataType::Int),
        Field::new("s", DataType::Varchar),
        Field::new("d", DataType::Double),
        Field::new("m", DataType::Decimal { precision: 20, scale: 3 }),
        Field::new("t", DataType::Timestamp),
        Field::new("b", DataType::Boolean),
    ])
}

fn table(path: &std::path::Path, schema: Schema, rows_per_group: usize) -> TableDef {
    let mut options = BTreeMap::new();
    let arrow = path.extension().is_some_and(|e| e == "arrow");
    options.insert("path".to_string(), path.display().to_string());
    options.insert("format".to_string(), if arrow { "arrow" } else { "parquet" }.to_string());
    options.insert("parquet.row-group-rows".to_string(), rows_per_group.to_string());
    TableDef::new("t", schema, "filesystem", options)
}

fn row(id: i64, rnd: &mut impl FnMut() -> u64) -> Vec<Value> {
    let null = |rnd: &mut dyn FnMut() -> u64| rnd().is_multiple_of(7);
    let mut v = vec![Value::BigInt(id)];
    v.push(if null(rnd) { Value::Null } else { Value::Int(rnd() as i32) });
    v.push(if null(rnd) {
        Value::Null
    } else {
        Value::Str(["", "é", "a,b", "long string here"][(rnd() % 4) as usize].into())
    });
    v.push(if null(rnd) { Value::Null } else { Value::Double(rnd() as f64 / 7.0) });
    v.push(if null(rnd) { Value::Null } else { Value::Decimal((rnd() % 1_000_000_000) as i128 - 500_000_000, 3) });
    v.push(if null(rnd) { Value::Null } else { Value::Timestamp((rnd() % (1 << 41)) as i64 - (1 << 40)) });
    v.push(if null(rnd) { Value::Null } else { Value::Bool(rnd().is_multiple_of(2)) });
    v
}

/// Writes `n` random rows in batches of up to 37 rows; returns them.
fn write(t: &TableDef, n: i64, rnd: &mut impl FnMut() -> u64) -> Vec<Vec<Value>> {
    let path = std::path::PathBuf::from(t.option("path").unwrap());
    let rows: Vec<Vec<Value>> = (0..n).map(|id| row(id, rnd)).collect();
    let mut w =
        ColumnarWriter::new(t, File::create(&path).unwrap(), &path, t.option("format") == Some("arrow")).unwrap();
    for chunk in rows.chunks(37) {
        w.write(&Batch::from_rows(chunk, &t.schema.types()), &path).unwrap();
    }
    w.finish(&path).unwrap();
    rows
}

/// The partition's rows, and after each batch its offset and the rows read so far.
fn drain(src: &mut ColumnarSource, p: usize, batch: usize, types: &[DataType]) -> (Vec<Vec<Value>>, Vec<(u64, usize)>) {
    let (mut rows, mut offsets) = (Vec::new(), Vec::new());
    while let Some(b) = src.next_batch(p, batch).unwrap() {
        assert!(b.num_rows <= batch);
        rows.extend((0..b.num_rows).map(|i| b.row(i, types)));
        offsets.push((src.offset(p), rows.len()));
    }
    (rows, offsets)
}

fn open(t: &TableDef, partitions: usize) -> Result<ColumnarSource> {
    match t.option("format") {
        Some("arrow") => super::super::arrow_file::open(t, partitions),
        _ => super::super::parquet::open(t, partitions),
    }
}

#[test]
fn units_are_dealt_to_partitions_and_replay_from_any_offset() {
    let dir = std::env::temp_dir().join(format!("darwin-parquet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rnd = darwin_common::xorshift(0xbeef);
    let types = schema().types();
    for case in 0..16 {
        let group = 1 + (rnd() % 50) as usize;
        let ext = if case % 2 == 0 { "parquet" } else { "arrow" };
        let t = table(&dir.join(format!("f{case}.{ext}")), schema(), group);
        let written = write(&t, (rnd() % 400) as i64, &mut rnd);
        let parts = 1 + (rnd() % 4) as usize;
        let mut src = open(&t, parts).unwrap();
        let mut all = Vec::new();
        for p in 0..parts {
            let batch = 1 + (rnd() % 60) as usize;
            let (rows, offsets) = drain(&mut src, p, batch, &types);
            assert!(
                rows.windows(2).all(|w| w[0][0].as_i64() < w[1][0].as_i64()),
                "case {case}: partition {p} out of order"
            );
            if let Some(&(at, read)) = offsets.get((rnd() % (offsets.len() as u64 + 1)) as usize) {
                let mut again = open(&t, parts).unwrap();
                again.seek(p, at).unwrap();
                assert_eq!(again.check(p), src_check_at(&t, parts, p, at), "case {case}: checksum at {at}");
                let rest = drain(&mut again, p, batch, &types).0;
                assert_eq!(rest[..], rows[read..], "case {case}: partition {p} from {at}");
            }
            all.extend(rows);
        }
        all.sort_by_key(|r| r[0].as_i64());
        assert_eq!(all, written, "case {case}: {parts} partitions of {group}-row groups");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The checksum of a partition read up to `at` by reading, not seeking.
fn src_check_at(t: &TableDef, parts: usize, p: usize, at: u64) -> u64 {
    let mut src = open(t, parts).unwrap();
    while src.offset(p) < at {
        src.next_batch(p, 1).unwrap();
    }
    src.check(p)
}

#[test]
fn a_missing_column_or_a_type_that_does_not_fit_names_the_file() {
    let dir = std::env::temp_dir().join(format!("darwin-parquet-err-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rnd = darwin_common::xorshift(3);
    let t = table(&dir.join("a.parquet"), schema(), 10);
    write(&t, 20, &mut rnd);
    let err = |fields: Vec<Field>| open(&table(&dir.join("a.parquet"), Schema::new(fields), 10), 1);
    let missing = err(vec![Field::new("nope", DataType::BigInt)]).err().unwrap().to_string();
    assert!(missing.contains("a.parquet has no column 'nope' (its columns: id, i, s, d, m, t, b)"), "{missing}");
    let wrong = err(vec![Field::new("s", DataType::BigInt)]).err().unwrap().to_string();
    assert!(wrong.contains("column 's' is BIGINT but") && wrong.contains("stores it as Utf8"), "{wrong}");
    // Narrower integers fit where every value does; the wrong case of a name still finds it.
    let narrow = err(vec![Field::new("ID", DataType::Int)]);
    assert!(narrow.unwrap().next_batch(0, 100).unwrap().is_some());
    std::fs::write(dir.join("b.parquet"), b"id,i\n1,2\n").unwrap();
    let not = open(&table(&dir.join("b.parquet"), schema(), 10), 1).err().unwrap().to_string();
    assert!(not.contains("b.parquet is not a readable Parquet file"), "{not}");
    let _ = std::fs::remove_dir_all(&dir);
}
