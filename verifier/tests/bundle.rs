//! The bundle reader on bundles made by hand: what opens, what is refused and why, and the
//! verdicts from an opened bundle.

use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use talent_verifier::bundle::{
    Anchor, BUNDLE_TYPE, BundleClaims, BundleError, BundleIssuer, BundleRevokedKey, OfflineBundle,
};
use talent_verifier::credential::{
    IssuerKey, Sm2IssuerKey, StatusList, b64, jwk_set, public_jwk, sign_compact, sm2_public_jwk,
    sm2_sign_compact,
};
use talent_verifier::domain::{CardNumber, Reason, Tier};
use talent_verifier::trust::ProfileSet;

const OWN: &str = "urn:cn:500000:talent-card";
const PARTNER: &str = "urn:cn:510700:kjc-talent-card";
const SUSPENDED: &str = "urn:test:suspended-partner";
const STALE: &str = "urn:test:stale-partner";
const STALE_DETAIL: &str = "no good trust bundle from stale for 7200 s (limit 3600 s)";
/// The time verdicts are asked at.
const T: i64 = 1_800_000_000;
/// Own card indexes with a status.
const REVOKED_IDX: u64 = 3;
const SUSPENDED_IDX: u64 = 4;

fn ed(seed: u8) -> IssuerKey {
    IssuerKey::new(SigningKey::from_bytes(&[seed; 32]))
}

/// A signer of JWS: Ed25519 or SM2.
enum Key {
    Ed(IssuerKey),
    Sm2(Sm2IssuerKey),
}

impl Key {
    fn kid(&self) -> String {
        match self {
            Key::Ed(k) => k.kid().to_owned(),
            Key::Sm2(k) => k.kid().to_owned(),
        }
    }
    fn jwk(&self) -> Value {
        match self {
            Key::Ed(k) => public_jwk(&k.verifying_key()),
            Key::Sm2(k) => sm2_public_jwk(k.verifying_key()),
        }
    }
    fn sign(&self, typ: &str, claims: &Value) -> String {
        let bytes = claims.to_string();
        match self {
            Key::Ed(k) => sign_compact(
                &json!({"alg": "EdDSA", "typ": typ, "kid": k.kid()}),
                bytes.as_bytes(),
                k.signing_key(),
            ),
            Key::Sm2(k) => sm2_sign_compact(
                &json!({"alg": "SM2", "typ": typ, "kid": k.kid()}),
                bytes.as_bytes(),
                k,
            ),
        }
    }
}

fn status_token(issuer: &str, key: &Key, entries: &[(u64, u8)]) -> String {
    let mut list = StatusList::new(1024);
    for &(idx, v) in entries {
        list.set(idx as usize, v);
    }
    key.sign(
        "statuslist+jwt",
        &json!({"iss": issuer, "sub": "https://status", "iat": T - 60, "exp": T - 30,
                "status_list": {"bits": 2, "lst": list.encode()}}),
    )
}

fn profile(id: &str) -> Value {
    serde_json::to_value(&*ProfileSet::shipped().get(id).expect("shipped")).expect("json")
}

fn catalogue() -> Value {
    toml::from_str(include_str!("../../catalogue/catalogue.toml")).expect("catalogue as JSON")
}

/// Everything a test bundle is made of; tests change a part and sign.
struct Fixture {
    own: Key,
    /// An own key revoked since: listed in the own entry's `revoked`.
    own_revoked: IssuerKey,
    partner: IssuerKey,
    claims: BundleClaims,
}

impl Fixture {
    fn ed25519() -> Self {
        Self::with(Key::Ed(ed(1)))
    }

    fn sm2() -> Self {
        Self::with(Key::Sm2(
            Sm2IssuerKey::from_secret(&[7; 32]).expect("scalar"),
        ))
    }

    fn with(own: Key) -> Self {
        let own_revoked = ed(2);
        let partner = ed(3);
        let own_entry = BundleIssuer {
            issuer: OWN.into(),
            region: "chongqing".into(),
            profile: profile("new-chongqing-talent-card-v1"),
            jwks: json!({"keys": [own.jwk()]}),
            revoked: vec![BundleRevokedKey {
                kid: own_revoked.kid().into(),
                revoked_at: T - 1000,
                reason: "key compromise".into(),
            }],
            status_list: Some(status_token(
                OWN,
                &own,
                &[(REVOKED_IDX, 1), (SUSPENDED_IDX, 2)],
            )),
            suspended: false,
            stale: None,
        };
        let partner_entry = |issuer: &str, key: &IssuerKey| BundleIssuer {
            issuer: issuer.into(),
            region: "mianyang".into(),
            profile: profile("science-city-card-v1"),
            jwks: jwk_set([&key.verifying_key()]),
            revoked: vec![],
            status_list: Some(status_token(issuer, &Key::Ed(key.clone()), &[(9, 1)])),
            suspended: false,
            stale: None,
        };
        let mut suspended = partner_entry(SUSPENDED, &ed(4));
        suspended.suspended = true;
        suspended.status_list = None;
        let mut stale = partner_entry(STALE, &ed(5));
        stale.stale = Some(STALE_DETAIL.into());
        let claims = BundleClaims {
            iss: OWN.into(),
            region: "chongqing".into(),
            iat: T - 100,
            exp: T + 86_400,
            clock_skew_seconds: 60,
            issuers: vec![
                own_entry,
                partner_entry(PARTNER, &partner),
                suspended,
                stale,
            ],
            catalogue: catalogue(),
        };
        Self {
            own,
            own_revoked,
            partner,
            claims,
        }
    }

