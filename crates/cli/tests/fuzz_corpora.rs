//! The fuzz targets' corpora (`fuzz/corpus/<target>/`: seeds, inputs the fuzzer kept for new
//! coverage, and every crash it found, named `crash-*`) replayed through the same entry points
//! as `cargo fuzz` uses, on the stable toolchain: each input must end without a panic. A crash
//! found by fuzzing becomes a regression test by being copied here.

use std::path::Path;

#[test]
fn every_corpus_input_ends_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for (name, target) in darwin::fuzz::TARGETS {
        let dir = root.join(name);
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("a corpus entry").path())
            .collect();
        inputs.sort();
        assert!(inputs.len() >= 3, "{name}: only {} inputs", inputs.len());
        for path in inputs {
            let data = std::fs::read(&path).expect("a corpus file");
            let ended = std::panic::catch_unwind(|| target(&data));
            assert!(ended.is_ok(), "{name}: {} panicked", path.display());
        }
    }
}
