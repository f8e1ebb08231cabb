//! Replays the fuzz corpus kept in the repository (`fuzz/corpus/<target>/`) through the same
//! functions the cargo-fuzz targets run (`fuzz/harness.rs`), on stable Rust, in every
//! `cargo test`. A crash found by fuzzing is added to the corpus and stays fixed.

#[path = "../fuzz/harness.rs"]
mod harness;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut inputs = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target}: {} panics", path.display());
        inputs += 1;
    }
    assert!(inputs > 0, "the {target} corpus is empty");
    eprintln!("{target}: {inputs} inputs replayed");
}

#[test]
fn query_corpus() {
    replay("query", harness::query);
}

#[test]
fn user_input_corpus() {
    replay("user_input", harness::user_input);
}

#[test]
fn segment_corpus() {
    replay("segment", harness::segment);
}

#[test]
fn csv_import_corpus() {
    replay("csv_import", harness::csv_import);
}
