#![no_main]
//! cargo +nightly fuzz run csv_import   (corpus: fuzz/corpus/csv_import; see docs/reliability.md)

use libfuzzer_sys::fuzz_target;

#[path = "../harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::csv_import(data));
