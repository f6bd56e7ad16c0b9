//! cargo-fuzz target `mcp_param_header`: feeds libFuzzer's input to [`props::mcp_param_header`], which
//! decodes it the way the server does and asserts the decoder's properties (`fuzz/props.rs`).

#![no_main]

#[path = "../props.rs"]
mod props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| props::mcp_param_header(data));
