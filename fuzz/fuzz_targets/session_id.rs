//! cargo-fuzz target `session_id`: feeds libFuzzer's input to [`props::session_id`], which
//! decodes it the way the server does and asserts the decoder's properties (`fuzz/props.rs`).

#![no_main]

#[path = "../props.rs"]
mod props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| props::session_id(data));
