//! A counter token from a browser's Authorization header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use talent_gateway::credential::CounterTokenKey;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let key = CounterTokenKey::derive(&[7; 32]);
        let _ = key.verify(text, 1_800_000_000);
    }
});
