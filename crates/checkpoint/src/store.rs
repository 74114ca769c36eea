//! The checkpoint directory. Layout:
//!
//! ```text
//! DIR/chk-0000000012/manifest.json    what the checkpoint holds, with a CRC32 of every file
//! DIR/chk-0000000012/worker-0.state   the encoded state of worker 0's operators
//! DIR/chk-0000000013.tmp/             a checkpoint being written (ignored, removed)
//! DIR/staging/                        sink output of epochs not yet committed
//! ```
//!
//! A checkpoint is written into a `.tmp` directory (every file fsynced), the manifest last, and
//! then renamed into place, with the parent directory fsynced: a directory named `chk-N` is
//! complete unless damaged afterwards, and damage is caught by the checksums (the manifest
//! carries its own on its last line).

use crate::error::{CheckpointError, Result};
use crate::StagedFile;
use darwin_columnar::codec::{Dec, Enc, Encoded, Source};

pub use crate::error::io_err;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Version of the layout and of the state encoding; a checkpoint of another version is refused.
/// 3: keys go to workers by a new partitioning hash (`ops::partition_hash`).
/// 4: a source's state holds, with each partition's offset, a checksum of what it consumed.
pub const FORMAT_VERSION: u32 = 4;
/// The first bytes of every worker state file.
pub const STATE_MAGIC: &[u8; 8] = b"DARWINST";
/// The start of a manifest's last line, before the CRC32 of the JSON above it.
pub const CRC_PREFIX: &str = "crc32 ";

/// What a checkpoint holds (`manifest.json`): which plan and run wrote it, its state files with their
/// checksums, and the sink output it commits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT_VERSION`] of the Darwin that wrote it; another version is refused.
    pub format: u32,
    /// The version of the Darwin that wrote it (informational).
    pub darwin_version: String,
    /// The checkpoint's epoch: it holds state as of that epoch's barriers (or of the end of the run).
    pub epoch: u64,
    /// The physical plan's fingerprint (hex) and a readable form of it, to name what changed.
    pub fingerprint: String,
    /// The readable plan (`CheckpointConfig::plan_text`), to name the first changed line on restore.
    pub plan: String,
    /// The number of workers; state is partitioned by worker, so a restore needs the same number.
    pub parallelism: usize,
    /// Every pipeline had ended: the query ran to completion.
    pub finished: bool,
    /// Wall-clock time the manifest was made, in ms since the Unix epoch.
    pub created_unix_ms: u64,
    /// Bytes of encoded operator state.
    pub state_bytes: u64,
    /// The state files, one per worker, in worker order.
    pub files: Vec<FileEntry>,
    /// Per sink output file: its length before this checkpoint's pending output, and the
    /// staged output that this checkpoint commits.
    pub sinks: Vec<SinkCommit>,
}

/// A state file of a checkpoint, as the manifest records it for verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The file name inside the checkpoint directory (no path separators).
    pub name: String,
    /// The file's length in bytes.
    pub bytes: u64,
    /// The CRC32 of the file's contents.
    pub crc32: u32,
}

/// One sink output file as a checkpoint leaves it: recovery makes it exactly `committed` plus the
/// pending bytes long.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SinkCommit {
    /// The output file.
    pub target: PathBuf,
    /// Its length in bytes before this checkpoint's pending output.
    pub committed: u64,
    /// The staged output this checkpoint commits, appended in order.
    pub pending: Vec<StagedFile>,
}

/// Operator states of one worker: operator id → encoded state.
pub type WorkerStates = BTreeMap<usize, StateBytes>;

/// One operator's encoded state: ranges of shared buffers (a state file read once, or what
/// the operator sent), so handing states to workers and carrying an ended operator's state into
/// every later checkpoint copies nothing; and ranges of the same operator's state in the last
/// complete checkpoint, for chunks the operator did not encode again.
#[derive(Clone, Debug, Default)]
pub struct StateBytes {
    parts: Vec<Part>,
}

#[derive(Clone, Debug)]
enum Part {
    Slice { buf: std::sync::Arc<Buffer>, start: usize, end: usize },
    Prev { epoch: u64, offset: u64, len: u64 },
}

impl StateBytes {
    fn slice(buf: &std::sync::Arc<Buffer>, start: usize, end: usize) -> StateBytes {
        StateBytes { parts: vec![Part::Slice { buf: buf.clone(), start, end }] }
    }

