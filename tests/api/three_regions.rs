//! Three regions in step (issue #19): Chongqing, Mianyang and Chengdu, each its own gateway
//! with its own CA and database, each federated with the other two over mutual TLS. Chengdu
//! runs the same program with its own token profile from `profiles_dir`, and the other two
//! take that profile from Chengdu's trust bundle (`profile = "published"`). Mutual
//! recognition, one mapping row naming a service in all three regions with its quota shared
//! (the home region authoritative), revocation crossing, and one partner down while the
//! other two keep working; and a changed published profile taken at the next poll.

use crate::both_databases;
use crate::federation::{issue, redeem_with_proof, verify};
use crate::helpers::{Db, TestApp, eventually, free_addr};
use crate::regions::{CHONGQING, MIANYANG, Region, own_settings, partner_entry, pin, pki};
use crate::tianfu;
use std::path::Path;
use std::time::Duration;
use talent_gateway::pb;
use tonic::Code;

/// Its partners know nothing of the Tianfu profile but what its bundle publishes.
const CHENGDU: Region = Region {
    id: "chengdu",
    issuer: tianfu::ISSUER,
    trust_domain: "cd.talent",
    profile: "published",
    own: "district = \"510100\"\ntiers = [\"A\", \"B\", \"C\", \"D\"]\n\
          own_profile = \"tianfu-talent-card-v1\"\nprofiles_dir = \"profiles\"\n",
};

/// `me`'s config with both others as federated partners: (region, address, its CA).
/// Calls to a partner get 10 s: six gateways of two of these tests may share two loaded cores.
fn config(me: &Region, partners: [(&Region, &str, &Path); 2]) -> String {
    let mut c = format!(
        "{}[federation]\nrefresh_hint_millis = 300\nstaleness_seconds = 60\ncall_timeout_millis = 10000\n",
        own_settings(me, ""),
    );
    for (p, addr, ca) in partners {
        c.push_str(&partner_entry(p, addr, ca, &pin(p)));
    }
    c
}

/// `app`'s federation status of `partner`; None while it cannot answer (a loaded machine
/// may make its database pool wait), so callers poll.
async fn partner_status(app: &TestApp, partner: &str) -> Option<pb::PartnerStatus> {
    pb::federation_client::FederationClient::new(app.channel(Some("operator")).await)
        .get_federation_status(pb::GetFederationStatusRequest {})
        .await
        .ok()?
        .into_inner()
        .partners
        .into_iter()
        .find(|p| p.partner_id == partner)
}

async fn redeem(
    app: &TestApp,
    credential: &str,
    code: &str,
    key: &str,
) -> Result<pb::RedeemServiceResponse, tonic::Status> {
    redeem_with_proof(app, credential, code, key, "").await
}

fn basis<'a>(v: &'a pb::VerifyCardResponse, code: &str) -> &'a str {
    v.entitlements
        .iter()
        .find(|e| e.service_code == code)
        .map_or("", |e| e.basis.as_str())
}

/// `credential` valid at `app` (partners' data arrives by polling: wait for it).
async fn trusted(app: &TestApp, credential: &str, what: &str) -> pb::VerifyCardResponse {
    eventually(Duration::from_secs(10), what, || async {
        let v = verify(app, credential).await;
        v.valid.then_some(v)
    })
    .await
}

