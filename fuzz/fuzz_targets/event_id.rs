//! cargo-fuzz target `event_id`: feeds libFuzzer's input to [`props::event_id`], which
//! decodes it the way the server does and asserts the decoder's properties (`fuzz/props.rs`).

#![no_main]

#[path = "../props.rs"]
mod props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| props::event_id(data));