    /// The state's length in bytes, pieces from the last checkpoint included.
    pub fn len(&self) -> u64 {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Slice { start, end, .. } => (end - start) as u64,
                Part::Prev { len, .. } => *len,
            })
            .sum()
    }

    /// Whether the state has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes taken unchanged from the last complete checkpoint.
    pub fn reused(&self) -> u64 {
        self.parts.iter().map(|p| if let Part::Prev { len, .. } = p { *len } else { 0 }).sum()
    }

    /// The bytes, when they are all in memory in one piece: a state read from a checkpoint,
    /// or one encoded whole.
    pub fn as_slice(&self) -> Option<&[u8]> {
        match self.parts.as_slice() {
            [] => Some(&[]),
            [Part::Slice { buf, start, end }] => Some(&buf[*start..*end]),
            _ => None,
        }
    }
}

/// Where states live: in memory (sent by operators) or in a state file mapped read-only. A
/// restore maps its files rather than reading them: the page cache already holds them, and
/// copying gigabytes into fresh memory costs more in page faults than the rest of the restore.
#[derive(Debug)]
enum Buffer {
    Heap(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl Default for Buffer {
    fn default() -> Self {
        Buffer::Heap(Vec::new())
    }
}

impl std::ops::Deref for Buffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Buffer::Heap(v) => v,
            Buffer::Mapped(m) => m,
        }
    }
}

impl From<Vec<u8>> for StateBytes {
    fn from(v: Vec<u8>) -> Self {
        let end = v.len();
        StateBytes::slice(&std::sync::Arc::new(Buffer::Heap(v)), 0, end)
    }
}

/// Runs the deferred encodings (on the coordinator's thread, which converts).
impl From<Encoded> for StateBytes {
    fn from(e: Encoded) -> Self {
        let end = e.buf.len();
        let buf = std::sync::Arc::new(Buffer::Heap(e.buf));
        let mut parts = Vec::with_capacity(2 * e.inserts.len() + 1);
        let mut from = 0;
        for i in e.inserts {
            if i.at > from {
                parts.push(Part::Slice { buf: buf.clone(), start: from, end: i.at });
            }
            parts.push(match i.source {
                Source::Prev { epoch, offset } => Part::Prev { epoch, offset, len: i.len },
                Source::Later(encode) => {
                    let mut bytes = darwin_columnar::memory::vec_filled(0u8, i.len as usize);
                    encode(&mut bytes);
                    let end = bytes.len();
                    Part::Slice { buf: std::sync::Arc::new(Buffer::Heap(bytes)), start: 0, end }
                }
            });
            from = i.at;
        }
        if end > from || parts.is_empty() {
            parts.push(Part::Slice { buf, start: from, end });
        }
        StateBytes { parts }
    }
}

/// The states of the last complete checkpoint, mapped from its files: what pieces of the next
/// checkpoint that refer to it are copied from.
#[derive(Debug, Clone)]
pub struct Previous {
    /// The epoch of that checkpoint.
    pub epoch: u64,
    /// Per worker, its operators' states, each a range of the mapped state file.
    pub workers: Vec<WorkerStates>,
}

/// A checkpoint read back and verified.
#[derive(Debug)]
pub struct Loaded {
    /// The checkpoint's directory.
    pub path: PathBuf,
    /// Its verified manifest.
    pub manifest: Manifest,
    /// Per worker (in the manifest's file order), its operators' states by operator id.
    pub workers: Vec<WorkerStates>,
}

fn damaged(path: &Path, message: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::Damaged { path: path.display().to_string(), detail: message.to_string() }
}

/// The directory name of checkpoint `epoch`: `chk-` and the epoch in 10 digits, so names sort by epoch.
pub fn checkpoint_name(epoch: u64) -> String {
    format!("chk-{epoch:010}")
}

/// The directory in `dir` where sinks stage output not yet committed.
pub fn staging_dir(dir: &Path) -> PathBuf {
    dir.join("staging")
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = fs::File::create(path).map_err(|e| io_err(path, e))?;
    f.write_all(bytes).map_err(|e| io_err(path, e))?;
    f.sync_all().map_err(|e| io_err(path, e))
}

/// Fsyncs a directory, making renames and new entries in it durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir).and_then(|f| f.sync_all()).map_err(|e| io_err(dir, e))
}

/// A worker's state file as bytes (the golden test pins it); states must be in memory.
pub fn encode_worker(states: &WorkerStates) -> Vec<u8> {
    let mut out = Vec::new();
    write_worker(&mut out, states, 0, None, Path::new("memory")).expect("states in memory write to a vector");
    out
}

