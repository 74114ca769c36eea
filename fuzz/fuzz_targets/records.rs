//! Fuzz target `records`: see `darwin::fuzz::records`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| darwin::fuzz::records(data));
