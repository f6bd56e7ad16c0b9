//! Replays the fuzzers' committed inputs on stable Rust, without libFuzzer: every file under
//! `fuzz/seeds/<target>/` (hand-written), `fuzz/corpus/<target>/` (libFuzzer's minimized corpus)
//! and `fuzz/regressions/<target>/` (inputs that once failed) goes through the same property
//! function the cargo-fuzz target `<target>` calls (`fuzz/props.rs`, included here by path).
//! A crash libFuzzer found stays fixed once its input is in `fuzz/regressions/<target>/`.

#[path = "../fuzz/props.rs"]
mod props;

use std::path::{Path, PathBuf};

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs one target's seeds, corpus and regressions; returns how many seeds and corpus inputs
/// there were.
fn replay(target: &str) -> usize {
    let (_, check) = props::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("no target {target}"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut corpus = inputs(&root.join("seeds").join(target));
    corpus.extend(inputs(&root.join("corpus").join(target)));
    let regressions = inputs(&root.join("regressions").join(target));
    for path in corpus.iter().chain(&regressions) {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(
            outcome.is_ok(),
            "{target}: property failed on {} ({:?})",
            path.display(),
            String::from_utf8_lossy(&data)
        );
    }
    corpus.len()
}

#[test]
fn every_target_is_listed() {
    let mut names: Vec<&str> = props::TARGETS.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "bearer_token",
            "event_id",
            "jsonrpc_decode",
            "mcp_param_header",
            "session_id"
        ]
    );
}

macro_rules! corpus_test {
    ($($target:ident),* $(,)?) => {$(
        #[test]
        fn $target() {
            assert!(
                replay(stringify!($target)) > 0,
                "fuzz/seeds/{0} and fuzz/corpus/{0} are empty",
                stringify!($target)
            );
        }
    )*};
}

corpus_test!(
    jsonrpc_decode,
    event_id,
    session_id,
    mcp_param_header,
    bearer_token
);
