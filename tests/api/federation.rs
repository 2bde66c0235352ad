//! Federation (issue #7): two instances of the one program on loopback, Chongqing and
//! Mianyang, each with its own CA and database, each the other's partner over mutual TLS.

use crate::both_databases;
use crate::fixtures::{id_number, issue_request};
use crate::helpers::{Db, TestApp, eventually, free_addr, get_card, issued};
use crate::regions::{CHONGQING, MIANYANG, Region, own_settings, partner_entry, pin, pki};
use std::path::Path;
use std::time::{Duration, Instant};
use talent_gateway::pb;
use tonic::Code;

pub(crate) const CQ_ISSUER: &str = "urn:cn:500000:talent-card";
pub(crate) const MY_ISSUER: &str = "urn:cn:510700:kjc-talent-card";
/// How often each region asks partners to poll it.
const HINT_MS: u64 = 300;
/// Partner data older than this turns its cards' verdicts into STALE_TRUST_DATA: room for a
/// restart of Mianyang on a loaded machine before it runs out.
const STALENESS_S: u64 = 10;

/// `me`'s config, with `top` among its top-level settings and `partner` reachable at `addr`
/// under `partner_ca`, pinned to `pin`.
fn config(
    me: &Region,
    top: &str,
    partner: &Region,
    addr: &str,
    partner_ca: &Path,
    pin: &str,
) -> String {
    format!(
        "{}[federation]\nrefresh_hint_millis = {HINT_MS}\nstaleness_seconds = {STALENESS_S}\ncall_timeout_millis = 3000\n\
         [federation.service_staleness_seconds]\nMY01 = 2\n{}",
        own_settings(me, top),
        partner_entry(partner, addr, partner_ca, pin),
    )
}

pub(crate) async fn issue(app: &TestApp, base17: &str, tier: &str, key: &str) -> pb::Card {
    issued(app, issue_request(&id_number(base17), tier, key)).await
}

pub(crate) async fn verify(app: &TestApp, credential: &str) -> pb::VerifyCardResponse {
    crate::helpers::verify(app, credential).await
}

async fn redeem(
    app: &TestApp,
    credential: &str,
    code: &str,
    key: &str,
) -> Result<pb::RedeemServiceResponse, tonic::Status> {
    redeem_with_proof(app, credential, code, key, "").await
}

