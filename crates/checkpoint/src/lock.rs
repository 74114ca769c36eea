//! Exclusive ownership of what a run writes: an advisory lock (`flock`) on a lock file, held for
//! the run's lifetime and released by the kernel when the process ends, however it ends (a
//! SIGKILL included). The lock file holds the holder's pid, so a refused run names the process
//! that owns the path. Lock files are left in place: deleting one while another process opens it
//! could let two runs each lock a different file of the same name.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// A held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct PathLock {
    _file: File,
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("{what} is in use by another darwin run ({holder}); wait for it to end, or use another path")]
    Held {
        /// What the lock guards, as the message names it (`the checkpoint directory ck`).
        what: String,
        /// The holding process, as far as known (`pid 1234: darwin run q.sql`).
        holder: String,
    },
    /// The lock file could not be created or locked.
    #[error("cannot lock {path}: {err}")]
    Io {
        /// The lock file.
        path: String,
        /// The error.
        err: std::io::Error,
    },
}

impl PathLock {
    /// Takes the lock in `lock_file` (created if missing) for `what`, without waiting.
    pub fn acquire(lock_file: &Path, what: &str) -> Result<PathLock, LockError> {
        let io = |err| LockError::Io { path: lock_file.display().to_string(), err };
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(lock_file).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(LockError::Held { what: what.to_string(), holder: holder(&text) });
            }
            Err(TryLockError::Error(err)) => return Err(io(err)),
        }
        file.set_len(0).and_then(|()| file.rewind()).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(PathLock { _file: file })
    }
}

/// The hidden lock file of an output path: `.NAME.lock` beside it.
pub fn lock_file_for(target: &Path) -> PathBuf {
    let name = target.file_name().map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    target.with_file_name(format!(".{name}.lock"))
}

/// The holder named by a lock file's content: its pid and, where /proc shows it, its command.
fn holder(text: &str) -> String {
    let Ok(pid) = text.trim().parse::<u32>() else { return "a process that did not say which".into() };
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok().map(|b| {
        b.split(|c| *c == 0).filter(|a| !a.is_empty()).map(String::from_utf8_lossy).collect::<Vec<_>>().join(" ")
    });
    match cmd {
        Some(c) if !c.is_empty() => format!("pid {pid}: {c}"),
        _ => format!("pid {pid}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A second lock on the same file is refused while the first is held, naming the holder,
    /// and granted once it is dropped.
    #[test]
    fn a_held_lock_is_refused_with_its_holder_and_released_on_drop() {
        let dir = std::env::temp_dir().join(format!("darwin-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = lock_file_for(&dir.join("out.csv"));
        assert_eq!(path.file_name().unwrap(), ".out.csv.lock");
        let first = PathLock::acquire(&path, "out.csv").unwrap();
        let err = PathLock::acquire(&path, "out.csv").unwrap_err().to_string();
        assert!(err.contains("in use by another darwin run") && err.contains(&format!("pid {}", std::process::id())));
        drop(first);
        PathLock::acquire(&path, "out.csv").unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