async fn three_regions(db: Db) {
    let regions = [&CHONGQING, &MIANYANG, &CHENGDU];
    let dirs: Vec<tempfile::TempDir> = regions.iter().map(|r| pki(r)).collect();
    // Chengdu's profile is a file of its own; EdDSA because it signs its own cards with it.
    let profiles = dirs[2].path().join("profiles");
    std::fs::create_dir_all(&profiles).expect("profiles folder");
    std::fs::write(
        profiles.join("tianfu.toml"),
        tianfu::profile_toml("\"EdDSA\", \"ES256\""),
    )
    .expect("write profile");
    let addrs: Vec<String> = regions.iter().map(|_| free_addr()).collect();
    let cas: Vec<std::path::PathBuf> = dirs.iter().map(|d| d.path().join("certs/ca.pem")).collect();
    let configs: Vec<String> = (0..3)
        .map(|i| {
            let (a, b) = ((i + 1) % 3, (i + 2) % 3);
            config(
                regions[i],
                [
                    (regions[a], &addrs[a], &cas[a]),
                    (regions[b], &addrs[b], &cas[b]),
                ],
            )
        })
        .collect();
    let mut apps = Vec::new();
    for ((dir, config), addr) in dirs.into_iter().zip(&configs).zip(&addrs) {
        apps.push(
            TestApp::builder()
                .db(db.clone())
                .dir(dir)
                .config(config)
                .listen(addr)
                .spawn()
                .await,
        );
    }
    for (i, app) in apps.iter().enumerate() {
        for j in [(i + 1) % 3, (i + 2) % 3] {
            eventually(Duration::from_secs(10), "first bundle fetched", || async {
                let s = partner_status(app, regions[j].id).await?;
                (s.last_refresh.is_some() && !s.kids.is_empty()).then_some(())
            })
            .await;
        }
    }
    // The agreement grows by a catalogue version, imported into each region at runtime.
    let catalogue = tianfu::with_chengdu(include_str!("../../catalogue/catalogue.toml"), "2026.3");
    for app in &apps {
        app.admin()
            .await
            .import_catalogue(pb::ImportCatalogueRequest {
                catalogue: catalogue.clone(),
                effective_from: None,
            })
            .await
            .expect("imported");
    }
    let [cq, my, cd] = &mut apps[..] else {
        unreachable!()
    };

    // Mutual recognition: each region's card verified in both others.
    let cq_card = issue(cq, "11010519800101001", "B", "cq-1").await;
    let my_card = issue(my, "51070019850202002", "B", "my-1").await;
    let cd_card = issue(cd, "51010019900303003", "B", "cd-1").await;
    assert!(cd_card.card_id.starts_with("TF"), "{}", cd_card.card_id);
    assert!(
        cd_card.qr_payload.starts_with("TFRC1:"),
        "{}",
        cd_card.qr_payload
    );
    for (host, card, from, code, source) in [
        (&*my, &cq_card, "chongqing", "MY07", "CQ10"),
        (&*cd, &cq_card, "chongqing", "TF02", "CQ10"),
        (&*cq, &my_card, "mianyang", "CQ10", "MY07"),
        (&*cd, &my_card, "mianyang", "TF02", "MY07"),
        (&*cq, &cd_card, "chengdu", "CQ10", "TF02"),
        (&*my, &cd_card, "chengdu", "MY07", "TF02"),
    ] {
        let v = trusted(host, &card.qr_payload, &format!("{from} card trusted")).await;
        assert_eq!(v.issuer_region, from);
        assert_eq!(v.recognised_tier, "B", "{v:?}");
        assert_eq!(basis(&v, code), "host_standard", "{from} at {code}: {v:?}");
        let e = v
            .entitlements
            .iter()
            .find(|e| e.service_code == code)
            .expect("entry");
        assert_eq!(e.source_service_code, source);
    }

    // One mapping row, one allowance: a Chongqing holder's health check used in Mianyang is
    // gone in Chengdu and at home; Chongqing, the home region, decided each time.
    let used = redeem(my, &cq_card.token, "MY07", "hc-1")
        .await
        .expect("MY07");
    assert_eq!(used.remaining, 0);
    let e = redeem(cd, &cq_card.qr_payload, "TF02", "hc-2")
        .await
        .expect_err("used up in Mianyang");
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    let e = redeem(cq, &cq_card.token, "CQ10", "hc-3")
        .await
        .expect_err("used up at home");
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    // A Chengdu holder's, used at home, is gone in both others.
    redeem(cd, &cd_card.token, "TF02", "hc-4")
        .await
        .expect("TF02 at home");
    for (host, code) in [(&*cq, "CQ10"), (&*my, "MY07")] {
        let e = redeem(host, &cd_card.qr_payload, code, "hc-5")
            .await
            .expect_err("used up in Chengdu");
        assert_eq!(e.code(), Code::ResourceExhausted, "{code}: {e:?}");
    }

    // A revocation in Chengdu is refused in both others within a few polls.
    let revoked = issue(cd, "51010019900303004", "C", "cd-2").await;
    for host in [&*cq, &*my] {
        trusted(host, &revoked.token, "new Chengdu card known").await;
    }
    cd.issuance(Some("operator"))
        .await
        .revoke_card(pb::RevokeCardRequest {
            card_id: revoked.card_id.clone(),
            reason: "test".into(),
        })
        .await
        .expect("revoked");
    for host in [&*cq, &*my] {
        eventually(Duration::from_secs(5), "revocation seen", || async {
            (verify(host, &revoked.token).await.reason == "REVOKED").then_some(())
        })
        .await;
    }

    // Mianyang down: Chongqing and Chengdu go on with each other, reservations included;
    // a Mianyang holder's counted service cannot be reserved (UNAVAILABLE, nothing granted).
    let cq_visitor = issue(cq, "11010519800101005", "B", "cq-5").await;
    let cd_visitor = issue(cd, "51010019900303005", "A", "cd-5").await;
    trusted(cd, &cq_visitor.token, "Chongqing visitor known in Chengdu").await;
    trusted(cq, &cd_visitor.token, "Chengdu visitor known in Chongqing").await;
    my.kill();
    eventually(Duration::from_secs(10), "Mianyang seen down", || async {
        let s = partner_status(cq, "mianyang").await?;
        (!s.last_error.is_empty()).then_some(())
    })
    .await;
    let r = redeem(cd, &cq_visitor.token, "TF02", "down-1")
        .await
        .expect("reserved at Chongqing while Mianyang is down");
    assert_eq!(r.remaining, 0);
    let r = redeem(cq, &cd_visitor.token, "CQ10", "down-2")
        .await
        .expect("reserved at Chengdu while Mianyang is down");
    assert_eq!(r.remaining, 0);
    let e = redeem(cq, &my_card.token, "CQ10", "down-3")
        .await
        .expect_err("Mianyang cannot reserve");
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    // Verification of Mianyang cards goes on from the stored bundle (within staleness).
    assert!(verify(cq, &my_card.token).await.valid);
    for (app, partner) in [(&*cq, "chengdu"), (&*cd, "chongqing")] {
        eventually(
            Duration::from_secs(10),
            "partner in good health",
            || async {
                let s = partner_status(app, partner).await?;
                (s.last_error.is_empty() && !s.stale && s.last_refresh.is_some()).then_some(())
            },
        )
        .await;
    }

    // Chengdu changes its profile (a new `typ`) and restarts: Chongqing takes the published
    // change at its next poll, with no step of its own; cards of the old `typ` are refused.
    let file = profiles.join("tianfu.toml");
    let changed = std::fs::read_to_string(&file)
        .expect("read profile")
        .replace("typ = \"JWT\"", "typ = \"tianfu-card+jwt\"");
    cd.terminate();
    std::fs::write(&file, changed).expect("write profile");
    cd.restart_in_place();
    let new_card = issue(cd, "51010019900303006", "B", "cd-6").await;
    let v = trusted(cq, &new_card.qr_payload, "the changed profile taken").await;
    assert_eq!(v.issuer_region, "chengdu");
    let v = verify(cq, &cd_card.token).await;
    assert_eq!(v.reason, "WRONG_TYPE", "{v:?}");
    eventually(
        Duration::from_secs(10),
        "Chengdu in good health",
        || async {
            let s = partner_status(cq, "chengdu").await?;
            s.last_error.is_empty().then_some(())
        },
    )
    .await;
}
both_databases!(three_regions);