    fn bundle(&self) -> String {
        self.own.sign(
            BUNDLE_TYPE,
            &serde_json::to_value(&self.claims).expect("json"),
        )
    }

    /// The anchor a verifier starts from: the own JWKS.
    fn anchor(&self) -> Anchor {
        Anchor::parse(&json!({"keys": [self.own.jwk()]}).to_string()).expect("anchor")
    }

    fn open(&self) -> OfflineBundle {
        OfflineBundle::open(&self.bundle(), &self.anchor()).expect("opens")
    }

    fn own_card(&self, idx: u64) -> String {
        self.own_card_by(&self.own, idx)
    }

    fn own_card_by(&self, key: &Key, idx: u64) -> String {
        let number = CardNumber::generate("CQ", 0x1234_5678_9abc + idx);
        let token = key.sign(
            "talent-card+jwt",
            &json!({"iss": OWN, "sub": number.as_str(), "name": "张三", "tier": "A",
                    "iat": T - 3600, "nbf": T - 3600, "exp": T + 3600,
                    "status": {"status_list": {"idx": idx, "uri": "https://status"}}}),
        );
        format!("NCTC1:{token}")
    }

    fn partner_card(&self, issuer: &str, key: &IssuerKey, idx: u64) -> String {
        Key::Ed(key.clone()).sign(
            "JWT",
            &json!({"iss": issuer, "card_no": "KJC0123456789", "holder_name": "李四",
                    "level": "B", "iat": T - 3600, "exp": T + 3600,
                    "status": {"status_list": {"idx": idx, "uri": "https://status"}}}),
        )
    }
}

fn reason(b: &OfflineBundle, credential: &str) -> Reason {
    b.verify(credential, T).reason
}

#[test]
fn a_bundle_opens_and_gives_the_gateways_verdicts() {
    let f = Fixture::ed25519();
    let b = f.open();
    assert_eq!(b.claims().iss, OWN);
    let v = b.verify(&f.own_card(1), T);
    assert_eq!(v.reason, Reason::Ok, "{}", v.detail);
    assert_eq!(v.issuer_region, "chongqing");
    assert_eq!(v.holder_name, "张三");
    assert_eq!(
        v.recognised_tier(),
        Some("A".parse::<Tier>().expect("tier"))
    );
    assert!(
        !v.recognition
            .as_ref()
            .expect("recognition")
            .lines
            .is_empty()
    );

    assert_eq!(reason(&b, &f.own_card(REVOKED_IDX)), Reason::Revoked);
    assert_eq!(reason(&b, &f.own_card(SUSPENDED_IDX)), Reason::Suspended);
    // Past the own list: no card this issuer made.
    assert_eq!(reason(&b, &f.own_card(5000)), Reason::Revoked);

    let partner = b.verify(&f.partner_card(PARTNER, &f.partner, 1), T);
    assert_eq!(partner.reason, Reason::Ok, "{}", partner.detail);
    assert_eq!(partner.issuer_region, "mianyang");
    assert_eq!(partner.native_tier, "B");
    assert_eq!(
        partner.recognised_tier(),
        Some("B".parse::<Tier>().expect("tier"))
    );
    assert_eq!(
        reason(&b, &f.partner_card(PARTNER, &f.partner, 9)),
        Reason::Revoked
    );

    let stranger = f.partner_card("urn:test:nobody", &f.partner, 1);
    assert_eq!(reason(&b, &stranger), Reason::UnknownIssuer);
    assert_eq!(
        reason(&b, &f.partner_card(SUSPENDED, &ed(4), 1)),
        Reason::PartnerSuspended
    );
    let stale = b.verify(&f.partner_card(STALE, &ed(5), 1), T);
    assert_eq!(stale.reason, Reason::StaleTrustData);
    assert_eq!(stale.detail, STALE_DETAIL);

    let by_revoked_key = f.own_card_by(&Key::Ed(f.own_revoked.clone()), 1);
    assert_eq!(reason(&b, &by_revoked_key), Reason::KeyRevoked);

    // The own card's signature part from another card: the signature does not match.
    let good = f.own_card(1);
    let other = f.own_card(2);
    let forged = format!(
        "{}.{}",
        good.rsplit_once('.').expect("parts").0,
        other.rsplit_once('.').expect("parts").1
    );
    assert_eq!(reason(&b, &forged), Reason::BadSignature);
    assert_eq!(reason(&b, "not a token"), Reason::Malformed);
}

