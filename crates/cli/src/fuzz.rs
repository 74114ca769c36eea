//! Entry points of the fuzz targets (`fuzz/`): arbitrary bytes into the SQL front end, the file
//! decoders, the fixed-width record decoder and the checkpoint readers. Each returns normally
//! on any input (an error is an answer); a panic, an abort or a hang is the bug. The same
//! functions replay the committed corpora in the ordinary test suite (`tests/fuzz_corpora.rs`).

use darwin_columnar::codec::{Dec, Enc};
use darwin_common::{DataType, Field, Schema};
use darwin_connectors::filesystem::FileSource;
use darwin_connectors::records::Layout;
use darwin_plan::{AggCall, AggFunc, Expr, TableDef};
use darwin_runtime::SourceReader;
use darwin_state::group_table::GroupTable;
use darwin_state::State;
use std::path::Path;

/// A fuzz target's entry point.
pub type Target = fn(&[u8]);

/// The fuzz targets, by name (the corpus folders under `fuzz/corpus/` carry the same names).
pub const TARGETS: [(&str, Target); 5] = [
    ("sql", sql),
    ("file_decoder", file_decoder),
    ("columnar", columnar),
    ("records", records),
    ("checkpoint", checkpoint),
];

/// Parses, binds and plans a script (nothing runs). The connectors' checks run too: paths in
/// the script are looked at, not written.
pub fn sql(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = crate::compile(text, &crate::Options { parallelism: Some(2), ..crate::Options::default() });
}

/// Reads `data[1..]` as a file through the filesystem source, with every column type. The first
/// byte picks the format (CSV or JSON), a header line, whether malformed records are skipped,
/// and whether two splits read the file in small chunks.
pub fn file_decoder(data: &[u8]) {
    let Some((&mode, body)) = data.split_first() else { return };
    let path = std::env::temp_dir().join(format!("darwin-fuzz-{}.input", std::process::id()));
    if std::fs::write(&path, body).is_err() {
        return;
    }
    let table = file_table(&path, mode);
    // With bit 3, the file is read by two splits in chunks of 1 to 16 bytes.
    let partitions = if mode & 8 != 0 { 2 } else { 1 };
    if let Ok(mut source) = FileSource::open(&table, partitions) {
        for p in 0..source.partitions() {
            while let Ok(Some(_)) = source.next_batch(p, 7) {}
        }
    }
    let _ = std::fs::remove_file(&path);
}

/// Reads `data[1..]` with every column type as what the first byte picks (its low two bits):
/// a Parquet file, an Arrow IPC file (both through the filesystem source, on two partitions,
/// bit 2 adding a filter's column ranges for Parquet), an Arrow IPC stream (as the arrow-tcp
/// source decodes what a client sends), or a gzip-compressed CSV file.
pub fn columnar(data: &[u8]) {
    let Some((&mode, body)) = data.split_first() else { return };
    if mode & 3 == 2 {
        let _ = darwin_connectors::arrow_tcp::decode_stream(body, &file_table(Path::new(""), 0).schema);
        return;
    }
    let (format, ext) =
        [("parquet", "parquet"), ("arrow", "arrow"), ("", ""), ("csv", "csv.gz")][usize::from(mode & 3)];
    let path = std::env::temp_dir().join(format!("darwin-fuzz-{}.{ext}", std::process::id()));
    if std::fs::write(&path, body).is_err() {
        return;
    }
    let mut table = file_table(&path, 0);
    table.options.insert("format".into(), format.into());
    if mode & 4 != 0 {
        table.ranges = vec![darwin_plan::ColumnRange {
            column: "c0".into(),
            lo: Some((darwin_common::Value::BigInt(i64::from(mode >> 3)), true)),
            hi: None,
        }];
    }
    if let Ok(mut source) = darwin_connectors::filesystem::open_source(&table, 2) {
        for p in 0..source.partitions() {
            while let Ok(Some(_)) = source.next_batch(p, 7) {}
        }
    }
    let _ = std::fs::remove_file(&path);
}

fn file_table(path: &Path, mode: u8) -> TableDef {
    let decimal = DataType::Decimal { precision: 10, scale: 2 };
    let types = [
        DataType::BigInt,
        DataType::Int,
        DataType::Double,
        decimal,
        DataType::Varchar,
        DataType::Timestamp,
        DataType::Boolean,
    ];
    let fields = types.iter().enumerate().map(|(i, t)| Field::new(format!("c{i}"), *t)).collect();
    let format = if mode & 1 == 0 { "csv" } else { "json" };
    let mut options: std::collections::BTreeMap<String, String> = [
        ("path".to_string(), path.display().to_string()),
        ("format".to_string(), format.to_string()),
        (format!("{format}.ignore-parse-errors"), (mode & 2 != 0).to_string()),
    ]
    .into();
    if format == "csv" && mode & 4 != 0 {
        options.insert("csv.header".into(), "true".into());
    }
    options.insert("source.split-bytes".into(), (u64::from(mode >> 4) + 1).to_string());
    TableDef::new("fuzz", Schema::new(fields), "filesystem", options)
}

/// Decodes `data[1..]` as fixed-width records of the layout the first byte picks, every column.
pub fn records(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else { return };
    let Some(layout) = Layout::parse(if pick & 1 == 0 { "78" } else { "64" }) else { return };
    let whole = body.len() - body.len() % layout.record_size();
    let fields: Vec<usize> = (0..layout.columns().len()).collect();
    let _ = layout.decode(&body[..whole], &fields, i64::from(pick >> 1));
}

/// Reads `data` as a checkpoint's manifest (as written, and with a valid checksum line added so
/// the JSON and its checks are reached), as a worker's state file, and as a group table's state.
pub fn checkpoint(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let dir = Path::new("chk-fuzz");
    let _ = darwin_checkpoint::store::parse_manifest(&text, dir);
    let signed = format!("{text}\n{}{:08x}\n", darwin_checkpoint::store::CRC_PREFIX, crc32fast::hash(text.as_bytes()));
    let _ = darwin_checkpoint::store::parse_manifest(&signed, dir);
    let magic = darwin_checkpoint::store::STATE_MAGIC;
    let mut file = if data.starts_with(magic) { Vec::new() } else { magic.to_vec() };
    file.extend_from_slice(data);
    let _ = darwin_checkpoint::store::decode_worker(file, "fuzz");
    let mut table = GroupTable::new(&[DataType::BigInt, DataType::Varchar], &fuzz_aggs());
    if table.restore(&mut Dec::new(data, "fuzz")).is_ok() {
        // What restored must encode again.
        table.snapshot(&mut Enc::default());
    }
}

fn fuzz_aggs() -> Vec<AggCall> {
    let call = |func, arg: Option<Expr>, ty| AggCall { func, arg, distinct: false, filter: None, ty };
    vec![
        call(AggFunc::Count, None, DataType::BigInt),
        call(AggFunc::Sum, Some(Expr::column(0, DataType::BigInt)), DataType::BigInt),
        call(AggFunc::Max, Some(Expr::column(1, DataType::Varchar)), DataType::Varchar),
        call(AggFunc::Avg, Some(Expr::column(0, DataType::BigInt)), DataType::BigInt),
    ]
}
