//! The second phase of the two-phase commit of file sinks, and its recovery.
//!
//! During an epoch a file sink writes into a staged file in the checkpoint directory, never
//! into its output file. Once the epoch's checkpoint is complete, the staged files are
//! appended to the output files in epoch order (fsynced) and deleted. The manifest records
//! each output file's committed length before the pending output, so recovery is a pure
//! function of the checkpoint: the output file must end up exactly `committed + pending`
//! bytes long. If it is longer (output committed after this checkpoint, e.g. when a newer
//! checkpoint turned out damaged) it is cut back; if it is shorter (a crash during the commit)
//! it is cut to `committed` and the pending files appended again.

use crate::error::{io_err, CheckpointError, Result};
use crate::store::SinkCommit;
use crate::StagedFile;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

fn file_len(path: &Path) -> Result<u64> {
    match fs::metadata(path) {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(io_err(path, e)),
    }
}

/// Appends staged files to their targets (in order), fsyncs the targets, then deletes the
/// staged files.
pub fn commit(staged: &[StagedFile]) -> Result<()> {
    let mut touched: Vec<&Path> = Vec::new();
    for (i, s) in staged.iter().enumerate() {
        if s.dir.is_some() {
            publish(s)?;
            if i == 0 {
                crate::crash_point("during-commit");
            }
            continue;
        }
        let data = fs::read(&s.staged).map_err(|e| io_err(&s.staged, e))?;
        if data.len() as u64 != s.bytes {
            return Err(CheckpointError::StagedLength {
                path: s.staged.display().to_string(),
                have: data.len() as u64,
                want: s.bytes,
            });
        }
        let mut f = OpenOptions::new().create(true).append(true).open(&s.target).map_err(|e| io_err(&s.target, e))?;
        f.write_all(&data).map_err(|e| io_err(&s.target, e))?;
        if i == 0 {
            crate::crash_point("during-commit");
        }
        if !touched.contains(&s.target.as_path()) {
            touched.push(&s.target);
        }
    }
    for t in touched {
        fs::File::open(t).and_then(|f| f.sync_all()).map_err(|e| io_err(t, e))?;
    }
    for s in staged.iter().filter(|s| s.dir.is_none()) {
        fs::remove_file(&s.staged).map_err(|e| io_err(&s.staged, e))?;
    }
    Ok(())
}

/// Makes a directory sink's staged part file visible under its name, once: renamed (and the
/// directory synced), or found already renamed with its length by an earlier attempt.
fn publish(s: &StagedFile) -> Result<()> {
    let have = |p: &Path| fs::metadata(p).map(|m| m.len()).ok();
    match (have(&s.staged), have(&s.target)) {
        (Some(len), _) if len != s.bytes => {
            Err(CheckpointError::StagedLength { path: s.staged.display().to_string(), have: len, want: s.bytes })
        }
        (Some(_), _) => {
            fs::rename(&s.staged, &s.target).map_err(|e| io_err(&s.target, e))?;
            let dir = s.target.parent().unwrap_or(Path::new("."));
            fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_err(dir, e))
        }
        (None, Some(len)) if len == s.bytes => Ok(()),
        (None, _) => {
            Err(CheckpointError::StagedLength { path: s.staged.display().to_string(), have: 0, want: s.bytes })
        }
    }
}

/// Deletes a directory sink's hidden in-progress part files (`.part-*.inprogress`, in the
/// directory and its sub-directories) that `keep` does not list: output of epochs no complete
/// checkpoint holds, left by a run that stopped.
fn remove_orphans(dir: &Path, keep: &[StagedFile]) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else { return Ok(()) };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            remove_orphans(&path, keep)?;
        } else if name.starts_with(".part-") && name.ends_with(".inprogress") && !keep.iter().any(|k| k.staged == path)
        {
            fs::remove_file(&path).map_err(|e| io_err(&path, e))?;
        }
    }
    Ok(())
}

/// Brings each output file to the state the checkpoint promises (see the module docs).
pub fn recover(sinks: &[SinkCommit]) -> Result<()> {
    for s in sinks {
        if s.target.is_dir() || s.pending.iter().any(|p| p.dir.is_some()) {
            // A directory sink: its pending part files are published, the rest of what a
            // stopped run staged is dropped. (Parts committed after this checkpoint, if a newer
            // one was lost, stay: names do not say their epoch.)
            commit(&s.pending)?;
            remove_orphans(&s.target, &s.pending)?;
            continue;
        }
        let pending: u64 = s.pending.iter().map(|p| p.bytes).sum();
        let want = s.committed + pending;
        let have = file_len(&s.target)?;
        let open = || OpenOptions::new().write(true).create(true).truncate(false).open(&s.target);
        if have >= want {
            let f = open().map_err(|e| io_err(&s.target, e))?;
            f.set_len(want).and_then(|_| f.sync_all()).map_err(|e| io_err(&s.target, e))?;
            continue;
        }
        if have < s.committed {
            return Err(CheckpointError::OutputShrunk {
                path: s.target.display().to_string(),
                have,
                committed: s.committed,
            });
        }
        let f = open().map_err(|e| io_err(&s.target, e))?;
        f.set_len(s.committed).map_err(|e| io_err(&s.target, e))?;
        drop(f);
        commit(&s.pending)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged(dir: &Path, name: &str, target: &Path, data: &str) -> StagedFile {
        let p = dir.join(name);
        fs::write(&p, data).unwrap();
        StagedFile { target: target.to_path_buf(), staged: p, bytes: data.len() as u64, dir: None }
    }

    #[test]
    fn recovery_finishes_an_interrupted_commit_and_cuts_back_later_output() {
        let dir = std::env::temp_dir().join(format!("darwin-commit-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out.csv");
        fs::write(&out, "a\n").unwrap();
        // Crash during the commit: half of the pending output made it.
        let p = staged(&dir, "e2.part", &out, "b\nc\n");
        fs::write(&out, "a\nb\n").unwrap();
        let sink = SinkCommit { target: out.clone(), committed: 2, pending: vec![p] };
        recover(std::slice::from_ref(&sink)).unwrap();
        assert_eq!(fs::read_to_string(&out).unwrap(), "a\nb\nc\n");
        // Output of a later epoch (committed, then its checkpoint lost) is cut back.
        fs::write(&out, "a\nb\nc\nd\n").unwrap();
        recover(&[sink]).unwrap();
        assert_eq!(fs::read_to_string(&out).unwrap(), "a\nb\nc\n");
        // A truncated output file is an error, not silent loss.
        fs::write(&out, "").unwrap();
        let sink = SinkCommit { target: out.clone(), committed: 2, pending: vec![] };
        assert!(recover(&[sink]).unwrap_err().to_string().contains("were committed"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
