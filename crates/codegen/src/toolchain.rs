//! Building generated crates with the installed Rust toolchain, and the compile cache.
//!
//! Layout of the cache directory: `bin/<key>` compiled queries; `build/` the crate being built;
//! `target/` one cargo target directory shared by every query, so Darwin's runtime crates are
//! compiled once (the first, "cold" compile) and each query after that only compiles its own
//! small crate and links. A file lock serialises compiles across processes. The cache keeps the
//! 200 most recently used binaries (about 3.5 MB each).

use darwin_common::hash::{fnv1a, fnv1a_extend};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Why compiled mode could not produce a binary; each message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// cargo or rustc could not be run; the text says which.
    #[error("compiled mode needs the Rust toolchain, but {0}. Install it with rustup (https://rustup.rs) or run with --mode interpreted")]
    NoToolchain(String),
    /// Darwin's sources are not at the given directory, so the generated crate has nothing to build against.
    #[error("compiled mode builds against Darwin's runtime sources, which are not at {0} (set DARWIN_SOURCE_DIR to a Darwin checkout, or run with --mode interpreted)")]
    NoSources(String),
    /// Reading or writing the compile cache failed (or cargo could not be started).
    #[error("compile cache {path}: {err}")]
    Cache {
        /// The file or directory the operation was on.
        path: String,
        /// The I/O error.
        err: std::io::Error,
    },
    /// cargo ran but could not build the generated crate.
    #[error("cargo failed to build the generated query crate (kept in {dir}):\n{stderr}")]
    Build {
        /// The generated crate's directory, left in place for inspection.
        dir: String,
        /// cargo's messages, or a note that they went to the terminal.
        stderr: String,
    },
}

/// Where the toolchain and sources are, and where compiled queries are cached.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// The cargo executable (`$CARGO`, else `cargo` on PATH).
    pub cargo: PathBuf,
    /// `rustc --version` output; part of every cache key.
    pub rustc_version: String,
    /// Root of the Darwin checkout the generated crates depend on (holds `crates/exec`).
    pub sources: PathBuf,
    /// The compile cache directory (`bin/`, `build/`, `target/`, `lock`).
    pub cache: PathBuf,
}

/// What a compile did.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// Path of the compiled binary in the cache's `bin/` directory.
    pub binary: PathBuf,
    /// The cache key (file name of the binary): plan fingerprint, CPU, Darwin version and runtime hash.
    pub key: String,
    /// None on a cache hit.
    pub build_time: Option<Duration>,
    /// The shared target directory was empty: the runtime crates were built too.
    pub cold: bool,
}

/// The default cache directory: `$DARWIN_CACHE_DIR`, else `$XDG_CACHE_HOME/darwin`, else `~/.cache/darwin`
/// (the temporary directory without a home).
pub fn default_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("DARWIN_CACHE_DIR") {
        return PathBuf::from(d);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("darwin")
}

