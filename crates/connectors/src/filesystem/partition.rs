//! One partition of a file source: a whole file, or one split of it. A file read by `S`
//! partitions is cut into chunks of `split_bytes`; split `s` reads chunks `s, s + S, s + 2S, ...`
//! in order (so its records stay in the file's order, and appending to the file only adds
//! chunks). A chunk's records are those that start in it: a split skips to the first record
//! start at or after its chunk's first byte and reads the record that crosses the chunk's end
//! whole. For CSV, whether a chunk starts inside a quoted field (whose line breaks do not end a
//! record) is found from the parity of the quotes before it: even at every record start, then
//! counted over the other splits' chunks as the split goes; JSON lines hold no raw line break
//! inside a record.

use super::compression::Compression;
use darwin_runtime::{Result, RuntimeError};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// A record longer than this is refused rather than read into memory (an unterminated quote
/// would otherwise take the rest of the file as one field).
const MAX_RECORD_BYTES: usize = 64 << 20;

/// Which chunks of its file a partition reads.
#[derive(Clone, Copy, Debug)]
pub(super) struct Split {
    /// This split's number, `0..of`.
    pub index: u64,
    /// Splits of the file.
    pub of: u64,
    /// Chunk size in bytes.
    pub bytes: u64,
}

impl Split {
    /// The whole file.
    pub const WHOLE: Split = Split { index: 0, of: 1, bytes: u64::MAX };

    fn chunk_of(&self, offset: u64) -> u64 {
        offset / self.bytes
    }

    fn owns(&self, chunk: u64) -> bool {
        chunk % self.of == self.index
    }

    /// The first chunk of this split that starts at or after `offset`'s chunk.
    fn next_chunk(&self, offset: u64) -> u64 {
        let c = self.chunk_of(offset);
        c + (self.index + self.of - c % self.of) % self.of
    }
}

pub(super) struct FilePartition {
    pub path: String,
    reader: Option<BufReader<Box<dyn Read + Send>>>,
    pub split: Split,
    /// Lines read so far (a multi-line record counts each of its lines); whole files only.
    pub line_no: u64,
    /// The position of the next record in the file.
    pub offset: u64,
    /// CRC-32 of the bytes of the records read so far.
    pub crc: crc32fast::Hasher,
    /// How far quotes were counted from the file's start, and whether their number is odd.
    quotes: (u64, bool),
    /// The file's length when opened (None when compressed: the length is not the text's).
    opened_len: Option<u64>,
}

impl FilePartition {
    pub fn open(path: String, split: Split) -> Result<FilePartition> {
        let io = |e| RuntimeError::Io { path: path.clone(), err: e };
        let file = File::open(&path).map_err(io)?;
        let compression = Compression::of(Path::new(&path));
        let opened_len = compression.splittable().then(|| file.metadata().map(|m| m.len()).ok()).flatten();
        let bytes = compression.reader(file).map_err(io)?;
        let reader = Some(BufReader::with_capacity(1 << 16, bytes));
        Ok(FilePartition {
            path,
            reader,
            split,
            line_no: 0,
            offset: 0,
            crc: crc32fast::Hasher::new(),
            quotes: (0, false),
            opened_len,
        })
    }

    fn io(&self, err: std::io::Error) -> RuntimeError {
        RuntimeError::Io { path: self.path.clone(), err }
    }

    /// Whether every record of the partition has been read.
    pub fn is_done(&self) -> bool {
        self.reader.is_none()
    }

    /// Whether this partition is a split of a file read by several.
    pub fn is_split(&self) -> bool {
        self.split.of > 1
    }

    /// Reads the next record's bytes into `buf` (its line breaks included): a line, or for CSV
    /// as many lines as a quoted field spans. Returns the number of the record's first line
    /// (for a split: its byte offset plus one), or None at the end of the partition.
    pub fn next_record(&mut self, csv: bool, buf: &mut Vec<u8>) -> Result<Option<u64>> {
        buf.clear();
        if !self.split.owns(self.split.chunk_of(self.offset)) && !self.advance_to_next_chunk(csv)? {
            self.reader = None;
            return Ok(None);
        }
        let first = if self.is_split() { self.offset + 1 } else { self.line_no + 1 };
        loop {
            let Some(reader) = self.reader.as_mut() else { return Ok(None) };
            let start = buf.len();
            let n = reader.read_until(b'\n', buf).map_err(|e| RuntimeError::Io { path: self.path.clone(), err: e })?;
            if n == 0 {
                self.reader = None;
                self.check_not_shrunk()?;
                return Ok((!buf.is_empty()).then_some(first));
            }
            self.crc.update(&buf[start..]);
            self.offset += n as u64;
            self.line_no += 1;
            if !csv || super::source::csv_record_complete(buf) {
                return Ok(Some(first));
            }
            if buf.len() > MAX_RECORD_BYTES {
                return Err(RuntimeError::Malformed {
                    source_name: self.path.clone(),
                    position: if self.is_split() { format!("byte {first}") } else { format!("line {first}") },
                    column: "*".into(),
                    message: format!("a record longer than {} MiB (an unterminated quote?)", MAX_RECORD_BYTES >> 20),
                });
            }
        }
    }

