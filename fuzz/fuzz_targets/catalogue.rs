//! A catalogue document, as Admin.ImportCatalogue and `catalogue import` read it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        // A valid document is checked as an import checks it (mappings, amounts, stays).
        if let Ok(c) = talent_gateway::domain::Catalogue::parse(text) {
            let _ = c.quota_mismatches();
        }
    }
});
