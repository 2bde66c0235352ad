//! The regions the multi-gateway tests run, each its own gateway with its own development PKI
//! and database: who they are, their certificates, and the `[[partners]]` entry that names
//! one of them to another.

use crate::federation::{CQ_ISSUER, MY_ISSUER};
use std::path::Path;

/// Every region's key-encryption key and ID-hash secret (replicas of one region share them;
/// regions may use the same in a test).
pub(crate) const SECRETS: &str = "key_encryption_key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n\
                                  id_hash_secret = \"HxwdHh8QERITFBUWFxgZGhscHR4fAAECAwQFBgcICQo=\"";

pub(crate) struct Region {
    pub(crate) id: &'static str,
    pub(crate) issuer: &'static str,
    pub(crate) trust_domain: &'static str,
    /// The profile its partners name for it.
    pub(crate) profile: &'static str,
    /// Its own top-level settings beside `region` and `issuer`.
    pub(crate) own: &'static str,
}

pub(crate) const CHONGQING: Region = Region {
    id: "chongqing",
    issuer: CQ_ISSUER,
    trust_domain: "cq.talent",
    profile: "new-chongqing-talent-card-v1",
    own: "",
};

pub(crate) const MIANYANG: Region = Region {
    id: "mianyang",
    issuer: MY_ISSUER,
    trust_domain: "my.talent",
    profile: "science-city-card-v1",
    own: "district = \"510700\"\ncard_prefix = \"KJC\"\ntiers = [\"A\", \"B\", \"C\", \"D\", \"E\"]\n\
          own_profile = \"science-city-card-v1\"\n",
};

/// A data folder with the region's own development PKI (its server certificate names
/// `spiffe://TRUST_DOMAIN/partner/REGION`).
pub(crate) fn pki(r: &Region) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    talent_gateway::dev_certs::generate_for(
        &dir.path().join("certs"),
        r.trust_domain,
        "x.talent",
        r.id,
    )
    .expect("dev certs");
    dir
}

/// The identity a partner pins for `r`.
pub(crate) fn pin(r: &Region) -> String {
    format!("spiffe://{}/partner/{}", r.trust_domain, r.id)
}

/// The first lines of `me`'s config: who it is, `top` (more top-level settings), the secrets.
pub(crate) fn own_settings(me: &Region, top: &str) -> String {
    format!(
        "region = \"{}\"\nissuer = \"{}\"\nkey_prepublish_seconds = 5\n{}{top}\n{SECRETS}\n",
        me.id, me.issuer, me.own,
    )
}

/// The `[[partners]]` entry naming `p`, federated at `addr` under its CA `ca`, pinned to `pin`.
pub(crate) fn partner_entry(p: &Region, addr: &str, ca: &Path, pin: &str) -> String {
    format!(
        "\n[[partners]]\nid = \"{}\"\nprofile = \"{}\"\nissuer = \"{}\"\n\
         federation_endpoint = \"https://{addr}\"\nclient_ca = \"{}\"\nspiffe_id = \"{pin}\"\n",
        p.id,
        p.profile,
        p.issuer,
        ca.display(),
    )
}
