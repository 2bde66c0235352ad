//! What refusing a hostile token costs, against what accepting a valid credential of the same
//! issuer and algorithm costs, measured in the same run (interleaved rounds, medians).
//!
//! Two parts:
//! - the 29 tokens of the attack suite (tests/common/hostile_tokens.rs), each verified by
//!   `Verification::verify` (the call VerifyCard makes, without the network);
//! - generated families (many names, duplicates plain and escaped, deep arrays and objects,
//!   long plain and escaped strings, long numbers, huge exponents, maximal floats), each
//!   across sizes up to 8 KiB, placed in the header and in the claims, under own EdDSA keys
//!   (bad signature: only we hold the key), a partner's EdDSA, ES256 and SM2 keys (genuine
//!   signature and bad), verified through `Verification::verify_many` (the core of
//!   VerifyCards) in calls of many copies, and compared with a small valid credential and
//!   with a valid one of about the same size (a padding claim).
//!
//! `cargo bench --bench hostile_tokens`; exits non-zero when a refusal costs more than 2.0
//! times accepting a small valid credential of its issuer and algorithm. A token that reaches
//! the signature check (Ed25519, ES256 and SM2 hash the whole message, 8 KiB at most) is gated
//! against the valid credential of the same size instead, and the table marks it with `*`.
//! An own card refused for a forged signature has had one unbatched verify (a signature that
//! fails cannot share a batch): it is gated against a valid own card of the same size
//! accepted alone, as VerifyCard accepts one for a caller not in good standing, and marked
//! `+`; its ratio to the batched acceptance is printed too.
//!
//! Signature families vary the third part instead, across the same sizes, over a header and
//! claims as issued (genuine and forged signatures, own cards included: a holder has one):
//! the signature followed by more of the alphabet, by bytes outside it, by padding `=`, by
//! whitespace, by dots, and a garbage signature of the alphabet in its place. The signed
//! message stays small, so each is gated against a small valid credential (an own card
//! refused at the signature step: against a small one accepted alone).

#[path = "../tests/common/hostile_tokens.rs"]
mod hostile;

use base64::Engine;
use hostile::b64;
use p256::ecdsa::signature::Signer as _;
use serde_json::{Value, json};
use std::time::Instant;
use talent_gateway::config::{PartnerConfig, Settings};
use talent_gateway::credential::KeyEncryptionKey;
use talent_gateway::domain::Reason;
use talent_gateway::service::{IssueRequest, Services, Verification};
use talent_verifier::credential::{Sm2IssuerKey, sm2_public_jwk};

