//! `talent-gateway vectors --out DIR [--at UNIX]`: the shared test vectors (tests/vectors/).
//! A bundle, its trust anchor and credentials with the verdicts they must get at `at`, from
//! fixed-seed test keys: no database, no network, and the same bytes for the same `at`.

mod cases;
mod issuers;
mod keys;

use crate::domain::Catalogue;
use anyhow::Context as _;
use std::path::Path;

/// The files a vectors folder holds (the page's browser test and app teams read these names).
pub const BUNDLE_FILE: &str = "bundle.jwt";
pub const TAMPERED_BUNDLE_FILE: &str = "bundle-tampered.jwt";
pub const TRUST_FILE: &str = "trust.jwks.json";
pub const VECTORS_FILE: &str = "vectors.json";
pub const README_FILE: &str = "README.md";

/// The range `--at` may take: the cards' times lie up to 400 days around it.
const EARLIEST: i64 = 946_684_800; // 2000-01-01
const LATEST: i64 = 32_503_680_000; // 3000-01-01

/// What the folder's README says besides the table of cases.
const README_HEAD: &str = include_str!("vectors/README.head.md");

/// `vectors.json`, members in this order.
#[derive(serde::Serialize)]
struct VectorsFile<'a> {
    at: i64,
    bundle: &'static str,
    tampered_bundle: &'static str,
    trust: &'static str,
    cases: &'a [cases::Case],
}

/// Every file of the vectors at `at`, by name, in the order they are written.
pub fn generate(at: i64) -> anyhow::Result<Vec<(&'static str, String)>> {
    anyhow::ensure!(
        (EARLIEST..=LATEST).contains(&at),
        "--at must be Unix seconds between {EARLIEST} (2000) and {LATEST} (3000), not {at}"
    );
    let keys = issuers::Issuers::new();
    let claims = keys.bundle_claims(at, &cases::OWN_STATUSES, &cases::PARTNER_STATUSES)?;
    let catalogue = Catalogue::parse(issuers::CATALOGUE)
        .map_err(|p| anyhow::anyhow!("the shipped catalogue: {}", p.join("; ")))?;
    let bundle = keys.sign_bundle(&claims)?;
    let tampered = issuers::tamper(&bundle)?;
    let cases = cases::cases(&keys, &catalogue, at, super::output::iso);
    let vectors = VectorsFile {
        at,
        bundle: BUNDLE_FILE,
        tampered_bundle: TAMPERED_BUNDLE_FILE,
        trust: TRUST_FILE,
        cases: &cases,
    };
    let mut readme = README_HEAD.replace("{AT}", &at.to_string());
    readme = readme.replace("{AT_ISO}", &super::output::iso(at));
    readme.push_str("| case | reason | what it is |\n|---|---|---|\n");
    for c in &cases {
        readme.push_str(&format!(
            "| `{}` | `{}` | {} |\n",
            c.name, c.expected.reason, c.description
        ));
    }
    Ok(vec![
        (BUNDLE_FILE, format!("{bundle}\n")),
        (TAMPERED_BUNDLE_FILE, format!("{tampered}\n")),
        (
            TRUST_FILE,
            format!("{}\n", serde_json::to_string_pretty(&keys.own_jwks(at))?),
        ),
        (
            VECTORS_FILE,
            format!("{}\n", serde_json::to_string_pretty(&vectors)?),
        ),
        (README_FILE, readme),
    ])
}

/// Writes the vectors at `at` (now when None) into `out`, creating it.
pub fn run(out: &Path, at: Option<i64>) -> anyhow::Result<()> {
    let at = at.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    });
    let files = generate(at)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for (name, text) in &files {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let names: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
    println!(
        "wrote {} for --at {at} ({}) to {}",
        names.join(", "),
        super::output::iso(at),
        out.display()
    );
    Ok(())
}
