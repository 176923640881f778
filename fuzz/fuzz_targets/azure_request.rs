#![no_main]

libfuzzer_sys::fuzz_target!(
    |data: &[u8]| keygate_http::dialect::azure::fuzzing::azure_request(data)
);
