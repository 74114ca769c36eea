//! Arrow IPC files (the "file" format: `'format' = 'arrow'`, as pyarrow's `ipc.new_file` and
//! Feather v2 write them) for the columnar source: a unit is a record batch, found through the
//! file's footer, so any batch can be read without the ones before it.

use super::columnar::{Batches, ColumnarFile, ColumnarSource};
use arrow_ipc::reader::{read_footer_length, FileReader};
use arrow_schema::SchemaRef;
use darwin_plan::TableDef;
use darwin_runtime::Result;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};

/// An Arrow IPC file's path, schema and record batch blocks (offset and body length each).
struct IpcFile {
    path: String,
    schema: SchemaRef,
    blocks: Vec<(i64, i64)>,
}

/// Reads a filesystem table of Arrow IPC files (see `columnar`).
pub fn open(t: &TableDef, partitions: usize) -> Result<ColumnarSource> {
    ColumnarSource::open(t, partitions, open_file)
}

fn open_file(path: &str) -> std::result::Result<Box<dyn ColumnarFile>, String> {
    let not = |e: &dyn std::fmt::Display| format!("{path} is not a readable Arrow IPC file: {e}");
    let mut file = BufReader::new(File::open(path).map_err(|e| format!("{path}: {e}"))?);
    let len = file.get_ref().metadata().map_err(|e| format!("{path}: {e}"))?.len();
    // The footer's blocks are checked before arrow-ipc reads any (it trusts their lengths).
    let blocks = blocks(&mut file, len).map_err(|e| not(&e))?;
    file.rewind().map_err(|e| not(&e))?;
    let schema = FileReader::try_new(&mut file, None).map_err(|e| not(&e))?.schema();
    Ok(Box::new(IpcFile { path: path.to_string(), schema, blocks }))
}

/// The record batch blocks of the file's footer (offset, body length), each checked to lie in
/// the file's `len` bytes, as are the dictionary blocks.
fn blocks(file: &mut BufReader<File>, len: u64) -> std::result::Result<Vec<(i64, i64)>, String> {
    let mut tail = [0u8; 10];
    if len < 10 {
        return Err("shorter than an Arrow file's trailer".into());
    }
    file.seek(SeekFrom::End(-10)).and_then(|_| file.read_exact(&mut tail)).map_err(|e| e.to_string())?;
    let footer_len = read_footer_length(tail).map_err(|e| e.to_string())?;
    if footer_len as u64 + 10 > len {
        return Err(format!("its footer claims {footer_len} bytes, more than the file holds"));
    }
    let mut footer = vec![0u8; footer_len];
    file.seek(SeekFrom::End(-10 - footer_len as i64))
        .and_then(|_| file.read_exact(&mut footer))
        .map_err(|e| e.to_string())?;
    let footer = arrow_ipc::root_as_footer(&footer).map_err(|e| e.to_string())?;
    let inside = |b: &arrow_ipc::Block| {
        let parts = [b.offset(), i64::from(b.metaDataLength()), b.bodyLength()];
        parts.iter().all(|&x| x >= 0)
            && parts.iter().try_fold(0i64, |a, &x| a.checked_add(x)).is_some_and(|end| end as u64 <= len)
    };
    for (what, list) in [("record batch", footer.recordBatches()), ("dictionary", footer.dictionaries())] {
        if let Some(i) = list.iter().flat_map(|l| l.iter()).position(|b| !inside(b)) {
            return Err(format!("{what} {i} lies outside the file"));
        }
    }
    Ok(footer.recordBatches().map(|b| b.iter().map(|b| (b.offset(), b.bodyLength())).collect()).unwrap_or_default())
}

impl ColumnarFile for IpcFile {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn unit_fingerprints(&self) -> Vec<u64> {
        self.blocks.iter().map(|&(offset, body)| (offset as u64).rotate_left(32) ^ body as u64).collect()
    }

    fn unit_name(&self) -> &'static str {
        "record batch"
    }

    fn read(&self, unit: usize, roots: &[usize], skip: usize, _batch: usize) -> std::result::Result<Batches, String> {
        let file = BufReader::new(File::open(&self.path).map_err(|e| format!("{}: {e}", self.path))?);
        let mut reader = FileReader::try_new(file, Some(roots.to_vec())).map_err(|e| e.to_string())?;
        reader.set_index(unit).map_err(|e| e.to_string())?;
        let batch = match reader.next() {
            Some(Ok(rb)) => rb.slice(skip.min(rb.num_rows()), rb.num_rows() - skip.min(rb.num_rows())),
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err(format!("record batch {unit} is missing")),
        };
        Ok(Box::new(std::iter::once(Ok(batch))))
    }
}
