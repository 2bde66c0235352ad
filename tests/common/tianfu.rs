//! A third region's issuing office, as Chengdu would run it: "Tianfu" talent cards with claim
//! names of their own (`cardNumber`, `name`, `grade`), signed ES256 here with p256 directly
//! (never the gateway's code), its JWKS file and its token profile as a gateway reads it
//! from `profiles_dir`: nothing of it is compiled into the gateway.

use crate::fixtures::{b64, now};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The Tianfu issuer Chengdu signs as.
pub(crate) const ISSUER: &str = "urn:cn:510100:tianfu-talent-card";
/// Its profile id.
pub(crate) const PROFILE: &str = "tianfu-talent-card-v1";

/// The profile file, as Chengdu hands it to its partners. `algorithms` lists EdDSA too when
/// a Chengdu gateway signs its own cards with it.
pub(crate) fn profile_toml(algorithms: &str) -> String {
    format!(
        "# Tianfu talent card (Chengdu), v1.\nid = \"{PROFILE}\"\ntyp = \"JWT\"\n\
         algorithms = [{algorithms}]\nqr_prefix = \"TFRC1:\"\n\n[claims]\n\
         card_number = \"cardNumber\"\nholder_name = \"name\"\ntier = \"grade\"\n\
         nbf_required = false\n\n[card_number]\nprefix = \"TF\"\ndigits = 12\n"
    )
}

/// Chengdu's issuing office.
pub(crate) struct Tianfu {
    pub(crate) ec: p256::ecdsa::SigningKey,
    pub(crate) jwks_path: PathBuf,
    pub(crate) profiles_dir: PathBuf,
}

impl Tianfu {
    /// Writes the JWKS file and a profiles folder holding the Tianfu profile under `dir`.
    pub(crate) fn new(dir: &Path) -> Self {
        let t = Self {
            ec: p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng),
            jwks_path: dir.join("chengdu-jwks.json"),
            profiles_dir: dir.join("profiles"),
        };
        let p = t.ec.verifying_key().to_encoded_point(false);
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(p.x().expect("x")), "y": b64(p.y().expect("y")), "kid": "tf-ec-1", "alg": "ES256"});
        std::fs::write(&t.jwks_path, json!({ "keys": [jwk] }).to_string()).expect("write jwks");
        std::fs::create_dir_all(&t.profiles_dir).expect("profiles folder");
        std::fs::write(
            t.profiles_dir.join("tianfu.toml"),
            profile_toml("\"ES256\""),
        )
        .expect("write profile");
        t
    }

    /// The config naming `profiles_dir` and the partner entry.
    pub(crate) fn config(&self) -> String {
        format!(
            "profiles_dir = \"{}\"\n\n[[partners]]\nid = \"chengdu\"\nprofile = \"{PROFILE}\"\n\
             issuer = \"{ISSUER}\"\njwks_file = \"{}\"\n",
            self.profiles_dir.display(),
            self.jwks_path.display()
        )
    }

    pub(crate) fn claims(grade: &str) -> Value {
        let t = now();
        json!({"iss": ISSUER, "cardNumber": "TF510100000042", "name": "张蓉", "grade": grade, "iat": t - 60, "exp": t + 3600})
    }

    /// A token signed with `header`.
    pub(crate) fn sign(&self, header: &Value, claims: &Value) -> String {
        use p256::ecdsa::signature::Signer as _;
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let sig: p256::ecdsa::Signature = self.ec.sign(input.as_bytes());
        format!("{input}.{}", b64(sig.to_bytes()))
    }

    /// A Tianfu card token.
    pub(crate) fn token(&self, claims: &Value) -> String {
        self.sign(
            &json!({"alg": "ES256", "kid": "tf-ec-1", "typ": "JWT"}),
            claims,
        )
    }
}

/// `catalogue` (a catalogue file's text) as a new `version` that adds Chengdu: its region and
/// services, recognition both ways with Chongqing and Mianyang, and Chengdu's codes on the
/// mapping rows of the fast lane (CQ01/MY01), the health check (CQ10/MY07) and the scenic
/// spots (CQ13/MY10).
pub(crate) fn with_chengdu(catalogue: &str, version: &str) -> String {
    let mut out = String::new();
    let mut in_mapping = false;
    for line in catalogue.lines() {
        if line.starts_with("version = ") {
            out.push_str(&format!("version = \"{version}\"\n"));
            continue;
        }
        if line.starts_with("[[recognition]]") && !out.contains("id = \"chengdu\"") {
            out.push_str(CHENGDU_REGION);
        }
        out.push_str(line);
        out.push('\n');
        if line.starts_with("[[mappings]]") {
            in_mapping = true;
        } else if in_mapping {
            in_mapping = false;
            let code = match line.trim() {
                "chongqing = \"CQ01\"" => Some("TF01"),
                "chongqing = \"CQ10\"" => Some("TF02"),
                "chongqing = \"CQ13\"" => Some("TF03"),
                _ => None,
            };
            if let Some(code) = code {
                out.push_str(&format!("chengdu = \"{code}\"\n"));
            }
        }
    }
    out
}

const CHENGDU_REGION: &str = r#"[[regions]]
id = "chengdu"
name_zh = "成都市"
name_en = "Chengdu"
issuer = "urn:cn:510100:tianfu-talent-card"
tiers = ["A", "B", "C", "D"]

[[regions.services]]
code = "TF01"
name_en = "Government-service fast lane"
name_zh = "政务服务绿色通道"
tiers = "A-D"
quota = "unlimited"

[[regions.services]]
code = "TF02"
name_en = "Health check"
name_zh = "健康体检"
tiers = "A-C"
quota = "per_year 1"

[[regions.services]]
code = "TF03"
name_en = "Scenic spots"
name_zh = "文旅景区"
tiers = "A-D"
quota = "unlimited"

[[regions.services]]
code = "TF04"
name_en = "Talent apartment"
name_zh = "人才公寓"
tiers = "A-B"
quota = "once"

[[recognition]]
from = "chengdu"
to = "chongqing"
tiers = { A = "A", B = "B", C = "D", D = "F" }

[[recognition]]
from = "chongqing"
to = "chengdu"
tiers = { A = "A", B = "B", C = "C", D = "C", E = "D", F = "D" }

[[recognition]]
from = "chengdu"
to = "mianyang"
tiers = { A = "A", B = "B", C = "C", D = "E" }

[[recognition]]
from = "mianyang"
to = "chengdu"
tiers = { A = "A", B = "B", C = "C", D = "D", E = "D" }

"#;
