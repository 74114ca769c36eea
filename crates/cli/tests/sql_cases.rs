//! End-to-end SQL tests as data files: each `tests/sql/<group>/<name>.sql` runs against the
//! files beside it (`${DIR}`) and writes into a fresh directory (`${OUT}`); `<name>.expected`
//! lists every output file (`== file`) with its rows, compared as multisets (row order across
//! batches is not part of the result), or `error: <text>` for a script that must fail with a
//! message containing the text. Every case runs on both executors: interpreted, and compiled to
//! native code (one compile cache shared by the test suite).

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
    for (file, mut want) in blocks {
        let text = std::fs::read_to_string(out.join(&file)).map_err(|e| format!("output {file}: {e}"))?;
        let mut got: Vec<String> = text.lines().filter(|l| !l.is_empty()).map(String::from).collect();
        got.sort();
        want.sort();
        if got != want {
            return Err(format!("{file} differs\n--- expected\n{}\n--- got\n{}", want.join("\n"), got.join("\n")));
        }
    }
    let _ = std::fs::remove_dir_all(&out);
    Ok(())
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