#[test]
fn past_exp_every_verdict_is_stale_trust_data_naming_the_bundles_exp() {
    let mut f = Fixture::ed25519();
    // Before the cards' own expiry (T + 3600).
    f.claims.exp = T + 1000;
    let b = f.open();
    let exp = f.claims.exp;
    assert_eq!(b.verify(&f.own_card(1), exp).reason, Reason::Ok);
    let v = b.verify(&f.own_card(1), exp + 1);
    assert_eq!(v.reason, Reason::StaleTrustData);
    assert!(v.detail.contains(&exp.to_string()), "{}", v.detail);
}

#[test]
fn one_character_changed_anywhere_is_refused() {
    let f = Fixture::ed25519();
    let bundle = f.bundle();
    let anchor = f.anchor();
    let bytes = bundle.as_bytes();
    let header_end = bundle.find('.').expect("dot");
    let sig_start = bundle.rfind('.').expect("dot");
    // Every character of the header and signature and around the dots; a sample of the
    // payload (each check verifies a signature and may read the catalogue).
    let positions = (0..bytes.len()).filter(|&i| {
        i <= header_end + 2 || i + 2 >= sig_start || i % 97 == 0 || i + 1 == bytes.len()
    });
    let mut tried = 0;
    for i in positions {
        let mut changed = bytes.to_vec();
        changed[i] = match changed[i] {
            b'A' => b'B',
            b'.' => b'A',
            _ => b'A',
        };
        let changed = String::from_utf8(changed).expect("ascii");
        assert!(
            OfflineBundle::open(&changed, &anchor).is_err(),
            "a change at {i} of {} opened",
            bytes.len()
        );
        tried += 1;
    }
    assert!(tried > 200, "{tried}");
}

#[test]
fn the_header_is_held_to_the_bundle_type_and_the_anchors_keys() {
    let f = Fixture::ed25519();
    let claims = serde_json::to_value(&f.claims).expect("json");
    let wrong_typ = f.own.sign("JWT", &claims);
    assert_eq!(
        OfflineBundle::open(&wrong_typ, &f.anchor()).err(),
        Some(BundleError::WrongType("JWT".into()))
    );

    // Signed by a key the anchor does not list.
    let stranger = Key::Ed(ed(9));
    let err = OfflineBundle::open(&stranger.sign(BUNDLE_TYPE, &claims), &f.anchor()).err();
    assert_eq!(err, Some(BundleError::UnknownKid(stranger.kid())));

    // The signing key revoked in the anchor.
    let mut jwks = json!({"keys": [f.own.jwk(), public_jwk(&ed(6).verifying_key())]});
    jwks["revoked"] = json!([{"kid": f.own.kid(), "revoked_at": T, "reason": "lost"}]);
    let anchor = Anchor::parse(&jwks.to_string()).expect("another key is usable");
    let err = OfflineBundle::open(&f.bundle(), &anchor).err();
    assert_eq!(err, Some(BundleError::RevokedKid(f.own.kid())));

    // Another issuer's entry does not make the signer: iss needs its own entry.
    let mut f2 = Fixture::ed25519();
    f2.claims.issuers.remove(0);
    assert!(matches!(
        OfflineBundle::open(&f2.bundle(), &f2.anchor()),
        Err(BundleError::IssuerMismatch(_))
    ));
    // The own entry must list the signing kid.
    let mut f3 = Fixture::ed25519();
    f3.claims.issuers[0].jwks = jwk_set([&ed(8).verifying_key()]);
    f3.claims.issuers[0].status_list = None;
    assert!(matches!(
        OfflineBundle::open(&f3.bundle(), &f3.anchor()),
        Err(BundleError::IssuerMismatch(_))
    ));
    // Or lists it revoked.
    let mut f4 = Fixture::ed25519();
    f4.claims.issuers[0].revoked.push(BundleRevokedKey {
        kid: f4.own.kid(),
        revoked_at: T,
        reason: "lost".into(),
    });
    assert!(matches!(
        OfflineBundle::open(&f4.bundle(), &f4.anchor()),
        Err(BundleError::IssuerMismatch(_))
    ));
    assert!(Anchor::parse("{\"keys\": []}").is_err());
    assert!(Anchor::parse("neither").is_err());
}