fn run_version(cmd: &Path) -> Option<String> {
    let out = Command::new(cmd).arg("--version").output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl Toolchain {
    /// Finds cargo and rustc (`$CARGO`/`$RUSTC` or on PATH) and Darwin's sources
    /// (`$DARWIN_SOURCE_DIR`, else the tree this binary was built from).
    pub fn find(cache: PathBuf) -> Result<Toolchain, CompileError> {
        let cargo = std::env::var_os("CARGO").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("cargo"));
        if run_version(&cargo).is_none() {
            return Err(CompileError::NoToolchain(format!("'{}' could not be run", cargo.display())));
        }
        let rustc = std::env::var_os("RUSTC").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("rustc"));
        let rustc_version = run_version(&rustc)
            .ok_or_else(|| CompileError::NoToolchain(format!("'{}' could not be run", rustc.display())))?;
        let sources = std::env::var_os("DARWIN_SOURCE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
        if !sources.join("crates/exec/Cargo.toml").is_file() {
            return Err(CompileError::NoSources(sources.display().to_string()));
        }
        Ok(Toolchain { cargo, rustc_version, sources, cache })
    }

    /// A hash of what a compiled query depends on besides its own source: the runtime sources,
    /// the lock file and the compiler.
    fn runtime_hash(&self) -> u64 {
        let mut files = Vec::new();
        // Every crate but those a compiled query never links: a crate added later counts by
        // default, so a stale binary is never taken for a current one.
        let crates = std::fs::read_dir(self.sources.join("crates")).into_iter().flatten().flatten();
        for c in crates.filter(|c| !NOT_LINKED.contains(&c.file_name().to_string_lossy().as_ref())) {
            list_sources(&c.path(), &mut files);
        }
        files.push(self.sources.join("Cargo.lock"));
        files.sort();
        let mut h = fnv1a(self.rustc_version.as_bytes());
        for f in files {
            h = fnv1a_extend(h, f.to_string_lossy().as_bytes());
            h = fnv1a_extend(h, &std::fs::read(&f).unwrap_or_default());
        }
        h
    }

    /// The cache key of a generated source: plan fingerprint, Darwin's version and runtime hash, CPU.
    pub fn key(&self, fingerprint: u64, source: &str) -> String {
        let runtime = fnv1a_extend(self.runtime_hash(), source.as_bytes());
        format!("{fingerprint:016x}-{}-v{}-{:08x}", cpu_id(), env!("CARGO_PKG_VERSION"), runtime as u32)
    }

    /// Compiles `source` (a generated `main.rs`) unless the cache holds it; `note` reports progress.
    pub fn compile(
        &self,
        fingerprint: u64,
        source: &str,
        harness: crate::Harness,
        arrow: bool,
        note: &mut dyn FnMut(&str),
    ) -> Result<Compiled, CompileError> {
        let key = self.key(fingerprint, source);
        let bin = self.cache.join("bin").join(&key);
        if bin.is_file() {
            touch(&bin);
            return Ok(Compiled { binary: bin, key, build_time: None, cold: false });
        }
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |err| CompileError::Cache { path, err }
        };
        std::fs::create_dir_all(self.cache.join("bin")).map_err(io(&self.cache))?;
        let lock_path = self.cache.join("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        lock.lock().map_err(io(&lock_path))?;
        if bin.is_file() {
            // Another process compiled it while this one waited.
            return Ok(Compiled { binary: bin, key, build_time: None, cold: false });
        }
        let target = self.cache.join("target");
        let cold = !target.join("release").is_dir();
        note(&if cold {
            "compiling the query; first use of this cache also builds Darwin's runtime crates (a few minutes, once)"
                .to_string()
        } else {
            "compiling the query".to_string()
        });
        let dir = self.cache.join("build");
        std::fs::create_dir_all(dir.join("src")).map_err(io(&dir))?;
        std::fs::write(dir.join("Cargo.toml"), self.manifest(harness, arrow)).map_err(io(&dir))?;
        std::fs::write(dir.join("src/main.rs"), source).map_err(io(&dir))?;
        // The workspace's lock file pins the versions Darwin was built and tested with (and that
        // are in the local registry cache, so no network is needed).
        let _ = std::fs::copy(self.sources.join("Cargo.lock"), dir.join("Cargo.lock"));
        let start = Instant::now();
        let mut cmd = Command::new(&self.cargo);
        // On a terminal cargo's own progress bar shows how far the build is; otherwise quiet,
        // with its messages kept for the error.
        let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
        cmd.args(["build", "--release", "--offline", "--manifest-path"])
            .arg(dir.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target)
            .env("RUSTFLAGS", "-C target-cpu=native")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_RUSTFLAGS")
            .env_remove("RUSTC_WRAPPER")
            .env_remove("RUSTC_WORKSPACE_WRAPPER");
        if !tty {
            cmd.arg("--quiet");
        }
        let out = if tty { cmd.stderr(std::process::Stdio::inherit()).output() } else { cmd.output() }
            .map_err(io(&self.cargo))?;
        if !out.status.success() {
            let stderr = if tty {
                "(cargo's messages are above)".into()
            } else {
                String::from_utf8_lossy(&out.stderr).into_owned()
            };
            return Err(CompileError::Build { dir: dir.display().to_string(), stderr });
        }
        let built = target.join("release").join("darwin-query");
        let tmp = self.cache.join("bin").join(format!("{key}.tmp"));
        std::fs::copy(&built, &tmp).map_err(io(&built))?;
        std::fs::rename(&tmp, &bin).map_err(io(&bin))?;
        evict(&self.cache.join("bin"), KEEP_BINARIES);
        Ok(Compiled { binary: bin, key, build_time: Some(start.elapsed()), cold })
    }

    /// The generated crate's manifest; `arrow`: with `darwin-exec`'s `arrow` feature.
    fn manifest(&self, harness: crate::Harness, arrow: bool) -> String {
        let path = |c: &str| format!("{:?}", self.sources.join("crates").join(c).display().to_string());
        let features = if arrow { ", features = [\"arrow\"]" } else { "" };
        let bench = match harness {
            crate::Harness::Query => String::new(),
            crate::Harness::Bench => format!("darwin-bench = {{ path = {} }}\n", path("bench")),
        };
        format!(
            "[package]\nname = \"darwin-query\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\ndarwin-exec = {{ path = {}{features} }}\n{bench}\n\
             # Its own workspace: the cache may lie inside another cargo workspace.\n[workspace]\n\n\
             [profile.release]\nopt-level = 3\ndebug = false\nincremental = false\ncodegen-units = 16\n",
            path("exec")
        )
    }
}

/// Crates of the workspace that no compiled binary (query or benchmark) links.
const NOT_LINKED: &[&str] = &["cli", "sql", "planner", "codegen", "reference"];

/// Compiled queries kept in the cache (about 3.5 MB each); the least recently used go first.
const KEEP_BINARIES: usize = 200;

/// Marks a cached binary as used now (eviction goes by modification time).
fn touch(path: &Path) {
    if let Ok(f) = std::fs::OpenOptions::new().append(true).open(path) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
}

/// Deletes all but the `keep` most recently used binaries (and stray temporary copies).
fn evict(dir: &Path, keep: usize) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> =
        rd.flatten().filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path()))).collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    for (_, p) in files.into_iter().skip(keep) {
        let _ = std::fs::remove_file(p);
    }
}

fn list_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name();
        if p.is_dir() && name != "target" && name != "tests" && name != "benches" {
            list_sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs" || x == "toml") {
            out.push(p);
        }
    }
}

/// Identifies the CPU a `target-cpu=native` build is for: model name and feature flags.
pub fn cpu_id() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let pick = |k: &str| info.lines().find(|l| l.starts_with(k)).unwrap_or("").to_string();
    let h = fnv1a_extend(fnv1a(pick("model name").as_bytes()), pick("flags").as_bytes());
    format!("{}-{:08x}", std::env::consts::ARCH, h as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_keeps_the_most_recently_used_binaries() {
        let dir = std::env::temp_dir().join(format!("darwin-evict-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let base = std::time::SystemTime::now() - Duration::from_secs(1000);
        for i in 0..5u64 {
            let p = dir.join(format!("bin{i}"));
            std::fs::write(&p, b"x").unwrap();
            let f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
            f.set_modified(base + Duration::from_secs(i * 10)).unwrap();
        }
        touch(&dir.join("bin0")); // used just now: the most recent
        evict(&dir, 2);
        let mut left: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        assert_eq!(left, vec!["bin0", "bin4"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