/// Writes a worker's state file: the magic, the number of operators, and each operator's id
/// and length-prefixed state, whose ranges of the previous checkpoint are copied from its
/// mapped file. Returns the file's length and CRC32.
fn write_worker(
    out: &mut impl Write,
    states: &WorkerStates,
    w: usize,
    prev: Option<&Previous>,
    path: &Path,
) -> Result<(u64, u32)> {
    let mut crc = crc32fast::Hasher::new();
    let mut n = 0u64;
    let mut put = |b: &[u8]| -> std::io::Result<()> {
        crc.update(b);
        n += b.len() as u64;
        out.write_all(b)
    };
    let io = |e| io_err(path, e);
    let mut head = Enc::default();
    head.buf.extend_from_slice(STATE_MAGIC);
    head.len(states.len());
    put(&head.buf).map_err(io)?;
    for (op, state) in states {
        let mut e = Enc::default();
        e.len(*op);
        e.u64(state.len());
        put(&e.buf).map_err(io)?;
        for p in &state.parts {
            match p {
                Part::Slice { buf, start, end } => put(&buf[*start..*end]).map_err(io)?,
                Part::Prev { epoch, offset, len } => {
                    let bytes = prev
                        .filter(|p| p.epoch == *epoch)
                        .and_then(|p| p.workers.get(w)?.get(op)?.as_slice())
                        .and_then(|b| b.get(*offset as usize..(*offset + *len) as usize))
                        .ok_or(CheckpointError::MissingReference {
                            op: *op,
                            worker: w,
                            epoch: *epoch,
                            offset: *offset,
                            end: offset + len,
                        })?;
                    put(bytes).map_err(io)?;
                }
            }
        }
    }
    Ok((n, crc.finalize()))
}

/// Splits a state file into its operators' states (ranges of the file's buffer, not copies).
pub fn decode_worker(file: Vec<u8>, what: &str) -> Result<WorkerStates> {
    split_worker(std::sync::Arc::new(Buffer::Heap(file)), what)
}

fn split_worker(buf: std::sync::Arc<Buffer>, what: &str) -> Result<WorkerStates> {
    let bytes = &buf[..];
    // One decoder over the whole file, so an error's byte offset is the file's.
    let mut d = Dec::new(bytes, what);
    if !d.raw(8).is_ok_and(|magic| magic == STATE_MAGIC.as_slice()) {
        return Err(Dec::new(bytes, what).error("not a Darwin state file"));
    }
    let n = d.len(16)?;
    let mut out = WorkerStates::new();
    for _ in 0..n {
        let op = d.u64()? as usize;
        let state = d.bytes()?;
        // `state` lies inside `bytes`: its offset is where it starts.
        let start = state.as_ptr() as usize - bytes.as_ptr() as usize;
        out.insert(op, StateBytes::slice(&buf, start, start + state.len()));
    }
    if !d.is_at_end() {
        return Err(d.error("trailing bytes"));
    }
    Ok(out)
}

/// The manifest file's text: JSON, then a line with the CRC32 of the JSON.
pub fn manifest_text(m: &Manifest) -> String {
    let json = serde_json::to_string_pretty(m).expect("manifests serialise");
    format!("{json}\n{CRC_PREFIX}{:08x}\n", crc32fast::hash(json.as_bytes()))
}

/// Parses and verifies [`manifest_text`]'s output: the checksum line and the format version;
/// `path` (the checkpoint directory) names it in errors.
pub fn parse_manifest(text: &str, path: &Path) -> Result<Manifest> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let Some((json, crc)) = body.rsplit_once(&format!("\n{CRC_PREFIX}")) else {
        return Err(damaged(path, "the manifest has no checksum line (truncated?)"));
    };
    let want = u32::from_str_radix(crc.trim(), 16).map_err(|_| damaged(path, "unreadable manifest checksum"))?;
    if crc32fast::hash(json.as_bytes()) != want {
        return Err(damaged(path, "manifest checksum mismatch"));
    }
    let m: Manifest = serde_json::from_str(json).map_err(|e| damaged(path, format!("manifest: {e}")))?;
    if m.format != FORMAT_VERSION {
        return Err(damaged(path, format!("format version {} (this Darwin reads {FORMAT_VERSION})", m.format)));
    }
    Ok(m)
}

