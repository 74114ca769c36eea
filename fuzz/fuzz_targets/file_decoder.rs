//! Fuzz target `file_decoder`: see `darwin::fuzz::file_decoder`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| darwin::fuzz::file_decoder(data));
