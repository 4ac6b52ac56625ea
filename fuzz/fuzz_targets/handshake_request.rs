#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| pipebuf_tests::fuzz::handshake_request::run(data));
