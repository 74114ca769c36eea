//! Fuzz target `checkpoint`: see `darwin::fuzz::checkpoint`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| darwin::fuzz::checkpoint(data));
