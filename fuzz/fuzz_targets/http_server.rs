#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| pipebuf_tests::fuzz::http_server::run(data));