const ISSUER: &str = "urn:cn:510700:kjc-talent-card";
const ROUNDS: usize = 7;
const CALLS: u32 = 2_000;
/// The gate: a refusal costs at most this many acceptances.
const GATE: f64 = 2.0;
/// Size buckets: the hostile part's encoded length; the last fills the token to 8 KiB.
const SIZES: [usize; 7] = [256, 512, 1024, 2048, 4096, 6144, 8192];
const MAX_TOKEN: usize = 8192;
const KEK: [u8; 32] = [0x42; 32];

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ed = ed25519_dalek::SigningKey::from_bytes(&rand::random());
    let es = p256::ecdsa::SigningKey::from_slice(&rand::random::<[u8; 32]>())?;
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": "my-ed-1", "alg": "EdDSA",
        "x": b64(ed.verifying_key().as_bytes())});
    let point = es.verifying_key().to_encoded_point(false);
    let jwk_es = json!({"kty": "EC", "crv": "P-256", "kid": "my-ec-1", "alg": "ES256",
        "x": b64(point.x().ok_or(anyhow::anyhow!("x"))?),
        "y": b64(point.y().ok_or(anyhow::anyhow!("y"))?)});
    let sm = Sm2IssuerKey::generate();
    let mut jwk_sm = sm2_public_jwk(sm.verifying_key());
    jwk_sm["kid"] = json!("my-sm2-1");
    let jwks = json!({ "keys": [jwk, jwk_es, jwk_sm] }).to_string();
    let jwks_file = dir.path().join("mianyang-jwks.json");
    std::fs::write(&jwks_file, &jwks)?;
    let settings = Settings {
        data_dir: dir.path().join("data"),
        key_encryption_key: Some(base64::engine::general_purpose::STANDARD.encode(KEK)),
        partners: vec![PartnerConfig {
            id: "mianyang".into(),
            profile: "science-city-card-v1".into(),
            issuer: ISSUER.into(),
            jwks_file: Some(jwks_file),
            federation_endpoint: None,
            spiffe_id: None,
            client_ca: None,
        }],
        ..Settings::default()
    };
    std::fs::create_dir_all(&settings.data_dir)?;
    let store =
        talent_gateway::store::connect(&format!("sqlite://{}", dir.path().join("gw.db").display()))
            .await?;
    let services = Services::start(
        talent_gateway::server::service_settings(&settings)?,
        store.clone(),
    )
    .await?;
    let gateway = services.verification.clone();

    let t = talent_gateway::service::now();
    let claims = json!({"iss": ISSUER, "card_no": "KJC0000000042", "holder_name": "李雪",
        "level": "B", "iat": t - 60, "nbf": t - 60, "exp": t + 3600});
    let valid = hostile::valid(&claims, &ed);
    anyhow::ensure!(
        gateway.verify(&valid).reason == Reason::Ok,
        "the valid token verifies"
    );
    let cases = hostile::hostile_tokens(&claims, &ed, &jwk.to_string(), jwks.as_bytes());
    for (what, token, want) in &cases {
        let got = gateway.verify(token).reason.as_str();
        anyhow::ensure!(got == *want, "{what}: {got}, expected {want}");
    }
    attack_suite(&gateway, &valid, &cases)?;

    // The own key, opened from the store with the key-encryption key this run chose: only
    // so that valid own cards of every size can be made.
    let record = store
        .signing_keys()
        .await?
        .into_iter()
        .next()
        .ok_or(anyhow::anyhow!("an own key"))?;
    let secret = KeyEncryptionKey::from_bytes(KEK).open(&record.sealed_private_key, &record.kid)?;
    let own = ed25519_dalek::SigningKey::from_bytes(
        secret
            .as_slice()
            .try_into()
            .map_err(|_| anyhow::anyhow!("32 bytes"))?,
    );
    let own_token = services
        .issuance
        .issue_card("bench", own_request()?)
        .await?
        .token;
    let own_claims: Value = serde_json::from_slice(&talent_gateway::credential::b64_decode(
        own_token.split('.').nth(1).unwrap_or_default(),
    )?)?;
    let own_header = format!(
        r#"{{"alg":"EdDSA","kid":"{}","typ":"talent-card+jwt""#,
        record.kid
    );
    families(
        &gateway, own, own_token, own_claims, own_header, ed, es, sm, claims,
    )
    .await
}

