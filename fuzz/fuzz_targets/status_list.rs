//! A status list's `lst` (base64url of zlib), as a partner's list is decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use talent_gateway::credential::StatusList;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(list) = StatusList::decode(text, 1 << 20)
    {
        let n = list.capacity();
        if n > 0 {
            let _ = list.get(n - 1);
        }
    }
});
