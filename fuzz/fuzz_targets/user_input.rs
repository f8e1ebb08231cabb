#![no_main]
//! cargo +nightly fuzz run user_input   (corpus: fuzz/corpus/user_input; see docs/reliability.md)

use libfuzzer_sys::fuzz_target;

#[path = "../harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::user_input(data));
