//! What a run writes must not be what it reads or what another of its sinks writes: a sink on a
//! source's path empties the input before it is read, and two sinks on one file overwrite each
//! other while both report their rows written. Paths are compared as the file system resolves
//! them (symbolic links and `..` followed), and a sink inside a directory a source reads counts
//! as writing where the source reads.

use crate::PlanError;
use darwin_plan::{ConnectorCatalog, PhysNode, Pipeline, SinkTarget, TableDef};
use std::path::{Path, PathBuf};

/// Refuses pipelines whose sinks overlap a source or another sink.
pub fn check(pipelines: &[Pipeline], catalog: &dyn ConnectorCatalog) -> Result<(), PlanError> {
    let mut sources: Vec<(&TableDef, PathBuf)> = Vec::new();
    for p in pipelines {
        collect_sources(&p.root, catalog, &mut sources);
    }
    let mut sinks: Vec<(&TableDef, PathBuf)> = Vec::new();
    for p in pipelines {
        let SinkTarget::Table(t) = &p.sink else { continue };
        for path in catalog.paths(t).iter().map(|p| resolved(p)) {
            if let Some((s, read)) = sources.iter().find(|(_, read)| path == *read || path.starts_with(read)) {
                return Err(PlanError::SinkOnSource {
                    sink: t.name.clone(),
                    source_table: s.name.clone(),
                    path: path.display().to_string(),
                    inside: path != *read,
                });
            }
            if let Some((other, _)) = sinks.iter().find(|(_, written)| *written == path) {
                return Err(PlanError::SharedSinkPath {
                    first: other.name.clone(),
                    second: t.name.clone(),
                    path: path.display().to_string(),
                });
            }
            sinks.push((t, path));
        }
    }
    Ok(())
}

fn collect_sources<'a>(node: &'a PhysNode, catalog: &dyn ConnectorCatalog, out: &mut Vec<(&'a TableDef, PathBuf)>) {
    if let PhysNode::Source { table, .. } = node {
        out.extend(catalog.paths(table).iter().map(|p| (table, resolved(p))));
    }
    node.children().into_iter().for_each(|c| collect_sources(c, catalog, out));
}

/// `path` as the file system resolves it: symbolic links and `..` followed for the longest part
/// that exists, the rest (directories and a file a sink will create) applied to it as written,
/// `..` taking off the last component (as the sink's `create_dir_all` would end up).
fn resolved(path: &Path) -> PathBuf {
    use std::path::Component;
    let parts: Vec<Component> = path.components().collect();
    let exists = (0..=parts.len())
        .rev()
        .find_map(|n| parts[..n].iter().collect::<PathBuf>().canonicalize().ok().map(|real| (n, real)));
    let Some((n, mut out)) = exists else { return path.to_path_buf() };
    for part in &parts[n..] {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::resolved;

    /// Links, `..` and `.` resolve to one path; a file that does not exist yet keeps its name.
    #[test]
    fn paths_resolve_as_the_file_system_does() {
        let dir = std::env::temp_dir().join(format!("darwin-own-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("real")).unwrap();
        let _ = std::os::unix::fs::symlink(dir.join("real"), dir.join("link"));
        let real = resolved(&dir.join("real/out.csv"));
        assert_eq!(resolved(&dir.join("link/out.csv")), real);
        assert_eq!(resolved(&dir.join("real/../link/./out.csv")), real);
        assert_eq!(resolved(&dir.join("real/missing/../out.csv")), real, "a missing directory and its `..`");
        assert_eq!(real.file_name().unwrap(), "out.csv");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
