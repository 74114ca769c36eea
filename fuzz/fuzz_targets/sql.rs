//! Fuzz target `sql`: see `darwin::fuzz::sql`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| darwin::fuzz::sql(data));
