//! The cases: each credential, built to be what its name says, with the verdict that follows
//! from how it was built (not from what any verifier answers).

use super::issuers::{
    BUNDLE_SECONDS, CLOCK_SKEW, Issuers, OWN_ISSUER, OWN_REGION, PARTNER_ISSUER, PARTNER_REGION,
    REVOKED, STRANGER_ISSUER, SUSPENDED, status_list_uri,
};
use super::keys::{TestKey, break_signature};
use crate::credential::{
    CardClaims, Confirmation, HolderKey, OWN_TOKEN_TYPE, StatusClaim, StatusListRef,
};
use crate::domain::{CardNumber, Catalogue, Tier};
use serde::Serialize;
use serde_json::{Value, json};

const DAY: i64 = 86_400;
// The time cases lie a day or more outside the skew.
const _: () = assert!(CLOCK_SKEW < DAY);

/// One credential and what a verifier must answer for it.
#[derive(Debug, Serialize)]
pub(super) struct Case {
    pub(super) name: &'static str,
    pub(super) description: &'static str,
    pub(super) credential: String,
    /// When this case is verified at another time than the file's `at`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) at: Option<i64>,
    pub(super) expected: Expected,
}

/// VerifyCardResponse fields (proto names) a verifier must answer; a field left out is not
/// fixed by the case. `holder_key` is the verdict's holder key (the card's `cnf.jwk`), which
/// the response does not carry.
#[derive(Debug, Default, Serialize)]
pub(super) struct Expected {
    pub(super) valid: bool,
    pub(super) reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) issuer_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) card_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) holder_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) native_tier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) recognised_tier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) catalogue_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) holder_key: Option<Value>,
}

/// What a card says about its holder, and when it is good.
struct Card {
    number: String,
    name: &'static str,
    tier: &'static str,
    iat: i64,
    nbf: i64,
    exp: i64,
    idx: u64,
}

impl Card {
    fn own(n: u64, name: &'static str, tier: &'static str, idx: u64, window: Window) -> Self {
        let (iat, nbf, exp) = window.times();
        Self {
            number: CardNumber::generate("CQ", n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
                .as_str()
                .to_owned(),
            name,
            tier,
            iat,
            nbf,
            exp,
            idx,
        }
    }

    fn partner(n: u64, name: &'static str, tier: &'static str, idx: u64, window: Window) -> Self {
        let (iat, nbf, exp) = window.times();
        Self {
            number: format!("KJC{n:010}"),
            name,
            tier,
            iat,
            nbf,
            exp,
            idx,
        }
    }

    /// An own card token (`talent-card+jwt`) with the claims issuance writes.
    fn own_token(&self, key: &TestKey, typ: &str, holder: Option<HolderKey>) -> String {
        let claims = CardClaims {
            iss: OWN_ISSUER.to_owned(),
            sub: self.number.clone(),
            iat: self.iat,
            nbf: self.nbf,
            exp: self.exp,
            name: self.name.to_owned(),
            tier: self.tier.to_owned(),
            cat: "scientific_research".to_owned(),
            district: "500104".to_owned(),
            cnf: holder.map(|jwk| Confirmation { jwk }),
            status: StatusClaim {
                status_list: StatusListRef {
                    idx: self.idx,
                    uri: status_list_uri(OWN_ISSUER),
                },
            },
        };
        let claims = serde_json::to_value(&claims).unwrap_or_default();
        key.sign(&key.header(typ), &claims)
    }

    /// A Science City card (`JWT`) under the partner's claim names, as Mianyang signs it.
    fn partner_token(&self, key: &TestKey, issuer: &str) -> String {
        let claims = json!({
            "iss": issuer,
            "card_no": self.number,
            "holder_name": self.name,
            "level": self.tier,
            "iat": self.iat,
            "nbf": self.nbf,
            "exp": self.exp,
            "status": {"status_list": {"idx": self.idx, "uri": status_list_uri(issuer)}},
        });
        key.sign(&key.header("JWT"), &claims)
    }
}

/// A card's validity against `at`.
#[derive(Clone, Copy)]
enum Window {
    /// Issued a month ago, good for a year from now.
    Current(i64),
    /// Ended a day ago.
    Expired(i64),
    /// Issued now, starting in a week.
    Future(i64),
}

impl Window {
    /// (iat, nbf, exp)
    fn times(self) -> (i64, i64, i64) {
        match self {
            Self::Current(at) => (at - 30 * DAY, at - 30 * DAY, at + 365 * DAY),
            Self::Expired(at) => (at - 400 * DAY, at - 400 * DAY, at - DAY),
            Self::Future(at) => (at, at + 7 * DAY, at + 372 * DAY),
        }
    }
}

/// What the construction of each case says.
struct Verdicts<'a> {
    catalogue: &'a Catalogue,
    iso: fn(i64) -> String,
}

