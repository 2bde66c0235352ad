//! A third region by data alone (issue #19): a partner whose token profile exists only as a
//! file of `profiles_dir` (Chengdu's Tianfu card: `cardNumber`, `name`, `grade`, ES256,
//! `TFRC1:`) is verified, and once a catalogue version adding its region, recognition rows
//! and mappings is imported at runtime, its tiers are recognised and the mapped services
//! granted: no rebuild, no restart.

use crate::both_databases;
use crate::fixtures::redeem_request;
use crate::helpers::{Db, TestApp, cli, verify};
use crate::tianfu::{self, Tianfu};
use serde_json::json;
use talent_gateway::pb;

fn usable(v: &pb::VerifyCardResponse) -> Vec<&str> {
    v.entitlements
        .iter()
        .filter(|e| e.basis == "home" || e.basis == "host_standard")
        .map(|e| e.service_code.as_str())
        .collect()
}

async fn a_partner_profile_from_profiles_dir_is_recognised_after_a_catalogue_import(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tf = Tianfu::new(dir.path());
    let app = TestApp::builder().db(db).config(&tf.config()).spawn().await;

    // Its own claim names, ES256 and its QR prefix, from the profile file alone: the
    // signature holds and the claims are read. The catalogue does not know Chengdu yet, so
    // its tier means nothing here and nothing is granted.
    let card = tf.token(&Tianfu::claims("B"));
    let v = verify(&app, &format!("TFRC1:{card}")).await;
    assert_eq!(v.issuer_region, "chengdu");
    assert_eq!(v.card_id, "TF510100000042");
    assert_eq!(v.holder_name, "张蓉");
    assert_eq!(v.native_tier, "B");
    assert!(!v.valid, "{v:?}");
    assert!(
        v.detail
            .contains("not a tier the agreement knows for chengdu"),
        "{v:?}"
    );
    assert!(usable(&v).is_empty(), "{v:?}");
    let mut counter = app.entitlements(Some("counter")).await;
    let refused = counter
        .redeem_service(redeem_request(&card, "CQ13", "tf-before"))
        .await
        .expect_err("nothing to grant before the catalogue knows the region");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);

    // The profile is enforced as written: its typ, its algorithms, its card number shape.
    let wrong_typ = tf.sign(
        &json!({"alg": "ES256", "kid": "tf-ec-1", "typ": "talent-card+jwt"}),
        &Tianfu::claims("B"),
    );
    assert_eq!(verify(&app, &wrong_typ).await.reason, "WRONG_TYPE");
    let mut bad_number = Tianfu::claims("B");
    bad_number["cardNumber"] = json!("KJC0000000042");
    let v = verify(&app, &tf.token(&bad_number)).await;
    assert_eq!(v.reason, "MALFORMED");
    assert!(v.detail.contains("cardNumber"), "{v:?}");
    let mut science_city_names = Tianfu::claims("B");
    science_city_names["level"] = json!("B");
    science_city_names
        .as_object_mut()
        .expect("object")
        .remove("grade");
    let v = verify(&app, &tf.token(&science_city_names)).await;
    assert_eq!(v.reason, "MALFORMED");
    assert!(v.detail.contains("grade"), "{v:?}");

    // A new catalogue version at runtime: Chengdu's region, recognition rows and mappings.
    let shipped = include_str!("../../catalogue/catalogue.toml");
    let imported = app
        .admin()
        .await
        .import_catalogue(pb::ImportCatalogueRequest {
            catalogue: tianfu::with_chengdu(shipped, "2026.3"),
            effective_from: None,
        })
        .await
        .expect("imported")
        .into_inner();
    assert_eq!(imported.catalogue_version, "2026.3");

    let v = verify(&app, &format!("TFRC1:{card}")).await;
    assert!(v.valid, "{v:?}");
    assert_eq!(v.catalogue_version, "2026.3");
    assert_eq!(
        (v.native_tier.as_str(), v.recognised_tier.as_str()),
        ("B", "B")
    );
    assert_eq!(usable(&v), ["CQ01", "CQ10", "CQ13"], "{v:?}");
    let scenic = v
        .entitlements
        .iter()
        .find(|e| e.service_code == "CQ13")
        .expect("CQ13");
    assert_eq!(
        (scenic.basis.as_str(), scenic.source_service_code.as_str()),
        ("host_standard", "TF03")
    );
    let apartment = v
        .entitlements
        .iter()
        .find(|e| e.service_code == "CQ05")
        .expect("CQ05 shown");
    assert_eq!(apartment.basis, "local_only");
    // A grade D holder is recognised as F: the health check (A-C) is shown, not usable.
    let v = verify(&app, &tf.token(&Tianfu::claims("D"))).await;
    assert_eq!(v.recognised_tier, "F");
    assert_eq!(usable(&v), ["CQ01", "CQ13"], "{v:?}");

    // The mapped service is granted at the counter.
    let r = counter
        .redeem_service(redeem_request(&format!("TFRC1:{card}"), "CQ13", "tf-1"))
        .await
        .expect("granted")
        .into_inner();
    assert_eq!(r.remaining, -1);
    assert!(!r.redemption_id.is_empty());
}
both_databases!(a_partner_profile_from_profiles_dir_is_recognised_after_a_catalogue_import);

