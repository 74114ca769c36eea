//! Fuzz target `columnar`: see `darwin::fuzz::columnar`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| darwin::fuzz::columnar(data));
