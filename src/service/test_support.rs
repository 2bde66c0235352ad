//! What the service's unit tests share: a gateway on an embedded database and test holders.

use super::{Gateway, IssueRequest};
use std::sync::Arc;

/// A valid GB 11643 number: `base17` and its check character.
pub(crate) fn id_number(base17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = base17
        .bytes()
        .zip(W)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let check = "10X98765432".as_bytes()[(sum % 11) as usize] as char;
    format!("{base17}{check}")
}

/// A gateway with default settings on SQLite under `dir`.
pub(crate) async fn gateway(dir: &std::path::Path) -> Arc<Gateway> {
    let settings = crate::config::Settings {
        data_dir: dir.to_path_buf(),
        ..Default::default()
    };
    let store = crate::store::connect(&settings.database_url())
        .await
        .expect("store");
    Gateway::start(&settings, store).await.expect("gateway")
}

/// Issue request `n` (0 to 9) for a tier C holder of a year.
pub(crate) fn issue_request(n: u32) -> IssueRequest {
    IssueRequest {
        holder_name: "张三".parse().expect("name"),
        id_number: id_number(&format!("3405241980010100{n}"))
            .parse()
            .expect("id"),
        tier: "C".parse().expect("tier"),
        category: "other".parse().expect("category"),
        valid_days: 365,
        holder_key: None,
        idempotency_key: None,
    }
}