/// `serve` and `config check` name every problem of `profiles_dir` (file, field, why), and a
/// partner whose profile exists nowhere keeps its precise error.
#[test]
fn every_profile_problem_is_named_before_anything_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tf = Tianfu::new(dir.path());
    std::fs::write(
        tf.profiles_dir.join("broken.toml"),
        tianfu::profile_toml("\"RS256\"")
            .replace(tianfu::PROFILE, "tianfu-talent-card-v2")
            .replace("TFRC1:", "TFRC 1")
            .replace("\"grade\"", "\"exp\""),
    )
    .expect("write");
    std::fs::write(
        tf.profiles_dir.join("shipped.toml"),
        tianfu::profile_toml("\"ES256\"").replace(tianfu::PROFILE, "science-city-card-v1"),
    )
    .expect("write");
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, tf.config()).expect("write");
    let config_s = config.display().to_string();
    let data = dir.path().join("data");
    let data_s = data.display().to_string();
    for args in [
        vec!["config", "check", "--config", &config_s],
        vec![
            "serve",
            "--config",
            &config_s,
            "--data-dir",
            &data_s,
            "--listen",
            "127.0.0.1:0",
        ],
    ] {
        let (ok, out) = cli(&args);
        assert!(!ok, "{args:?} must refuse:\n{out}");
        assert!(!out.contains("listening on"), "{out}");
        for needed in [
            "broken.toml: algorithms: \"RS256\" is not allowed",
            "broken.toml: qr_prefix: \"TFRC 1\" must be",
            "broken.toml: claims.tier: \"exp\" is a registered claim",
            "shipped.toml: id: \"science-city-card-v1\" is a shipped profile and cannot be redefined",
        ] {
            assert!(
                out.contains(needed),
                "{args:?}: {needed:?} missing from:\n{out}"
            );
        }
    }

    // Good files again; the partner names a profile that exists nowhere.
    std::fs::remove_file(tf.profiles_dir.join("broken.toml")).expect("rm");
    std::fs::remove_file(tf.profiles_dir.join("shipped.toml")).expect("rm");
    std::fs::write(
        &config,
        tf.config().replace(
            &format!("profile = \"{}\"", tianfu::PROFILE),
            "profile = \"tianfu-talent-card-v9\"",
        ),
    )
    .expect("write");
    for args in [
        vec!["config", "check", "--config", &config_s],
        vec![
            "serve",
            "--config",
            &config_s,
            "--data-dir",
            &data_s,
            "--listen",
            "127.0.0.1:0",
        ],
    ] {
        let (ok, out) = cli(&args);
        assert!(!ok, "{args:?} must refuse:\n{out}");
        assert!(
            out.contains("partner chengdu: unknown profile \"tianfu-talent-card-v9\""),
            "{args:?}:\n{out}"
        );
    }
    // And the good file passes the check, TALENT_GATEWAY_PROFILES_DIR standing in for the key.
    std::fs::write(
        &config,
        tf.config()
            .lines()
            .filter(|l| !l.starts_with("profiles_dir"))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_talent-gateway"))
        .args(["config", "check", "--config", &config_s])
        .env("TALENT_GATEWAY_PROFILES_DIR", &tf.profiles_dir)
        .output()
        .expect("run");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("profiles_dir = "), "{text}");
}

/// A partner added through Admin at runtime may name a `profiles_dir` profile; `published`
/// is for a partner polled over federation, and an unknown profile is named.
async fn an_admin_partner_takes_a_profiles_dir_profile_at_runtime(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tf = Tianfu::new(dir.path());
    let config = format!("profiles_dir = \"{}\"\n", tf.profiles_dir.display());
    let app = TestApp::builder().db(db).config(&config).spawn().await;
    let card = tf.token(&Tianfu::claims("B"));
    assert_eq!(verify(&app, &card).await.reason, "UNKNOWN_ISSUER");
    let jwks = std::fs::read_to_string(&tf.jwks_path).expect("jwks");
    let partner = |profile: &str| pb::AddPartnerRequest {
        partner: Some(pb::Partner {
            id: "chengdu".into(),
            profile: profile.into(),
            issuer: tianfu::ISSUER.into(),
            ..Default::default()
        }),
        jwks_json: jwks.clone(),
    };
    let mut admin = app.admin().await;
    for (profile, why) in [
        (
            "published",
            "\"published\" is for a partner polled over federation",
        ),
        (
            "tianfu-talent-card-v9",
            "unknown profile \"tianfu-talent-card-v9\"",
        ),
    ] {
        let e = admin
            .add_partner(partner(profile))
            .await
            .expect_err("refused");
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
        assert!(e.message().contains("partner.profile"), "{e:?}");
        assert!(e.message().contains(why), "{e:?}");
    }
    assert_eq!(verify(&app, &card).await.reason, "UNKNOWN_ISSUER");
    admin
        .add_partner(partner(tianfu::PROFILE))
        .await
        .expect("added");
    let v = verify(&app, &format!("TFRC1:{card}")).await;
    assert_eq!(
        (
            v.issuer_region.as_str(),
            v.card_id.as_str(),
            v.native_tier.as_str()
        ),
        ("chengdu", "TF510100000042", "B"),
        "{v:?}"
    );
    assert_ne!(v.reason, "UNKNOWN_ISSUER");
}
both_databases!(an_admin_partner_takes_a_profiles_dir_profile_at_runtime);
