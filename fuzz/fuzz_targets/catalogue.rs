//! A catalogue document, as Admin.ImportCatalogue and `catalogue import` read it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = talent_gateway::domain::Catalogue::parse(text);
    }
});