    /// At the end of the file: an error if it ended before the length it had when opened (it
    /// was truncated or rewritten while read), rather than taking the rest as missing.
    fn check_not_shrunk(&self) -> Result<()> {
        self.check_len(self.offset)
    }

    /// An error if the file, now `now` bytes long, is shorter than when it was opened.
    fn check_len(&self, now: u64) -> Result<()> {
        match self.opened_len {
            Some(len) if now < len => Err(RuntimeError::Connector {
                connector: "filesystem".into(),
                message: format!(
                    "{} shrank while it was read: it had {len} bytes when opened, {now} when read on",
                    self.path
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Moves to the first record start of this split's next chunk that holds one; false at the
    /// end of the file.
    fn advance_to_next_chunk(&mut self, csv: bool) -> Result<bool> {
        if self.reader.is_none() {
            return Ok(false);
        }
        let mut file = File::open(&self.path).map_err(|e| self.io(e))?;
        let len = file.metadata().map_err(|e| self.io(e))?.len();
        self.check_len(len)?;
        // A record start is outside every quoted field: an even number of quotes precede it,
        // so the count goes on from here, over the other splits' chunks only.
        if self.offset > self.quotes.0 {
            self.quotes = (self.offset, false);
        }
        loop {
            let chunk = self.split.next_chunk(self.offset);
            let start = chunk.saturating_mul(self.split.bytes);
            if start >= len {
                return Ok(false);
            }
            let first = self.record_start(&mut file, start, csv)?;
            if first.is_some_and(|f| f < len && self.split.chunk_of(f) == chunk) {
                let first = first.unwrap_or(len);
                file.seek(SeekFrom::Start(first)).map_err(|e| self.io(e))?;
                self.reader = Some(BufReader::with_capacity(1 << 16, Box::new(file)));
                self.offset = first;
                return Ok(true);
            }
            // No record starts in this chunk (one record spans it): try the next one.
            self.offset = (chunk + 1).saturating_mul(self.split.bytes);
        }
    }

    /// The first record start at or after `start` (None past the end of the file): after the
    /// first line break at or after `start - 1` that is outside a quoted field.
    fn record_start(&mut self, file: &mut File, start: u64, csv: bool) -> Result<Option<u64>> {
        if start == 0 {
            return Ok(Some(0));
        }
        let mut quoted = csv && self.quote_parity(file, start - 1)?;
        file.seek(SeekFrom::Start(start - 1)).map_err(|e| self.io(e))?;
        let mut reader = BufReader::with_capacity(1 << 16, &mut *file);
        let mut at = start - 1;
        loop {
            let buf = reader.fill_buf().map_err(|e| RuntimeError::Io { path: self.path.clone(), err: e })?;
            if buf.is_empty() {
                return Ok(None);
            }
            for (i, &b) in buf.iter().enumerate() {
                match b {
                    b'"' if csv => quoted = !quoted,
                    b'\n' if !quoted => return Ok(Some(at + i as u64 + 1)),
                    _ => {}
                }
            }
            let n = buf.len();
            at += n as u64;
            reader.consume(n);
        }
    }

    /// Whether an odd number of quotes precede `end` (then `end` is inside a quoted field):
    /// counted on from where the last call stopped.
    fn quote_parity(&mut self, file: &mut File, end: u64) -> Result<bool> {
        let (mut at, mut odd) = self.quotes;
        if end < at {
            (at, odd) = (0, false);
        }
        file.seek(SeekFrom::Start(at)).map_err(|e| self.io(e))?;
        let mut block = vec![0u8; 1 << 20];
        while at < end {
            let want = (end - at).min(block.len() as u64) as usize;
            let n = file.read(&mut block[..want]).map_err(|e| self.io(e))?;
            if n == 0 {
                break;
            }
            odd ^= memchr::memchr_iter(b'"', &block[..n]).count() % 2 == 1;
            at += n as u64;
        }
        self.quotes = (at, odd);
        Ok(odd)
    }

    /// A partition of the same split reopened at `offset` (a position `offset` returned): the
    /// records before it are read again, to count their lines and checksum them.
    pub fn reopened(&self, offset: u64, csv: bool) -> Result<FilePartition> {
        let mut part = FilePartition::open(self.path.clone(), self.split)?;
        let mut buf = Vec::new();
        while part.offset < offset {
            if part.next_record(csv, &mut buf)?.is_none() {
                break;
            }
        }
        if part.offset != offset {
            return Err(RuntimeError::Connector {
                connector: "filesystem".into(),
                message: format!(
                    "{} changed since the checkpoint: no record starts at byte {offset} where reading stopped",
                    self.path
                ),
            });
        }
        Ok(part)
    }
}
