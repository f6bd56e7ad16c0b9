//! cargo-fuzz target `jsonrpc_decode`: feeds libFuzzer's input to [`props::jsonrpc_decode`], which
//! decodes it the way the server does and asserts the decoder's properties (`fuzz/props.rs`).

#![no_main]

#[path = "../props.rs"]
mod props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| props::jsonrpc_decode(data));