fn own_request() -> anyhow::Result<IssueRequest> {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let base = "34052419800101001";
    let sum: u32 = base
        .bytes()
        .zip(W)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let check = char::from(b"10X98765432"[(sum % 11) as usize]);
    Ok(IssueRequest {
        holder_name: "张三".parse().map_err(|_| anyhow::anyhow!("name"))?,
        id_number: format!("{base}{check}")
            .parse()
            .map_err(|_| anyhow::anyhow!("id"))?,
        tier: "C".parse().map_err(|_| anyhow::anyhow!("tier"))?,
        category: "other".parse().map_err(|_| anyhow::anyhow!("category"))?,
        valid_days: 365,
        holder_key: None,
        idempotency_key: None,
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The attack suite's tokens through `verify`, against the valid partner token.
fn attack_suite(
    gateway: &Verification,
    valid: &str,
    cases: &[(&'static str, String, &'static str)],
) -> anyhow::Result<()> {
    let time = |token: &str| {
        let start = Instant::now();
        for _ in 0..CALLS {
            std::hint::black_box(gateway.verify(std::hint::black_box(token)));
        }
        start.elapsed().as_nanos() as f64 / f64::from(CALLS)
    };
    let mut valid_ns = Vec::new();
    let mut hostile_ns = vec![Vec::new(); cases.len()];
    for _ in 0..ROUNDS {
        valid_ns.push(time(valid));
        for (i, (_, token, _)) in cases.iter().enumerate() {
            hostile_ns[i].push(time(token));
        }
    }
    let valid_median = median(&mut valid_ns);
    println!(
        "== the attack suite through verify (VerifyCard's call)\nvalid partner token: \
         {valid_median:.0} ns per verification (median of {ROUNDS} rounds of {CALLS})"
    );
    // A token reaches the signature check when spoiling its signature makes it BAD_SIGNATURE.
    let reaches_signature = |token: &str| {
        let Some((input, sig)) = token.rsplit_once('.') else {
            return false;
        };
        let spoiled = if sig.starts_with('A') { 'B' } else { 'A' };
        let tampered = format!("{input}.{spoiled}{}", sig.get(1..).unwrap_or_default());
        gateway.verify(&tampered).reason == Reason::BadSignature
    };
    let (mut before_worst, mut after_worst, mut after_n) = (0.0f64, 0.0f64, 0);
    println!(
        "{:<42} {:<22} {:>9} {:>7}  refused",
        "hostile token", "refused as", "ns", "ratio"
    );
    for (i, (what, token, reason)) in cases.iter().enumerate() {
        let ns = median(&mut hostile_ns[i]);
        let ratio = ns / valid_median;
        let after = reaches_signature(token);
        if after {
            after_n += 1;
            after_worst = after_worst.max(ratio);
        } else {
            before_worst = before_worst.max(ratio);
        }
        let when = if after { "after" } else { "before" };
        println!("{what:<42} {reason:<22} {ns:>9.0} {ratio:>7.2}  {when} the signature check");
    }
    println!(
        "{} hostile tokens. {} refused before the signature check, the dearest at \
         {before_worst:.2} of an acceptance; {after_n} at the signature step or after it, the \
         dearest at {after_worst:.2}\n",
        cases.len(),
        cases.len() - after_n
    );
    anyhow::ensure!(
        before_worst < 0.5,
        "a refusal before the signature check costs half an acceptance"
    );
    // The same path as a valid token, less the recognition: 10% for this machine's noise.
    anyhow::ensure!(after_worst < 1.1, "a refusal costs more than an acceptance");
    Ok(())
}

/// A family: its name and the members it adds, in at most `budget` bytes of JSON.
type Family = (&'static str, fn(usize) -> String);

/// Repeats `piece(i)` while it fits `budget`, then appends `last` if it fits.
fn fill(budget: usize, piece: impl Fn(usize) -> String, last: &str) -> String {
    let mut out = String::new();
    let room = budget.saturating_sub(last.len());
    for i in 0.. {
        let p = piece(i);
        if out.len() + p.len() > room {
            break;
        }
        out.push_str(&p);
    }
    out.push_str(last);
    out
}

/// Joins `item(i)` with commas inside `,"name":[ ... ]`, then `last`, within `budget`.
fn array(budget: usize, name: &str, item: impl Fn(usize) -> String, last: &str) -> String {
    let head = format!(r#","{name}":["#);
    let tail = if last.is_empty() {
        "]".to_owned()
    } else {
        format!(",{last}]")
    };
    let items = fill(
        budget.saturating_sub(head.len() + tail.len()),
        |i| format!("{}{}", if i == 0 { "" } else { "," }, item(i)),
        "",
    );
    let items = if items.is_empty() { "0".into() } else { items };
    format!("{head}{items}{tail}")
}

fn two_chars(i: usize) -> String {
    const A: &[u8] = b"abcdfghjkmpqrtuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    format!(
        "{}{}",
        char::from(A[i / A.len() % A.len()]),
        char::from(A[i % A.len()])
    )
}

fn nest(depth: usize, array: bool) -> String {
    if array {
        format!("{}0{}", "[".repeat(depth), "]".repeat(depth))
    } else {
        format!("{}0{}", r#"{"o":"#.repeat(depth), "}".repeat(depth))
    }
}

const FAMILIES: [Family; 11] = [
    ("distinct names", |b| {
        fill(b, |i| format!(r#","{}":0"#, two_chars(i)), "")
    }),
    ("duplicate names", |b| fill(b, |_| r#","dd":0"#.into(), "")),
    // each name twice, plain then escaped
    ("escaped duplicates", |b| {
        fill(
            b,
            |i| {
                let d = if i % 2 == 0 { "d" } else { r"\u0064" };
                format!(r#","{d}{}":0"#, two_chars(i / 2))
            },
            "",
        )
    }),
    // nests within the bound, then one past it at the end
    ("deep arrays", |b| {
        array(b, "deep", |_| nest(14, true), &nest(17, true))
    }),
    ("deep objects", |b| {
        array(b, "deep", |_| nest(14, false), &nest(17, false))
    }),
    ("long string", |b| {
        format!(r#","long":"{}""#, "x".repeat(b.saturating_sub(10)))
    }),
    ("escaped string", |b| {
        let body = fill(
            b.saturating_sub(10),
            |i| ["\\u00e9", "\\ud83d\\ude00", "\\n", "\\\"", "\\u4e2d"][i % 5].into(),
            "",
        );
        format!(r#","esc":"{body}""#)
    }),
    // 40-digit integers, then one of 41 digits
    ("long integers", |b| {
        array(b, "ints", |_| "9".repeat(40), &"9".repeat(41))
    }),
    ("long floats", |b| {
        array(
            b,
            "floats",
            |_| "1.23456789012345678901234567890123456e-9".into(),
            "",
        )
    }),
    // exponents too large for an i32 but harmless (negative, zero significand), then one
    // out of range
    ("huge exponents", |b| {
        array(
            b,
            "exps",
            |i| {
                if i % 2 == 0 {
                    format!("1e-{}", "9".repeat(37))
                } else {
                    format!("0e+{}", "9".repeat(37))
                }
            },
            &format!("1e+{}", "9".repeat(37)),
        )
    }),
    ("maximal floats", |b| {
        array(b, "max", |_| "1.7976931348623157e308".into(), "")
    }),
];

/// A family that varies the signature part: its name and the part it writes from the
/// signature as signed (base64url) and a budget of bytes.
type SignatureFamily = (&'static str, fn(&str, usize) -> String);

/// `head`, then `piece(i)` repeated while the whole fits `budget`.
fn after(head: &str, budget: usize, piece: impl Fn(usize) -> String) -> String {
    format!(
        "{head}{}",
        fill(budget.saturating_sub(head.len()), piece, "")
    )
}

const SIGNATURE_FAMILIES: [SignatureFamily; 6] = [
    // decodes, to far more than 64 bytes
    ("over-long signature", |sig, b| {
        after(sig, b, |_| "A".into())
    }),
    ("non-base64 signature", |sig, b| {
        after(sig, b, |i| {
            ["+", "/", "!", "~", "%", "é", "\\"][i % 7].into()
        })
    }),
    ("padded signature", |sig, b| after(sig, b, |_| "=".into())),
    // the signature's own characters, each followed by whitespace
    ("whitespace signature", |sig, b| {
        let chars = sig.as_bytes();
        fill(
            b,
            |i| {
                let ws = [" ", "\t", "\r", "\n"][i % 4];
                format!("{}{ws}", char::from(chars[i % chars.len()]))
            },
            "",
        )
    }),
    ("dotted signature", |sig, b| {
        after(sig, b, |i| format!(".{}", &sig[..(i % 8) + 1]))
    }),
    // of the alphabet and a decodable length (a multiple of 4), never 64 bytes
    ("garbage signature", |_, b| {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..b / 4 * 4)
            .map(|i| char::from(A[(i * 37 + i / 64) % A.len()]))
            .collect()
    }),
];

/// Signs a signing input.
type Sign = Box<dyn Fn(&[u8]) -> Vec<u8>>;

/// An issuer and algorithm the families are signed under.
struct Signer {
    name: &'static str,
    /// The header's members, without the closing brace.
    header: String,
    claims: Value,
    genuine: Sign,
    /// A signature by someone else's key of the same algorithm.
    forged: Sign,
    /// Credentials per verify_many call.
    per_call: usize,
}

impl Signer {
    fn token(&self, header_extra: &str, claims_extra: &str, genuine: bool) -> String {
        let claims = self.claims.to_string();
        let claims = format!("{}{claims_extra}}}", &claims[..claims.len() - 1]);
        let input = format!(
            "{}.{}",
            b64(format!("{}{header_extra}}}", self.header)),
            b64(claims)
        );
        let sig = if genuine {
            (self.genuine)(input.as_bytes())
        } else {
            (self.forged)(input.as_bytes())
        };
        format!("{input}.{}", b64(sig))
    }

    /// The token as issued (or forged), its signature part rewritten by `make` within
    /// about `encoded` bytes, or what fits the token to 8 KiB.
    fn with_signature(
        &self,
        genuine: bool,
        make: fn(&str, usize) -> String,
        encoded: usize,
    ) -> String {
        let token = self.token("", "", genuine);
        let (input, sig) = token.rsplit_once('.').unwrap_or((&token, ""));
        let budget = encoded.min(MAX_TOKEN.saturating_sub(input.len() + 1));
        format!("{input}.{}", make(sig, budget))
    }

    /// A hostile part of about `encoded` base64 characters, or what fits the token to 8 KiB.
    fn budget(&self, encoded: usize) -> usize {
        let base = self.token("", "", true).len();
        let fits = (MAX_TOKEN.saturating_sub(base + 8)) * 3 / 4;
        (encoded * 3 / 4).min(fits)
    }
}

/// Cost per verification of `token` through `verify` (the signature checked alone).
fn per_single(gateway: &Verification, token: &str, n: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(gateway.verify(std::hint::black_box(token)));
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

/// Verdicts and cost per credential of `token` through `verify_many`, in calls of `n` copies.
async fn per_credential(gateway: &Verification, token: &str, n: usize) -> f64 {
    let call: Vec<&str> = vec![token; n];
    let start = Instant::now();
    std::hint::black_box(gateway.verify_many(std::hint::black_box(&call)).await);
    start.elapsed().as_nanos() as f64 / n as f64
}

struct Row {
    family: &'static str,
    placement: &'static str,
    /// The signature part is hostile; the signed message is small.
    signature_part: bool,
    size: usize,
    signer: usize,
    genuine: bool,
    token: String,
    reason: Reason,
    reaches_signature: bool,
    ns: Vec<f64>,
}

#[allow(clippy::too_many_arguments)]
async fn families(
    gateway: &Verification,
    own: ed25519_dalek::SigningKey,
    own_token: String,
    own_claims: Value,
    own_header: String,
    ed: ed25519_dalek::SigningKey,
    es: p256::ecdsa::SigningKey,
    sm: Sm2IssuerKey,
    claims: Value,
) -> anyhow::Result<()> {
    let attacker_sm = Sm2IssuerKey::generate();
    let attacker_ed = ed25519_dalek::SigningKey::from_bytes(&rand::random());
    let attacker_es = p256::ecdsa::SigningKey::from_slice(&rand::random::<[u8; 32]>())?;
    let ed_sign = move |k: &ed25519_dalek::SigningKey, m: &[u8]| {
        use ed25519_dalek::Signer as _;
        k.sign(m).to_bytes().to_vec()
    };
    let es_sign = |k: &p256::ecdsa::SigningKey, m: &[u8]| {
        let s: p256::ecdsa::Signature = k.sign(m);
        s.to_bytes().to_vec()
    };
    let (a1, a2) = (attacker_ed.clone(), attacker_ed);
    let signers = [
        Signer {
            name: "own EdDSA",
            header: own_header,
            claims: own_claims,
            genuine: Box::new(move |m| ed_sign(&own, m)),
            forged: Box::new(move |m| ed_sign(&a1, m)),
            per_call: 200,
        },
        Signer {
            name: "partner EdDSA",
            header: r#"{"alg":"EdDSA","kid":"my-ed-1","typ":"JWT""#.into(),
            claims: claims.clone(),
            genuine: Box::new(move |m| ed_sign(&ed, m)),
            forged: Box::new(move |m| ed_sign(&a2, m)),
            per_call: 50,
        },
        Signer {
            name: "partner ES256",
            header: r#"{"alg":"ES256","kid":"my-ec-1","typ":"JWT""#.into(),
            claims: claims.clone(),
            genuine: Box::new(move |m| es_sign(&es, m)),
            forged: Box::new(move |m| es_sign(&attacker_es, m)),
            per_call: 20,
        },
        // SM2 verifies cost several Ed25519 ones: fewer per call, the same gate.
        Signer {
            name: "partner SM2",
            header: r#"{"alg":"SM2","kid":"my-sm2-1","typ":"JWT""#.into(),
            claims,
            genuine: Box::new(move |m| sm.sign(m).to_vec()),
            forged: Box::new(move |m| attacker_sm.sign(m).to_vec()),
            per_call: 8,
        },
    ];
    // Valid references: small, and padded to each size.
    let mut valid: Vec<Vec<(String, Vec<f64>)>> = Vec::new();
    for (i, s) in signers.iter().enumerate() {
        let mut refs = vec![(
            if i == 0 {
                own_token.clone()
            } else {
                s.token("", "", true)
            },
            Vec::new(),
        )];
        for size in SIZES {
            let pad = format!(
                r#","pad":"{}""#,
                "p".repeat(s.budget(size).saturating_sub(10))
            );
            refs.push((s.token("", &pad, true), Vec::new()));
        }
        for (token, _) in &refs {
            let v = gateway.verify(token);
            anyhow::ensure!(v.valid(), "{}: the valid reference verifies: {v:?}", s.name);
        }
        valid.push(refs);
    }
    // The hostile tokens: own cards only with a forged signature (only we hold the key).
    let mut rows = Vec::new();
    for (family, make) in FAMILIES {
        for placement in ["header", "claims"] {
            for size in SIZES {
                for (signer, s) in signers.iter().enumerate() {
                    for genuine in [true, false] {
                        if signer == 0 && genuine {
                            continue;
                        }
                        let extra = make(s.budget(size));
                        let token = if placement == "header" {
                            s.token(&extra, "", genuine)
                        } else {
                            s.token("", &extra, genuine)
                        };
                        anyhow::ensure!(token.len() <= MAX_TOKEN, "{family}: {}", token.len());
                        let reason = gateway.verify(&token).reason;
                        let forged = s.token(
                            if placement == "header" { &extra } else { "" },
                            if placement == "header" { "" } else { &extra },
                            false,
                        );
                        let reaches_signature =
                            gateway.verify(&forged).reason == Reason::BadSignature;
                        rows.push(Row {
                            family,
                            placement,
                            signature_part: false,
                            size,
                            signer,
                            genuine,
                            token,
                            reason,
                            reaches_signature,
                            ns: Vec::new(),
                        });
                    }
                }
            }
        }
    }
    // The signature families: own cards too, genuine and forged (a holder has a genuine one).
    for (family, make) in SIGNATURE_FAMILIES {
        for size in SIZES {
            for (signer, s) in signers.iter().enumerate() {
                for genuine in [true, false] {
                    let token = s.with_signature(genuine, make, size);
                    anyhow::ensure!(token.len() <= MAX_TOKEN, "{family}: {}", token.len());
                    let reason = gateway.verify(&token).reason;
                    anyhow::ensure!(
                        reason != Reason::Ok,
                        "{family} at {size}: {reason:?} accepted"
                    );
                    rows.push(Row {
                        family,
                        placement: "signature",
                        signature_part: true,
                        size,
                        signer,
                        genuine,
                        token,
                        reason,
                        reaches_signature: reason == Reason::BadSignature,
                        ns: Vec::new(),
                    });
                }
            }
        }
    }
    // The floor for a forged own card: nothing hostile, only the signature is someone else's
    // (one unbatched verify, where a valid card shares a batch).
    let floor = signers[0].token("", "", false);
    let mut floor_ns = Vec::new();
    // Valid own cards accepted alone, small and at each size.
    let mut alone_ns: Vec<Vec<f64>> = vec![Vec::new(); valid[0].len()];
    // Interleaved rounds: every token once per round, the valid references among them.
    for _ in 0..ROUNDS {
        floor_ns.push(per_credential(gateway, &floor, signers[0].per_call).await);
        for (k, (token, _)) in valid[0].iter().enumerate() {
            alone_ns[k].push(per_single(gateway, token, signers[0].per_call));
        }
        for (signer, refs) in valid.iter_mut().enumerate() {
            for (token, ns) in refs.iter_mut() {
                ns.push(per_credential(gateway, token, signers[signer].per_call).await);
            }
        }
        for row in &mut rows {
            let n = signers[row.signer].per_call;
            row.ns.push(per_credential(gateway, &row.token, n).await);
        }
    }
    let valid_ns: Vec<Vec<f64>> = valid
        .iter_mut()
        .map(|refs| refs.iter_mut().map(|(_, ns)| median(ns)).collect())
        .collect();
    println!("== generated families through verify_many (VerifyCards' core)");
    for (i, s) in signers.iter().enumerate() {
        let sized: Vec<String> = SIZES
            .iter()
            .zip(&valid_ns[i][1..])
            .map(|(size, ns)| format!("{size}: {ns:.0}"))
            .collect();
        println!(
            "valid {:<14} {:>7.0} ns per credential (calls of {}, token {} bytes); padded to \
             size: {}",
            s.name,
            valid_ns[i][0],
            s.per_call,
            valid[i][0].0.len(),
            sized.join(", ")
        );
    }
    let alone_ns: Vec<f64> = alone_ns.iter_mut().map(|ns| median(ns)).collect();
    let floor = median(&mut floor_ns);
    println!(
        "valid own EdDSA accepted alone {:>7.0} ns (small); padded to size: {}",
        alone_ns[0],
        SIZES
            .iter()
            .zip(&alone_ns[1..])
            .map(|(size, ns)| format!("{size}: {ns:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "forged own card, nothing hostile: {floor:.0} ns per credential, {:.2} of a valid one \
         batched, {:.2} of a valid one alone (one unbatched verify: the floor for a forgery)",
        floor / valid_ns[0][0],
        floor / alone_ns[0]
    );
    println!(
        "\nns per credential, then the ratio to a small valid credential of the same issuer \
         and algorithm / to one of the same size; `*`: reaches the signature check and is \
         gated against the same size (the signature hashes the whole message); `+`: an own \
         card with a forged signature, gated against a valid own card of the same size \
         accepted alone (the `alone` column)"
    );
    println!(
        "{:<20} {:<9} {:>5} {:<14} {:<7} {:<22} {:>8} {:>6} {:>6} {:>6}",
        "family", "in", "size", "issuer", "sig", "verdict", "ns", "small", "same", "alone"
    );
    let mut failures = Vec::new();
    // Worst ratio per size bucket: against a small card, against the same size, as gated.
    let mut curve = vec![(0.0f64, 0.0f64, 0.0f64); SIZES.len()];
    for row in &mut rows {
        let ns = median(&mut row.ns);
        let k = SIZES.iter().position(|s| *s == row.size).unwrap_or(0);
        let small = ns / valid_ns[row.signer][0];
        let same = ns / valid_ns[row.signer][k + 1];
        let forged_own = row.signer == 0 && row.reason == Reason::BadSignature;
        // A hostile signature part leaves the signed message small: gated as small.
        let alone = ns / alone_ns[if row.signature_part { 0 } else { k + 1 }];
        let by_size = small > GATE && row.reaches_signature && !row.signature_part;
        let (gated, mark) = if forged_own {
            (alone, "+")
        } else if by_size {
            (same, "*")
        } else {
            (small, "")
        };
        curve[k].0 = curve[k].0.max(small);
        curve[k].1 = curve[k].1.max(same);
        curve[k].2 = curve[k].2.max(gated);
        let alone_col = if forged_own {
            format!("{alone:.2}")
        } else {
            "-".to_owned()
        };
        println!(
            "{:<20} {:<9} {:>5} {:<14} {:<7} {:<22} {:>8.0} {:>6.2} {:>6.2} {alone_col:>6}{mark}",
            row.family,
            row.placement,
            row.size,
            signers[row.signer].name,
            if row.genuine { "genuine" } else { "forged" },
            row.reason.as_str(),
            ns,
            small,
            same,
        );
        if gated > GATE {
            failures.push(format!(
                "{} in the {} at {} bytes, {} {}: {gated:.2}",
                row.family,
                row.placement,
                row.size,
                signers[row.signer].name,
                if row.genuine { "genuine" } else { "forged" }
            ));
        }
    }
    println!("\ncurve over size: worst ratio per size bucket (all families, placements, issuers)");
    println!(
        "{:>5} {:>14} {:>14} {:>10}",
        "size", "to small card", "to same size", "as gated"
    );
    for (size, (small, same, gated)) in SIZES.iter().zip(&curve) {
        println!("{size:>5} {small:>14.2} {same:>14.2} {gated:>10.2}");
    }
    println!(
        "{} generated tokens; gate {GATE:.1}: {}",
        rows.len(),
        if failures.is_empty() {
            "passed".to_owned()
        } else {
            format!("{} over it", failures.len())
        }
    );
    for f in &failures {
        println!("over the gate: {f}");
    }
    anyhow::ensure!(
        failures.is_empty(),
        "a refusal costs more than {GATE} acceptances"
    );
    Ok(())
}
