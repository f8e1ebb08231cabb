#![no_main]
//! cargo +nightly fuzz run segment   (corpus: fuzz/corpus/segment; see docs/reliability.md)

use libfuzzer_sys::fuzz_target;

#[path = "../harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::segment(data));
