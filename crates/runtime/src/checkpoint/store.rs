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

use super::codec::{Dec, Enc};
use super::StagedFile;
use crate::error::{Result, RuntimeError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Version of the layout and of the state encoding; a checkpoint of another version is refused.
pub const FORMAT_VERSION: u32 = 2;
const STATE_MAGIC: &[u8; 8] = b"DARWINST";
const CRC_PREFIX: &str = "crc32 ";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub darwin_version: String,
    pub epoch: u64,
    /// The physical plan's fingerprint (hex) and a readable form of it, to name what changed.
    pub fingerprint: String,
    pub plan: String,
    pub parallelism: usize,
    /// Every pipeline had ended: the query ran to completion.
    pub finished: bool,
    pub created_unix_ms: u64,
    /// Bytes of encoded operator state.
    pub state_bytes: u64,
    pub files: Vec<FileEntry>,
    /// Per sink output file: its length before this checkpoint's pending output, and the
    /// staged output that this checkpoint commits.
    pub sinks: Vec<SinkCommit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    pub name: String,
    pub bytes: u64,
    pub crc32: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SinkCommit {
    pub target: PathBuf,
    pub committed: u64,
    pub pending: Vec<StagedFile>,
}

/// Operator states of one worker: operator id → encoded state.
pub type WorkerStates = BTreeMap<usize, StateBytes>;

/// One operator's encoded state: a range of a shared buffer (a state file read once, or what
/// the operator sent), so handing states to workers and carrying an ended operator's state into
/// every later checkpoint copies nothing.
#[derive(Clone, Debug, Default)]
pub struct StateBytes {
    buf: std::sync::Arc<Buffer>,
    start: usize,
    end: usize,
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
        StateBytes { buf: std::sync::Arc::new(Buffer::Heap(v)), start: 0, end }
    }
}

impl std::ops::Deref for StateBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }
}

/// A checkpoint read back and verified.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    pub manifest: Manifest,
    pub workers: Vec<WorkerStates>,
}

pub fn io_err(path: &Path, err: std::io::Error) -> RuntimeError {
    RuntimeError::Io { path: path.display().to_string(), err }
}

fn damaged(path: &Path, message: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Checkpoint { message: format!("{} is damaged: {message}", path.display()) }
}

pub fn checkpoint_name(epoch: u64) -> String {
    format!("chk-{epoch:010}")
}

pub fn staging_dir(dir: &Path) -> PathBuf {
    dir.join("staging")
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = fs::File::create(path).map_err(|e| io_err(path, e))?;
    f.write_all(bytes).map_err(|e| io_err(path, e))?;
    f.sync_all().map_err(|e| io_err(path, e))
}

pub fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir).and_then(|f| f.sync_all()).map_err(|e| io_err(dir, e))
}

pub fn encode_worker(states: &WorkerStates) -> Vec<u8> {
    let mut e = Enc::default();
    e.buf.extend_from_slice(STATE_MAGIC);
    e.len(states.len());
    for (op, bytes) in states {
        e.len(*op);
        e.bytes(bytes);
    }
    e.buf
}

/// Splits a state file into its operators' states (ranges of the file's buffer, not copies).
pub fn decode_worker(file: Vec<u8>, what: &str) -> Result<WorkerStates> {
    split_worker(std::sync::Arc::new(Buffer::Heap(file)), what)
}

fn split_worker(buf: std::sync::Arc<Buffer>, what: &str) -> Result<WorkerStates> {
    let bytes = &buf[..];
    let mut d = Dec::new(bytes, what);
    if bytes.get(..8) != Some(STATE_MAGIC.as_slice()) {
        return Err(d.error("not a Darwin state file"));
    }
    d = Dec::new(&bytes[8..], what);
    let n = d.len(16)?;
    let mut out = WorkerStates::new();
    for _ in 0..n {
        let op = d.u64()? as usize;
        let state = d.bytes()?;
        // `state` lies inside `bytes`: its offset is where it starts.
        let start = state.as_ptr() as usize - bytes.as_ptr() as usize;
        out.insert(op, StateBytes { buf: buf.clone(), start, end: start + state.len() });
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

/// Writes a checkpoint atomically; `manifest.files` is filled in here. Returns its directory.
pub fn write(dir: &Path, mut manifest: Manifest, workers: &[WorkerStates]) -> Result<PathBuf> {
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
        let bytes = encode_worker(states);
        write_synced(&tmp.join(&file), &bytes)?;
        manifest.state_bytes += states.values().map(|v| v.len() as u64).sum::<u64>();
        manifest.files.push(FileEntry { name: file, bytes: bytes.len() as u64, crc32: crc32fast::hash(&bytes) });
    }
    super::crash_point("after-state-files");
    write_synced(&tmp.join("manifest.json"), manifest_text(&manifest).as_bytes())?;
    sync_dir(&tmp)?;
    super::crash_point("before-rename");
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

/// Reads, verifies and splits one worker's state file.
fn read_state_file(path: &Path, f: &FileEntry) -> Result<WorkerStates> {
    let fpath = path.join(&f.name);
    let map = |file: fs::File| {
        // SAFETY: a state file is written once (temporary directory, fsync, rename) and never
        // modified; checkpoints are only ever deleted whole, and unlinking a mapped file keeps
        // its pages. Only another process truncating Darwin's own checkpoint directory during a
        // restore could fault the mapping.
        unsafe { memmap2::MmapOptions::new().populate().map(&file) }
    };
    let bytes = fs::File::open(&fpath).and_then(map).map_err(|e| damaged(path, format!("{}: {e}", f.name)))?;
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
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_err(dir, e)),
    };
    for e in entries {
        let e = e.map_err(|err| io_err(dir, err))?;
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(n) = name.strip_prefix("chk-").and_then(|n| n.parse::<u64>().ok()) {
            out.push((n, e.path()));
        }
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.0));
    Ok(out)
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
    Err(RuntimeError::Checkpoint {
        message: format!(
            "no valid checkpoint in {}:\n  {}\n(use --fresh to start over, discarding them)",
            dir.display(),
            warnings.join("\n  ")
        ),
    })
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
        s.insert(7, vec![].into());
        let b = encode_worker(&s);
        let back = decode_worker(b.clone(), "t").unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!((&back[&0][..], &back[&7][..]), (&[1u8, 2, 3][..], &[][..]));
        assert!(decode_worker(b[..b.len() - 1].to_vec(), "t").is_err());
        assert!(decode_worker(b"garbage!".to_vec(), "t").is_err());
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