/// RedeemService at a counter, with a holder proof (empty for none).
pub(crate) async fn redeem_with_proof(
    app: &TestApp,
    credential: &str,
    code: &str,
    key: &str,
    proof: &str,
) -> Result<pb::RedeemServiceResponse, tonic::Status> {
    app.entitlements(Some("counter"))
        .await
        .redeem_service(pb::RedeemServiceRequest {
            credential: credential.into(),
            service_code: code.into(),
            idempotency_key: key.into(),
            holder_proof: proof.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

async fn partner_status(app: &TestApp, partner: &str) -> pb::PartnerStatus {
    pb::federation_client::FederationClient::new(app.channel(Some("operator")).await)
        .get_federation_status(pb::GetFederationStatusRequest {})
        .await
        .expect("status")
        .into_inner()
        .partners
        .into_iter()
        .find(|p| p.partner_id == partner)
        .expect("partner listed")
}

fn basis<'a>(v: &'a pb::VerifyCardResponse, code: &str) -> &'a str {
    v.entitlements
        .iter()
        .find(|e| e.service_code == code)
        .map_or("", |e| e.basis.as_str())
}

/// Both regions up, each having fetched the other's bundle.
pub(crate) async fn two_regions_up(db: Db) -> (TestApp, TestApp) {
    two_regions_up_with(db, "", "").await
}

/// The same, with more config (whole tables, after the partner's) for each region.
pub(crate) async fn two_regions_up_with(
    db: Db,
    cq_extra: &str,
    my_extra: &str,
) -> (TestApp, TestApp) {
    two_regions_configured(db, "", cq_extra, my_extra).await
}

/// Both regions up with `top` among each one's top-level settings and more tables for each.
pub(crate) async fn two_regions_configured(
    db: Db,
    top: &str,
    cq_extra: &str,
    my_extra: &str,
) -> (TestApp, TestApp) {
    let (cq_dir, my_dir) = (pki(&CHONGQING), pki(&MIANYANG));
    // Each region's config names the other's address, so both are reserved before start.
    let (cq_addr, my_addr) = (free_addr(), free_addr());
    let cq_config = config(
        &CHONGQING,
        top,
        &MIANYANG,
        &my_addr,
        &my_dir.path().join("certs/ca.pem"),
        &pin(&MIANYANG),
    );
    let my_config = config(
        &MIANYANG,
        top,
        &CHONGQING,
        &cq_addr,
        &cq_dir.path().join("certs/ca.pem"),
        &pin(&CHONGQING),
    );
    let cq_config = format!("{cq_config}{cq_extra}");
    let my_config = format!("{my_config}{my_extra}");
    let cq = TestApp::builder()
        .db(db.clone())
        .dir(cq_dir)
        .config(&cq_config)
        .listen(&cq_addr)
        .spawn()
        .await;
    let my = TestApp::builder()
        .db(db)
        .dir(my_dir)
        .config(&my_config)
        .listen(&my_addr)
        .spawn()
        .await;
    for (app, partner) in [(&cq, "mianyang"), (&my, "chongqing")] {
        eventually(Duration::from_secs(10), "first bundle fetched", || async {
            let s = partner_status(app, partner).await;
            (s.last_refresh.is_some() && !s.kids.is_empty()).then_some(())
        })
        .await;
    }
    (cq, my)
}

async fn two_regions(db: Db) {
    let (mut cq, mut my) = two_regions_up(db).await;

    // Each region's cards verified in the other, with the mapped entitlements both ways.
    let cq_card = issue(&cq, "11010519800101001", "B", "cq-1").await;
    let my_card = issue(&my, "51070019850202002", "C", "my-1").await;
    assert!(my_card.card_id.starts_with("KJC"), "{}", my_card.card_id);
    assert!(
        my_card.qr_payload.starts_with("KJC1:"),
        "{}",
        my_card.qr_payload
    );
    assert!(
        cq_card.qr_payload.starts_with("NCTC1:"),
        "{}",
        cq_card.qr_payload
    );
    // The status shows a bundle once it is stored; the registry reloads right after.
    let v = eventually(Duration::from_secs(10), "Mianyang card trusted", || async {
        let v = verify(&cq, &my_card.qr_payload).await;
        v.valid.then_some(v)
    })
    .await;
    assert_eq!(
        (v.issuer_region.as_str(), v.recognised_tier.as_str()),
        ("mianyang", "C")
    );
    assert_eq!(basis(&v, "CQ10"), "host_standard");
    assert_eq!(basis(&v, "CQ06"), "local_only");
    let v = eventually(
        Duration::from_secs(10),
        "Chongqing card trusted",
        || async {
            let v = verify(&my, &cq_card.qr_payload).await;
            v.valid.then_some(v)
        },
    )
    .await;
    assert_eq!(
        (v.issuer_region.as_str(), v.recognised_tier.as_str()),
        ("chongqing", "B")
    );
    assert_eq!(basis(&v, "MY07"), "host_standard");
    assert_eq!(basis(&v, "MY02"), "local_only");

    // A health check used in Mianyang by a Chongqing holder leaves none in Chongqing; a
    // retry through the counter is the same redemption.
    let used = redeem(&my, &cq_card.token, "MY07", "hc-1")
        .await
        .expect("MY07");
    assert_eq!(used.remaining, 0);
    let again = redeem(&my, &cq_card.token, "MY07", "hc-1")
        .await
        .expect("retry");
    assert_eq!(again.redemption_id, used.redemption_id);
    let home = redeem(&cq, &cq_card.token, "CQ10", "hc-2")
        .await
        .expect_err("used up");
    assert_eq!(home.code(), Code::ResourceExhausted, "{home:?}");
    // And the reverse: a Mianyang holder's health check in Chongqing.
    redeem(&cq, &my_card.token, "CQ10", "hc-3")
        .await
        .expect("CQ10");
    let home = redeem(&my, &my_card.token, "MY07", "hc-4")
        .await
        .expect_err("used up");
    assert_eq!(home.code(), Code::ResourceExhausted, "{home:?}");
    // Uncounted mapped services need no reservation.
    redeem(&my, &cq_card.token, "MY10", "scenic-1")
        .await
        .expect("MY10");

    // A revocation in Chongqing is refused in Mianyang within a refresh interval or so.
    let revoked = issue(&cq, "11010519800101002", "B", "cq-2").await;
    eventually(Duration::from_secs(5), "new card known", || async {
        verify(&my, &revoked.token).await.valid.then_some(())
    })
    .await;
    cq.issuance(Some("operator"))
        .await
        .revoke_card(pb::RevokeCardRequest {
            card_id: revoked.card_id.clone(),
            reason: "test".into(),
        })
        .await
        .expect("revoked");
    let start = Instant::now();
    eventually(Duration::from_secs(5), "revocation seen", || async {
        (verify(&my, &revoked.token).await.reason == "REVOKED").then_some(())
    })
    .await;
    eprintln!(
        "revocation seen across the border after {:?}",
        start.elapsed()
    );

    // A key rotation in Chongqing: Mianyang sees the new kid before it signs, then accepts
    // cards it signed, with no manual step.
    // 10 s: room for the partner's poll on a loaded machine before the key signs.
    let next = crate::helpers::rotate(&cq, 10).await;
    let signs_from = next.signs_from.as_ref().expect("signs_from").seconds;
    eventually(
        Duration::from_secs(5),
        "new kid seen by the partner",
        || async {
            // Asked by Chongqing itself, as the partner: Mianyang's entry about Chongqing.
            let channel = my.channel_with(Some("server"), &cq.certs).await.ok()?;
            let status = pb::federation_client::FederationClient::new(channel)
                .get_federation_status(pb::GetFederationStatusRequest {})
                .await
                .ok()?
                .into_inner();
            let [mine] = status.partners.as_slice() else {
                panic!("a partner sees its own entry only: {status:?}")
            };
            (mine.partner_id == "chongqing" && mine.kids.contains(&next.key_id)).then_some(())
        },
    )
    .await;
    assert!(crate::fixtures::now() < signs_from, "seen before it signs");
    let wait = (signs_from - crate::fixtures::now() + 1).max(0) as u64;
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let rotated = issue(&cq, "11010519800101003", "B", "cq-3").await;
    assert_eq!(rotated.key_id, next.key_id);
    let v = verify(&my, &rotated.token).await;
    assert!(v.valid, "card signed by the rotated key: {v:?}");

    // Chongqing down: a visitor's counted service cannot be reserved (UNAVAILABLE with the
    // reason, nothing granted); verification goes on from the stored bundle, across a
    // restart of Mianyang, until the staleness limit, then refuses with its reason.
    let visitor = issue(&cq, "11010519800101004", "B", "cq-4").await;
    eventually(Duration::from_secs(5), "visitor card known", || async {
        verify(&my, &visitor.token).await.valid.then_some(())
    })
    .await;
    cq.terminate();
    let down = Instant::now();
    let refused = redeem(&my, &visitor.token, "MY07", "hc-5")
        .await
        .expect_err("home down");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(refused.message().contains("chongqing"), "{refused:?}");
    my.terminate();
    my.restart_in_place();
    let v = verify(&my, &visitor.token).await;
    assert!(v.valid, "verified from the stored bundle: {v:?}");
    assert!(down.elapsed() < Duration::from_secs(STALENESS_S));
    // A service with a stricter limit (2 s for MY01 here) refuses sooner, with the reason.
    let strict = eventually(Duration::from_secs(5), "MY01's own limit", || async {
        redeem(&my, &visitor.token, "MY01", "fast-1").await.err()
    })
    .await;
    assert_eq!(strict.code(), Code::FailedPrecondition, "{strict:?}");
    assert!(strict.message().contains("STALE_TRUST_DATA"), "{strict:?}");
    assert!(verify(&my, &visitor.token).await.valid);
    let status = partner_status(&my, "chongqing").await;
    eventually(Duration::from_secs(5), "failure reported", || async {
        let s = partner_status(&my, "chongqing").await;
        (!s.last_error.is_empty()).then_some(())
    })
    .await;
    assert!(status.sequence > 0);
    let stale = eventually(
        Duration::from_secs(STALENESS_S + 5),
        "stale after the limit",
        || async {
            let v = verify(&my, &visitor.token).await;
            (v.reason == "STALE_TRUST_DATA").then_some(v)
        },
    )
    .await;
    assert!(!stale.valid);
    assert!(partner_status(&my, "chongqing").await.stale);

    // Chongqing back: Mianyang catches up by itself; the reservation now goes through.
    cq.restart_in_place();
    eventually(Duration::from_secs(10), "caught up", || async {
        verify(&my, &visitor.token).await.valid.then_some(())
    })
    .await;
    let s = partner_status(&my, "chongqing").await;
    assert!(s.last_error.is_empty() && !s.stale, "{s:?}");
    redeem(&my, &visitor.token, "MY07", "hc-5")
        .await
        .expect("reserved at home");
    let home = redeem(&cq, &visitor.token, "CQ10", "hc-6")
        .await
        .expect_err("used up");
    assert_eq!(home.code(), Code::ResourceExhausted);
}
both_databases!(two_regions);

/// A partner certificate from the wrong CA, or naming the wrong identity, is refused, on
/// calls into a region and on the server a region polls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_partner_certificates_are_refused() {
    let (cq, my) = two_regions_up(Db::Sqlite).await;
    let evil = pki(&MIANYANG); // the right name under a CA nobody agreed to
    let evil_certs = evil.path().join("certs");
    let my_certs = my.dir.path().join("certs");

    // Into Chongqing. Mianyang's own identity under Mianyang's CA passes...
    let ok = pb::federation_client::FederationClient::new(
        cq.channel_with(Some("server"), &my_certs)
            .await
            .expect("connect"),
    )
    .get_federation_status(pb::GetFederationStatusRequest {})
    .await
    .expect("a partner may ask")
    .into_inner();
    // A partner sees how its own data stands here: e.g. that a rotated key was seen.
    let seen: Vec<_> = ok.partners.iter().map(|p| p.partner_id.as_str()).collect();
    assert_eq!(seen, ["mianyang"]);
    // ...the same name under another CA does not get through TLS...
    let refused = match cq.channel_with(Some("server"), &evil_certs).await {
        Err(_) => true,
        Ok(ch) => pb::federation_client::FederationClient::new(ch)
            .get_federation_status(pb::GetFederationStatusRequest {})
            .await
            .is_err(),
    };
    assert!(refused, "a certificate from another CA got through");
    // ...and Mianyang's CA may not vouch for an operator, nor for another partner name.
    for role in ["operator", "partner"] {
        let s = pb::federation_client::FederationClient::new(
            cq.channel_with(Some(role), &my_certs)
                .await
                .expect("connect"),
        )
        .get_federation_status(pb::GetFederationStatusRequest {})
        .await
        .expect_err("wrong identity");
        assert_eq!(s.code(), Code::PermissionDenied, "{role}: {s:?}");
    }

    // A Mianyang started afresh on an empty database answers with a lower sequence: its
    // bundle is refused and reported, and Chongqing keeps the last good one.
    let my_card = issue(&my, "51070019850202008", "C", "my-8").await;
    let gone = issue(&my, "51070019850202007", "C", "my-7").await;
    let gone_token = gone.token.clone();
    my.issuance(Some("operator"))
        .await
        .revoke_card(pb::RevokeCardRequest {
            card_id: gone.card_id,
            reason: "moves the sequence on".into(),
        })
        .await
        .expect("revoked");
    let before = eventually(Duration::from_secs(20), "card known", || async {
        let revoked = verify(&cq, &gone_token).await.reason == "REVOKED";
        if !(revoked && verify(&cq, &my_card.token).await.valid) {
            return None;
        }
        // Read after: the stored bundle is at least the one with the revocation, the last
        // change this Mianyang makes. The status list is fetched after the bundle, so a list
        // can show a change before the stored sequence does: wait until the sequence holds
        // still over several polls.
        let first = partner_status(&cq, "mianyang").await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let settled = partner_status(&cq, "mianyang").await;
        (settled.sequence == first.sequence).then_some(settled)
    })
    .await;
    let mut my = my;
    my.terminate();
    let fresh_dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(fresh_dir.path().join("certs")).expect("certs");
    for f in [
        "ca.pem",
        "server.pem",
        "server.key",
        "operator.pem",
        "operator.key",
    ] {
        std::fs::copy(my_certs.join(f), fresh_dir.path().join("certs").join(f)).expect("copy");
    }
    let my_config = std::fs::read_to_string(my.dir.path().join("gateway.toml")).expect("config");
    // On the old one's address: Chongqing's config names it.
    let fresh = TestApp::builder()
        .db(Db::Sqlite)
        .dir(fresh_dir)
        .config(&my_config)
        .listen(&my.addr)
        .spawn()
        .await;
    let s = eventually(
        Duration::from_secs(15),
        "backwards sequence reported",
        || async {
            let s = partner_status(&cq, "mianyang").await;
            s.last_error.contains("backwards").then_some(s)
        },
    )
    .await;
    assert_eq!((s.sequence, &s.kids), (before.sequence, &before.kids));
    assert!(verify(&cq, &my_card.token).await.valid);
    let my = fresh;

    // Polling: a Chongqing instance that pins another identity for Mianyang, and one that
    // trusts another CA for it, refuse Mianyang's server and never trust its cards.
    let my_card = issue(&my, "51070019850202009", "C", "my-9").await;
    for (ca, pinned) in [
        (
            my_certs.join("ca.pem"),
            "spiffe://my.talent/partner/other".to_owned(),
        ),
        (evil_certs.join("ca.pem"), pin(&MIANYANG)),
    ] {
        // Nobody calls this instance but the test: port 0 will do.
        let dir = pki(&CHONGQING);
        let cfg = config(&CHONGQING, "", &MIANYANG, &my.addr, &ca, &pinned);
        let wary = TestApp::builder()
            .db(Db::Sqlite)
            .dir(dir)
            .config(&cfg)
            .spawn()
            .await;
        let s = eventually(Duration::from_secs(10), "refusal reported", || async {
            let s = partner_status(&wary, "mianyang").await;
            (!s.last_error.is_empty()).then_some(s)
        })
        .await;
        assert!(s.last_refresh.is_none() && s.kids.is_empty(), "{s:?}");
        let v = verify(&wary, &my_card.token).await;
        assert_eq!(v.reason, "STALE_TRUST_DATA", "{v:?}");
    }
}