/// Writes a checkpoint atomically; `manifest.files` is filled in here. Pieces of state that
/// refer to the last complete checkpoint are copied from `prev`. Returns its directory.
pub fn write(dir: &Path, mut manifest: Manifest, workers: &[WorkerStates], prev: Option<&Previous>) -> Result<PathBuf> {
    let name = checkpoint_name(manifest.epoch);
    let tmp = dir.join(format!("{name}.tmp"));
    if tmp.is_dir() {
        fs::remove_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    manifest.files.clear();
    manifest.state_bytes = 0;
    for (w, states) in workers.iter().enumerate() {
        let file = format!("worker-{w}.state");
        let path = tmp.join(&file);
        let f = fs::File::create(&path).map_err(|e| io_err(&path, e))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, f);
        let (bytes, crc32) = write_worker(&mut out, states, w, prev, &path)?;
        let f = out.into_inner().map_err(|e| io_err(&path, e.into_error()))?;
        f.sync_all().map_err(|e| io_err(&path, e))?;
        manifest.state_bytes += states.values().map(StateBytes::len).sum::<u64>();
        manifest.files.push(FileEntry { name: file, bytes, crc32 });
    }
    crate::crash_point("after-state-files");
    write_synced(&tmp.join("manifest.json"), manifest_text(&manifest).as_bytes())?;
    sync_dir(&tmp)?;
    crate::crash_point("before-rename");
    let fin = dir.join(&name);
    if fin.exists() {
        fs::remove_dir_all(&fin).map_err(|e| io_err(&fin, e))?;
    }
    fs::rename(&tmp, &fin).map_err(|e| io_err(&fin, e))?;
    sync_dir(dir)?;
    Ok(fin)
}

/// Reads and verifies one checkpoint directory.
pub fn read(path: &Path) -> Result<Loaded> {
    let mpath = path.join("manifest.json");
    let text = match fs::read(&mpath) {
        Ok(b) => String::from_utf8(b).map_err(|_| damaged(path, "the manifest is not UTF-8"))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(damaged(path, "manifest.json is missing"));
        }
        Err(e) => return Err(io_err(&mpath, e)),
    };
    let manifest = parse_manifest(&text, path)?;
    if let Some(f) = manifest.files.iter().find(|f| f.name.contains(['/', '\\']) || f.name.starts_with('.')) {
        return Err(damaged(path, format!("bad file name {:?} in the manifest", f.name)));
    }
    // One thread per state file: reading, checksumming and splitting run on every core.
    let workers = std::thread::scope(|s| {
        let reads: Vec<_> = manifest.files.iter().map(|f| s.spawn(|| read_state_file(path, f))).collect();
        reads.into_iter().map(|r| r.join().expect("a state file reader panicked")).collect::<Result<Vec<_>>>()
    })?;
    if workers.len() != manifest.parallelism {
        return Err(damaged(path, format!("{} state files for {} workers", workers.len(), manifest.parallelism)));
    }
    Ok(Loaded { path: path.to_path_buf(), manifest, workers })
}

/// Maps a state file read-only (`populate`: read it all in now).
#[expect(unsafe_code, reason = "mapping a file is unsafe in memmap2: another process could change it")]
fn map_file(path: &Path, populate: bool) -> std::io::Result<memmap2::Mmap> {
    let file = fs::File::open(path)?;
    let mut options = memmap2::MmapOptions::new();
    if populate {
        options.populate();
    }
    // SAFETY: a state file is written once (temporary directory, fsync, rename) and never
    // modified; checkpoints are only ever deleted whole, and unlinking a mapped file keeps its
    // pages. Only another process truncating Darwin's own checkpoint directory while it is
    // mapped could fault the mapping.
    unsafe { options.map(&file) }
}

/// The states of a checkpoint this process has just written, mapped (not read) from its files:
/// the next checkpoint copies its operators' unchanged chunks from them.
pub fn map_written(path: &Path, epoch: u64, workers: usize) -> Result<Previous> {
    let workers = (0..workers)
        .map(|w| {
            let fpath = path.join(format!("worker-{w}.state"));
            let map = map_file(&fpath, false).map_err(|e| io_err(&fpath, e))?;
            split_worker(std::sync::Arc::new(Buffer::Mapped(map)), &fpath.display().to_string())
        })
        .collect::<Result<_>>()?;
    Ok(Previous { epoch, workers })
}

