//! Replays every committed fuzz corpus (`fuzz/corpus/TARGET/`) through its target under the
//! plain test harness: an input that once passed and now panics fails `scripts/test`, without a
//! fuzzer. Every target must have a corpus.

#![allow(clippy::disallowed_methods)] // Reads the corpus files.

use std::path::Path;

#[test]
fn every_corpus_replays_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let mut failures = Vec::new();
    let mut total = 0;
    for (name, run) in bm_fuzz::TARGETS {
        let dir = root.join(name);
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (every target needs a committed corpus)", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "{}: empty corpus", dir.display());
        for path in inputs {
            let data = std::fs::read(&path).unwrap();
            total += 1;
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                failures.push(path.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "{} of {total} corpus inputs fail:\n{}", failures.len(), failures.join("\n"));
}