/// Several replicas of one region over one PostgreSQL: a reservation retried through another
/// replica is the same reservation, and when the replica refreshing a partner dies another
/// takes over the lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_reservations_and_the_refresh_lease() {
    let Some(db) = Db::postgres() else { return };
    let (cq, mut my) = two_regions_up(db).await;
    let config = std::fs::read_to_string(my.dir.path().join("gateway.toml")).expect("config");
    let my_b = TestApp::builder()
        .replica_of(&my)
        .config(&config)
        .spawn()
        .await;
    let card = issue(&cq, "11010519800101011", "B", "cq-r1").await;
    eventually(
        Duration::from_secs(5),
        "card known to both replicas",
        || async {
            (verify(&my, &card.token).await.valid && verify(&my_b, &card.token).await.valid)
                .then_some(())
        },
    )
    .await;
    let first = redeem(&my, &card.token, "MY07", "r-1").await.expect("MY07");
    let retried = redeem(&my_b, &card.token, "MY07", "r-1")
        .await
        .expect("retry");
    assert_eq!(first.redemption_id, retried.redemption_id);
    let home = redeem(&cq, &card.token, "CQ10", "r-2")
        .await
        .expect_err("one reservation");
    assert_eq!(home.code(), Code::ResourceExhausted, "{home:?}");

    let before = partner_status(&my_b, "chongqing")
        .await
        .last_refresh
        .expect("refreshed")
        .seconds;
    my.terminate();
    // The lease outlives a few polls (2 s at least); then the survivor refreshes.
    let after = eventually(Duration::from_secs(10), "survivor refreshes", || async {
        let s = partner_status(&my_b, "chongqing").await;
        let t = s.last_refresh.map_or(0, |t| t.seconds);
        (t >= before + 3 && s.last_error.is_empty()).then_some(s)
    })
    .await;
    assert!(!after.stale);
}