impl Verdicts<'_> {
    /// A card that holds: everything shown, recognised here (in Chongqing).
    fn valid(&self, card: &Card, region: &str) -> Expected {
        let recognised = card
            .tier
            .parse::<Tier>()
            .ok()
            .and_then(|t| self.catalogue.recognise(region, OWN_REGION, t))
            .map(|t| t.as_str().to_owned());
        Expected {
            valid: true,
            reason: "OK",
            recognised_tier: recognised,
            catalogue_version: Some(self.catalogue.version.clone()),
            ..self.read(card, region, "OK")
        }
    }

    /// Refused after the signature held: the card's own data is shown, no recognition.
    fn read(&self, card: &Card, region: &str, reason: &'static str) -> Expected {
        Expected {
            valid: reason == "OK",
            reason,
            issuer_region: Some(region.to_owned()),
            card_id: Some(card.number.clone()),
            holder_name: Some(card.name.to_owned()),
            native_tier: Some(card.tier.to_owned()),
            recognised_tier: Some(String::new()),
            expires_at: Some((self.iso)(card.exp)),
            ..Expected::default()
        }
    }

    /// Refused before any claim is believed: nothing of the card is shown.
    fn unread(region: &str, reason: &'static str) -> Expected {
        Expected {
            valid: false,
            reason,
            issuer_region: Some(region.to_owned()),
            card_id: Some(String::new()),
            holder_name: Some(String::new()),
            native_tier: Some(String::new()),
            recognised_tier: Some(String::new()),
            ..Expected::default()
        }
    }
}

/// Status entries set in the own list and the partner's: (index, value).
pub(super) const OWN_STATUSES: [(usize, u8); 2] = [(3, REVOKED), (4, SUSPENDED)];
pub(super) const PARTNER_STATUSES: [(usize, u8); 2] = [(4, REVOKED), (5, SUSPENDED)];

/// How a case's card is signed.
#[derive(Clone, Copy)]
enum Signer<'k> {
    /// An own card of `typ` by `key`, bound to the holder's device key or not.
    Own {
        key: &'k TestKey,
        typ: &'static str,
        bound: bool,
    },
    /// A Science City card of `issuer` by `key`.
    Partner {
        key: &'k TestKey,
        issuer: &'static str,
    },
}

