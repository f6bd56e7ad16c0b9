//! cargo-fuzz target `bearer_token`: feeds libFuzzer's input to [`props::bearer_token`], which
//! decodes it the way the server does and asserts the decoder's properties (`fuzz/props.rs`).

#![no_main]

#[path = "../props.rs"]
mod props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| props::bearer_token(data));
