#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keygate_http::dialect::aws::fuzzing::aws_request(data));