/// Issue #14: a key revoked at home is KEY_REVOKED at the partner within a few refreshes,
/// and the card renewed under the new key verifies there.
async fn a_revoked_key_is_refused_at_the_partner_too(db: Db) {
    let (cq, my) = two_regions_up(db).await;
    let card = issue(&cq, "11010519800101031", "B", "rev-1").await;
    eventually(
        Duration::from_secs(10),
        "card trusted in Mianyang",
        || async { verify(&my, &card.token).await.valid.then_some(()) },
    )
    .await;
    let renewed = cq
        .admin()
        .await
        .revoke_key(pb::RevokeKeyRequest {
            kid: card.key_id.clone(),
            reason: "key file copied off the laptop".into(),
            renew_cards: true,
        })
        .await
        .expect("revoked")
        .into_inner()
        .renewed;
    assert_eq!(renewed, 1);
    assert_eq!(verify(&cq, &card.token).await.reason, "KEY_REVOKED");
    // A few of Mianyang's polls (each HINT_MS) at most.
    eventually(
        Duration::from_secs(5),
        "KEY_REVOKED in Mianyang",
        || async { (verify(&my, &card.token).await.reason == "KEY_REVOKED").then_some(()) },
    )
    .await;
    let fresh = get_card(&cq, &card.card_id).await;
    assert_ne!(fresh.key_id, card.key_id);
    assert!(verify(&cq, &fresh.token).await.valid);
    eventually(
        Duration::from_secs(5),
        "renewed card trusted in Mianyang",
        || async { verify(&my, &fresh.token).await.valid.then_some(()) },
    )
    .await;
    let s = partner_status(&my, "chongqing").await;
    assert!(!s.kids.contains(&card.key_id), "{s:?}");
    assert!(s.kids.contains(&fresh.key_id), "{s:?}");
}
both_databases!(a_revoked_key_is_refused_at_the_partner_too);
