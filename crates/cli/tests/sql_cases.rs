//! End-to-end SQL tests as data files: each `tests/sql/<group>/<name>.sql` runs against the
//! files beside it (`${DIR}`) and writes into a fresh directory (`${OUT}`); `<name>.expected`
//! lists every output file (`== file`) with its rows, compared as multisets (row order across
//! batches is not part of the result), or `error: <text>` for a script that must fail with a
//! message containing the text. Every case runs on both executors: interpreted, and compiled to
//! native code (one compile cache shared by the test suite).
//!
//! To regenerate `.expected` files deliberately (after a change of output that is intended),
//! run `DARWIN_BLESS=1 cargo test -p darwin-cli --test sql_cases sql_files_interpreted`: each case
//! whose output differs gets its `.expected` rewritten from the interpreter's output (same files,
//! rows sorted), and the test still fails once so the rewrite is not silent; review it with
//! `git diff`. Error cases are not rewritten (their text is a chosen substring).

use std::path::{Path, PathBuf};

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sql");
    let mut out = Vec::new();
    for group in std::fs::read_dir(&root).expect("tests/sql exists") {
        let group = group.expect("readable").path();
        if !group.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&group).expect("readable") {
            let f = f.expect("readable").path();
            if f.extension().is_some_and(|e| e == "sql") {
                out.push(f);
            }
        }
    }
    out.sort();
    out
}

/// The compile cache every test shares, so each distinct plan is compiled once per suite run.
fn cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("darwin-compile-cache")
}

fn run_case(sql_path: &Path, mode: darwin::Mode) -> Result<(), String> {
    let dir = sql_path.parent().expect("in a group dir");
    let name = sql_path.file_stem().expect("named").to_string_lossy().to_string();
    let expected =
        std::fs::read_to_string(dir.join(format!("{name}.expected"))).map_err(|e| format!("missing .expected: {e}"))?;
    let out = std::env::temp_dir().join(format!(
        "darwin-sqltest-{}-{name}-{mode:?}-{}",
        dir.file_name().unwrap().to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let sql = std::fs::read_to_string(sql_path)
        .map_err(|e| e.to_string())?
        .replace("${DIR}", &dir.display().to_string())
        .replace("${OUT}", &out.display().to_string());
    let opts = darwin::Options { executor: mode, ..Default::default() };
    let result = darwin::compile(&sql, &opts).and_then(|c| darwin::execute_mode(&c, &mut (), None, mode, &cache()));
    if let Some(want) = expected.strip_prefix("error: ") {
        let want = want.trim();
        return match result {
            Ok(_) => Err(format!("expected an error containing {want:?}, but the script ran")),
            Err(e) if e.to_string().contains(want) => Ok(()),
            Err(e) => Err(format!("expected an error containing {want:?}, got:\n{e}")),
        };
    }
    result.map_err(|e| format!("script failed:\n{e}"))?;
    let mut current: Option<(String, Vec<String>)> = None;
    let mut blocks = Vec::new();
    for line in expected.lines() {
        if let Some(f) = line.strip_prefix("== ") {
            blocks.extend(current.take());
            current = Some((f.trim().to_string(), Vec::new()));
        } else if !line.is_empty() {
            current.as_mut().ok_or("rows before the first '== file' line")?.1.push(line.to_string());
        }
    }
    blocks.extend(current);
    let mut differences = Vec::new();
    let mut blessed = String::new();
    for (file, mut want) in blocks {
        let text = std::fs::read_to_string(out.join(&file)).map_err(|e| format!("output {file}: {e}"))?;
        let mut got: Vec<String> = text.lines().filter(|l| !l.is_empty()).map(String::from).collect();
        got.sort();
        want.sort();
        if got != want {
            differences.push(format!("{file} differs\n--- expected\n{}\n--- got\n{}", want.join("\n"), got.join("\n")));
        }
        blessed.push_str(&format!("== {file}\n{}\n", got.join("\n")));
    }
    let _ = std::fs::remove_dir_all(&out);
    if differences.is_empty() {
        return Ok(());
    }
    if bless() && mode == darwin::Mode::Interpreted {
        let path = dir.join(format!("{name}.expected"));
        std::fs::write(&path, blessed).map_err(|e| format!("cannot bless {}: {e}", path.display()))?;
        differences.push(format!("DARWIN_BLESS: rewrote {} from this output; review it with git diff", path.display()));
    }
    Err(differences.join("\n"))
}

/// `DARWIN_BLESS=1`: rewrite the `.expected` files of cases whose output differs.
fn bless() -> bool {
    std::env::var_os("DARWIN_BLESS").is_some_and(|v| v == "1")
}

fn run_all(mode: darwin::Mode) {
    let cases = cases();
    assert!(cases.len() >= 10, "expected the SQL test files, found {}", cases.len());
    let failures: Vec<String> =
        cases.iter().filter_map(|c| run_case(c, mode).err().map(|e| format!("{}: {e}", c.display()))).collect();
    assert!(
        failures.is_empty(),
        "{} of {} SQL cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn sql_files_interpreted() {
    run_all(darwin::Mode::Interpreted);
}

#[test]
fn sql_files_compiled() {
    run_all(darwin::Mode::Compiled);
}
