#![no_main]

libfuzzer_sys::fuzz_target!(
    |data: &[u8]| keygate_providers::local::fuzzing::local_ciphertext(data)
);
