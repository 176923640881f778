#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keygate_http::dialect::gcp::fuzzing::gcp_request(data));
