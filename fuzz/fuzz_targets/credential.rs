//! The verify path's parsers on outside bytes: QR prefix, compact JWS, header, the JSON
//! scanner that reads header and payload before the signature, claims.
#![no_main]

use libfuzzer_sys::fuzz_target;
use talent_gateway::credential::{Claims, CompactJws, MAX_CREDENTIAL_BYTES, scan, strip_qr_prefix};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let token = strip_qr_prefix(text);
    let mut buffer = vec![0; CompactJws::buffer_len(token).min(3 * MAX_CREDENTIAL_BYTES)];
    if let Ok(jws) = CompactJws::parse(token, &mut buffer) {
        let _ = jws.header.has_unsupported_fields();
        if let Some(claims) = Claims::parse(jws.payload) {
            let _ = claims.int("exp");
            let _ = claims.text("sub");
            let _ = claims.status_index();
            let _ = claims.holder_key();
        }
    }
    // The scanner alone, on any bytes (Claims::parse below scans first, too).
    if let Ok(scanned) = scan(data) {
        let _ = scanned.str("iss");
        let _ = scanned.member("kid");
    }
    // The payload parser alone, on any bytes.
    if let Some(claims) = Claims::parse(data) {
        let _ = claims.obj("status").map(|s| s.str("x"));
    }
});