#[test]
fn an_earlier_bundle_anchors_the_next_and_its_issuer_must_match() {
    let f = Fixture::ed25519();
    let earlier = f.bundle();
    let anchor = Anchor::parse(&earlier).expect("an earlier bundle anchors");
    let mut next = Fixture::ed25519();
    next.claims.iat += 86_400;
    next.claims.exp += 86_400;
    let b = OfflineBundle::open(&next.bundle(), &anchor).expect("opens");
    assert_eq!(b.claims().iat, f.claims.iat + 86_400);

    // An earlier bundle of another issuer, with the same key.
    let mut other = Fixture::ed25519();
    other.claims.iss = "urn:test:another-gateway".into();
    other.claims.issuers[0].issuer = "urn:test:another-gateway".into();
    other.claims.issuers[0].status_list =
        Some(status_token("urn:test:another-gateway", &other.own, &[]));
    let anchor = Anchor::parse(&other.bundle()).expect("anchors");
    assert!(matches!(
        OfflineBundle::open(&next.bundle(), &anchor),
        Err(BundleError::IssuerMismatch(_))
    ));

    // A damaged earlier bundle anchors nothing.
    let damaged = earlier.replacen('.', ".A", 1);
    assert!(matches!(
        Anchor::parse(&damaged),
        Err(BundleError::Anchor(_))
    ));
}

#[test]
fn a_status_list_that_does_not_verify_names_its_issuer() {
    let mut f = Fixture::ed25519();
    let good = f.claims.issuers[1].status_list.clone().expect("list");
    let (head, _) = good.rsplit_once('.').expect("parts");
    f.claims.issuers[1].status_list = Some(format!("{head}.{}", b64([0u8; 64])));
    match OfflineBundle::open(&f.bundle(), &f.anchor()) {
        Err(BundleError::StatusList { issuer, .. }) => assert_eq!(issuer, PARTNER),
        other => panic!("{:?}", other.err()),
    }
    // The partner's list signed by the own key: not under the partner's keys.
    let mut f = Fixture::ed25519();
    f.claims.issuers[1].status_list = Some(status_token(PARTNER, &f.own, &[]));
    let err = OfflineBundle::open(&f.bundle(), &f.anchor())
        .err()
        .expect("refused");
    assert!(err.to_string().contains(PARTNER), "{err}");
}

#[test]
fn an_sm2_signed_bundle_opens_and_verifies_sm2_cards() {
    let f = Fixture::sm2();
    let b = f.open();
    let v = b.verify(&f.own_card(1), T);
    assert_eq!(v.reason, Reason::Ok, "{}", v.detail);
    assert_eq!(reason(&b, &f.own_card(REVOKED_IDX)), Reason::Revoked);
    assert_eq!(
        reason(&b, &f.partner_card(PARTNER, &f.partner, 1)),
        Reason::Ok
    );
    // An Ed25519 anchor key under the SM2 key's kid is pinned to another algorithm.
    let mut jwk = public_jwk(&ed(1).verifying_key());
    jwk["kid"] = json!(f.own.kid());
    let anchor = Anchor::parse(&json!({"keys": [jwk]}).to_string()).expect("anchor");
    assert!(matches!(
        OfflineBundle::open(&f.bundle(), &anchor),
        Err(BundleError::AlgorithmMismatch { .. })
    ));
    // One character of the SM2 signature changed.
    let bundle = f.bundle();
    let mut changed = bundle.clone().into_bytes();
    let at = bundle.len() - 5;
    changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
    let changed = String::from_utf8(changed).expect("ascii");
    assert!(matches!(
        OfflineBundle::open(&changed, &f.anchor()),
        Err(BundleError::BadSignature(_))
    ));
}

#[test]
fn a_full_million_entry_status_list_is_decoded_once_at_open() {
    let mut f = Fixture::ed25519();
    let last = (1u64 << 20) - 1;
    let mut list = StatusList::new(1 << 20);
    list.set(last as usize, 2);
    let token = f.own.sign(
        "statuslist+jwt",
        &json!({"iss": OWN, "sub": "https://status", "iat": T - 60,
                "status_list": {"bits": 2, "lst": list.encode()}}),
    );
    f.claims.issuers[0].status_list = Some(token);
    let b = f.open();
    assert_eq!(reason(&b, &f.own_card(last)), Reason::Suspended);
    assert_eq!(reason(&b, &f.own_card(last - 1)), Reason::Ok);
    assert_eq!(reason(&b, &f.own_card(last + 1)), Reason::Revoked);
}
