#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| pipebuf_tests::fuzz::tls_server::run(data));
