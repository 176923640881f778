#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keygate_core::fuzzing::envelope_stream(data));