/// What a verifier answers for a case, by how far into the card it gets.
#[derive(Clone, Copy)]
enum Outcome {
    /// Valid and recognised here.
    Valid,
    /// Refused after the signature held: the card's own data shown.
    Read(&'static str),
    /// Refused before any claim is believed.
    Unread(&'static str),
}

/// A card case as the table below writes it: name, description, the card, how it is signed,
/// whether one bit of its signature is then flipped, and the outcome.
type Row<'k> = (&'static str, &'static str, Card, Signer<'k>, bool, Outcome);

/// The case a row describes, its verdict following from how the card was made.
fn case(row: Row, keys: &Issuers, v: &Verdicts) -> Case {
    let (name, description, card, signer, broken, outcome) = row;
    let (token, region, holder_key) = match signer {
        Signer::Own { key, typ, bound } => {
            let holder = bound
                .then(|| HolderKey::from_raw(keys.holder.verifying_key().as_bytes()))
                .flatten();
            let jwk = holder.as_ref().and_then(|h| serde_json::to_value(h).ok());
            (card.own_token(key, typ, holder), OWN_REGION, jwk)
        }
        Signer::Partner { key, issuer } => {
            let region = if issuer == PARTNER_ISSUER {
                PARTNER_REGION
            } else {
                ""
            };
            (card.partner_token(key, issuer), region, None)
        }
    };
    let expected = match outcome {
        Outcome::Valid => Expected {
            holder_key,
            ..v.valid(&card, region)
        },
        Outcome::Read(reason) => v.read(&card, region, reason),
        Outcome::Unread(reason) => Verdicts::unread(region, reason),
    };
    Case {
        name,
        description,
        credential: if broken {
            break_signature(&token)
        } else {
            token
        },
        at: None,
        expected,
    }
}

/// Every case at `at`. `iso` prints a time as the CLI's `--json` does.
pub(super) fn cases(
    keys: &Issuers,
    catalogue: &Catalogue,
    at: i64,
    iso: fn(i64) -> String,
) -> Vec<Case> {
    use Outcome::{Read, Unread, Valid};
    use Window::{Current, Expired, Future};
    let v = Verdicts { catalogue, iso };
    let own = |key, typ, bound| Signer::Own { key, typ, bound };
    let card = own(&keys.own, OWN_TOKEN_TYPE, false);
    let partner = |key| Signer::Partner {
        key,
        issuer: PARTNER_ISSUER,
    };
    let (ed, es, sm) = (
        partner(&keys.partner_ed25519),
        partner(&keys.partner_es256),
        partner(&keys.partner_sm2),
    );
    let [own_revoked, own_suspended] = OWN_STATUSES.map(|(i, _)| i as u64);
    let [partner_revoked, partner_suspended] = PARTNER_STATUSES.map(|(i, _)| i as u64);
    #[rustfmt::skip]
    let rows: [Row; 19] = [
        // Own cards.
        ("own-valid", "An own card, current, active.",
         Card::own(1, "王芳", "B", 0, Current(at)), card, false, Valid),
        ("own-expired", "An own card whose exp was a day before at.",
         Card::own(2, "张伟", "C", 1, Expired(at)), card, false, Read("EXPIRED")),
        ("own-not-yet-valid", "An own card whose nbf is a week after at.",
         Card::own(3, "刘洋", "D", 2, Future(at)), card, false, Read("NOT_YET_VALID")),
        ("own-revoked", "An own card its status-list entry marks revoked (1).",
         Card::own(4, "陈静", "A", own_revoked, Current(at)), card, false, Read("REVOKED")),
        ("own-suspended", "An own card its status-list entry marks suspended (2).",
         Card::own(5, "杨帆", "E", own_suspended, Current(at)), card, false, Read("SUSPENDED")),
        ("own-revoked-key", "An own card signed by an own key the JWKS and the bundle list as revoked.",
         Card::own(6, "赵磊", "B", 5, Current(at)), own(&keys.own_revoked, OWN_TOKEN_TYPE, false),
         false, Unread("KEY_REVOKED")),
        ("own-bad-signature", "An own card with one bit of its signature flipped.",
         Card::own(7, "黄敏", "C", 6, Current(at)), card, true, Unread("BAD_SIGNATURE")),
        ("own-wrong-typ", "An own card signed by the current key with typ JWT instead of talent-card+jwt.",
         Card::own(8, "周杰", "D", 7, Current(at)), own(&keys.own, "JWT", false), false,
         Unread("WRONG_TYPE")),
        ("own-holder-bound", "An own card bound to a holder's device key (cnf.jwk): valid without a proof unless the caller requires one; the verdict shows the holder key.",
         Card::own(9, "吴霞", "A", 8, Current(at)), own(&keys.own, OWN_TOKEN_TYPE, true), false,
         Valid),
        // Stranger.
        ("unknown-issuer", "A card of an issuer the bundle does not list (Tianfu), well signed by its own key.",
         Card::partner(1, "孙丽", "B", 0, Current(at)),
         Signer::Partner { key: &keys.stranger, issuer: STRANGER_ISSUER }, false,
         Unread("UNKNOWN_ISSUER")),
        // Partner cards.
        ("partner-valid", "A Mianyang card (EdDSA), current, active; level C is recognised as C here.",
         Card::partner(101, "李雪", "C", 0, Current(at)), ed, false, Valid),
        ("partner-valid-es256", "A Mianyang card signed with its P-256 key (ES256).",
         Card::partner(102, "马超", "A", 1, Current(at)), es, false, Valid),
        ("partner-expired", "A Mianyang card whose exp was a day before at.",
         Card::partner(103, "胡兰", "B", 2, Expired(at)), ed, false, Read("EXPIRED")),
        ("partner-not-yet-valid", "A Mianyang card whose nbf is a week after at.",
         Card::partner(104, "郭峰", "D", 3, Future(at)), ed, false, Read("NOT_YET_VALID")),
        ("partner-revoked", "A Mianyang card its issuer's status list (in the bundle, signed by Mianyang) marks revoked.",
         Card::partner(105, "林涛", "C", partner_revoked, Current(at)), ed, false, Read("REVOKED")),
        ("partner-suspended", "A Mianyang card its issuer's status list marks suspended.",
         Card::partner(106, "何静", "B", partner_suspended, Current(at)), ed, false,
         Read("SUSPENDED")),
        ("partner-bad-signature", "A Mianyang card with one bit of its signature flipped.",
         Card::partner(107, "高远", "A", 6, Current(at)), ed, true, Unread("BAD_SIGNATURE")),
        ("sm2-valid", "A Mianyang card signed with its SM2 key (alg SM2, SM3, default ID); level E is recognised as F here.",
         Card::partner(108, "罗敏", "E", 7, Current(at)), sm, false, Valid),
        ("sm2-bad-signature", "A Mianyang SM2 card with one bit of its signature flipped.",
         Card::partner(109, "梁晨", "B", 8, Current(at)), sm, true, Unread("BAD_SIGNATURE")),
    ];
    let mut out: Vec<Case> = rows.into_iter().map(|row| case(row, keys, &v)).collect();

    // The bundle itself: past its exp, any card is STALE_TRUST_DATA.
    let own_valid = out[0].credential.clone();
    out.push(Case {
        name: "stale-bundle",
        description: "The own-valid card verified one second after the bundle's exp: the trust data is stale.",
        credential: own_valid,
        at: Some(at + BUNDLE_SECONDS + 1),
        expected: Expected {
            valid: false,
            reason: "STALE_TRUST_DATA",
            ..Expected::default()
        },
    });
    out
}
