#![no_main]
//! cargo +nightly fuzz run query   (corpus: fuzz/corpus/query; see docs/reliability.md)

use libfuzzer_sys::fuzz_target;

#[path = "../harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::query(data));
