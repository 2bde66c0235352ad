//! A bundle's catalogue (the TOML document as JSON) reads as `catalogue import` reads the
//! TOML: the same catalogue, the same refusals.

use talent_verifier::domain::Catalogue;

const SHIPPED: &str = include_str!("../../catalogue/catalogue.toml");

fn as_json(toml_text: &str) -> serde_json::Value {
    toml::from_str(toml_text).expect("TOML as JSON")
}

#[test]
fn the_json_form_is_the_same_catalogue() {
    let from_toml = Catalogue::parse(SHIPPED).expect("shipped parses");
    let from_json = Catalogue::from_json(&as_json(SHIPPED)).expect("JSON form parses");
    assert_eq!(from_json, from_toml);
}

#[test]
fn the_json_form_is_refused_for_what_the_toml_is_refused_for() {
    // A second region with the first one's id, and a member no catalogue has.
    let duplicate = SHIPPED.replacen("id = \"mianyang\"", "id = \"chongqing\"", 1);
    let toml_problems = Catalogue::parse(&duplicate).expect_err("refused");
    let json_problems = Catalogue::from_json(&as_json(&duplicate)).expect_err("refused");
    assert_eq!(json_problems, toml_problems);
    assert!(
        json_problems.iter().any(|p| p.contains("chongqing")),
        "{json_problems:?}"
    );

    let mut unknown = as_json(SHIPPED);
    unknown["surprise"] = serde_json::json!(1);
    let problems = Catalogue::from_json(&unknown).expect_err("unknown member refused");
    assert!(
        problems.iter().any(|p| p.contains("surprise")),
        "{problems:?}"
    );
}