/// Reads, verifies and splits one worker's state file.
fn read_state_file(path: &Path, f: &FileEntry) -> Result<WorkerStates> {
    let fpath = path.join(&f.name);
    let bytes = map_file(&fpath, true).map_err(|e| damaged(path, format!("{}: {e}", f.name)))?;
    if bytes.len() as u64 != f.bytes {
        return Err(damaged(path, format!("{} has {} bytes, the manifest says {}", f.name, bytes.len(), f.bytes)));
    }
    if crc32fast::hash(&bytes) != f.crc32 {
        return Err(damaged(path, format!("{}: checksum mismatch", f.name)));
    }
    split_worker(std::sync::Arc::new(Buffer::Mapped(bytes)), &fpath.display().to_string())
}

/// Complete checkpoint directories (by name), newest first.
pub fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    Ok(scan(dir)?.0)
}

/// The checkpoints in `dir` (newest first), and the entries that are not Darwin's: only a
/// directory named `chk-` and ten digits is a checkpoint; a half-written one (`.tmp`), the
/// staging directory and the directory's own files are Darwin's too. Anything else is left
/// alone and named, so a stray file never stops a recovery.
pub fn scan(dir: &Path) -> Result<Scan> {
    let (mut out, mut unknown) = (Vec::new(), Vec::new());
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((out, unknown)),
        Err(e) => return Err(io_err(dir, e)),
    };
    for e in entries {
        let e = e.map_err(|err| io_err(dir, err))?;
        let name = e.file_name().to_string_lossy().to_string();
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        match checkpoint_number(&name) {
            Some(n) if is_dir => out.push((n, e.path())),
            _ if is_dir && (name == "staging" || (name.starts_with("chk-") && name.ends_with(".tmp"))) => {}
            _ if !is_dir && (name == LOCK_FILE || name == WORKDIR_FILE) => {}
            _ => unknown.push(name),
        }
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.0));
    unknown.sort();
    Ok((out, unknown))
}

/// A checkpoint directory's content: its checkpoints (epoch and path, newest first) and the
/// names of entries that are not Darwin's.
pub type Scan = (Vec<(u64, PathBuf)>, Vec<String>);

/// The epoch of a checkpoint directory's name: `chk-` and exactly ten digits.
fn checkpoint_number(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("chk-")?;
    (digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok())?
}

/// The lock file that makes a checkpoint directory one run's at a time.
pub const LOCK_FILE: &str = "LOCK";

/// The file recording the directory relative paths of the query resolve against (where it
/// first ran), so a resumed run writes to the same files from any working directory.
pub const WORKDIR_FILE: &str = "workdir";

/// The directory recorded by [`record_workdir`], if `dir` holds one.
pub fn recorded_workdir(dir: &Path) -> Option<PathBuf> {
    let text = fs::read_to_string(dir.join(WORKDIR_FILE)).ok()?;
    let path = PathBuf::from(text.trim_end_matches('\n'));
    path.is_absolute().then_some(path)
}

/// Records `workdir` as the directory the query's relative paths resolve against.
pub fn record_workdir(dir: &Path, workdir: &Path) -> Result<()> {
    write_synced(&dir.join(WORKDIR_FILE), format!("{}\n", workdir.display()).as_bytes())
}

/// The newest checkpoint that verifies, with a warning for each newer one that does not.
/// None when the directory holds no checkpoint at all; an error when none verifies.
pub fn latest(dir: &Path) -> Result<(Option<Loaded>, Vec<String>)> {
    let mut warnings = Vec::new();
    let all = list(dir)?;
    for (_, path) in &all {
        match read(path) {
            Ok(l) => return Ok((Some(l), warnings)),
            Err(e) => warnings.push(e.to_string()),
        }
    }
    if all.is_empty() {
        return Ok((None, warnings));
    }
    Err(CheckpointError::NoneValid { dir: dir.display().to_string(), reasons: warnings })
}

/// Deletes all but the newest `keep` complete checkpoints, and half-written ones.
pub fn retain(dir: &Path, keep: usize) -> Result<()> {
    for (_, path) in list(dir)?.into_iter().skip(keep.max(1)) {
        fs::remove_dir_all(&path).map_err(|e| io_err(&path, e))?;
    }
    remove_partial(dir)
}

/// Removes `.tmp` directories left by a crash during a write.
pub fn remove_partial(dir: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        // Only directories: Darwin never writes a `.tmp` file, so one is not ours to delete.
        if name.starts_with("chk-") && name.ends_with(".tmp") && e.path().is_dir() {
            fs::remove_dir_all(e.path()).map_err(|err| io_err(&e.path(), err))?;
        }
    }
    Ok(())
}

/// Removes every checkpoint and all staged output (`--fresh`).
pub fn wipe(dir: &Path) -> Result<()> {
    for (_, path) in list(dir)? {
        fs::remove_dir_all(&path).map_err(|e| io_err(&path, e))?;
    }
    remove_partial(dir)?;
    let staging = staging_dir(dir);
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(|e| io_err(&staging, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_states_round_trip_and_reject_damage() {
        let mut s = WorkerStates::new();
        s.insert(0, vec![1, 2, 3].into());
        s.insert(7, Vec::<u8>::new().into());
        let b = encode_worker(&s);
        let back = decode_worker(b.clone(), "t").unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!((back[&0].as_slice(), back[&7].as_slice()), (Some(&[1u8, 2, 3][..]), Some(&[][..])));
        assert!(decode_worker(b"garbage!".to_vec(), "t").is_err());
        // Regression: errors gave offsets 8 bytes short (counted after the file's magic).
        // The cut is in the last state's length (8 bytes, its state empty), at the file's end.
        let err = decode_worker(b[..b.len() - 1].to_vec(), "t").unwrap_err().to_string();
        assert!(err.contains(&format!("at byte {}: needs 8 more bytes", b.len() - 8)), "{err}");
    }

    fn manifest(epoch: u64, parallelism: usize) -> Manifest {
        Manifest {
            format: FORMAT_VERSION,
            darwin_version: "0".into(),
            epoch,
            fingerprint: "ab".into(),
            plan: "p".into(),
            parallelism,
            finished: false,
            created_unix_ms: 0,
            state_bytes: 0,
            files: vec![],
            sinks: vec![],
        }
    }

    /// A state that refers to ranges of the last checkpoint is written with those bytes copied
    /// from its file (read back, it is whole and its checksum holds); one that refers to a
    /// checkpoint that is not the last, or to bytes it does not hold, fails the write and
    /// leaves no checkpoint behind.
    #[test]
    fn states_copy_their_unchanged_parts_from_the_last_checkpoint() {
        use darwin_columnar::codec::{Encoded, Insert, Source};
        let dir = std::env::temp_dir().join(format!("darwin-store-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let first: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let mut w = WorkerStates::new();
        w.insert(3, first.clone().into());
        let path = write(&dir, manifest(1, 1), &[w], None).unwrap();
        let prev = map_written(&path, 1, 1).unwrap();
        let state = |epoch: u64, offset: u64| -> WorkerStates {
            let e = Encoded {
                buf: b"headtail".to_vec(),
                inserts: vec![
                    Insert { at: 4, len: 100, source: Source::Prev { epoch, offset } },
                    Insert { at: 4, len: 3, source: Source::Later(Box::new(|out| out.copy_from_slice(b"new"))) },
                ],
            };
            [(3, e.into())].into_iter().collect()
        };
        let path = write(&dir, manifest(2, 1), &[state(1, 500)], Some(&prev)).unwrap();
        let back = read(&path).unwrap();
        let mut want = b"head".to_vec();
        want.extend_from_slice(&first[500..600]);
        want.extend_from_slice(b"newtail");
        assert_eq!(back.workers[0][&3].as_slice(), Some(&want[..]));
        for (epoch, offset) in [(2, 0), (1, 9_950)] {
            let err = write(&dir, manifest(3, 1), &[state(epoch, offset)], Some(&prev)).unwrap_err();
            assert!(err.to_string().contains("not the last complete checkpoint"), "{err}");
            remove_partial(&dir).unwrap();
            assert_eq!(list(&dir).unwrap().len(), 2);
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn manifest_checksum_catches_a_flipped_digit() {
        let m = Manifest {
            format: FORMAT_VERSION,
            darwin_version: "0".into(),
            epoch: 3,
            fingerprint: "ab".into(),
            plan: "p".into(),
            parallelism: 1,
            finished: false,
            created_unix_ms: 0,
            state_bytes: 0,
            files: vec![],
            sinks: vec![],
        };
        let t = manifest_text(&m);
        assert_eq!(parse_manifest(&t, Path::new("x")).unwrap(), m);
        let flipped = t.replacen("\"epoch\": 3", "\"epoch\": 4", 1);
        assert!(parse_manifest(&flipped, Path::new("x")).unwrap_err().to_string().contains("checksum"));
        assert!(parse_manifest(&t[..t.len() / 2], Path::new("x")).is_err());
    }
}
