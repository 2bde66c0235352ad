//! Token profiles: the ones shipped with the gateway (profiles/*.toml), an operator's own
//! (`profiles_dir`), and the one a federated partner publishes in its trust bundle.

use crate::domain::TokenProfile;
use std::path::Path;
use std::sync::Arc;

const SHIPPED: [&str; 2] = [
    include_str!("../../../profiles/new-chongqing-talent-card-v1.toml"),
    include_str!("../../../profiles/science-city-card-v1.toml"),
];

/// The partner entry's `profile` that takes the partner's published profile.
pub const PUBLISHED: &str = "published";

/// Algorithms a profile file may name: those the gateway verifies (`Algorithm::from_header`),
/// with the names partner systems use for SM2.
const KNOWN_ALGORITHMS: [&str; 6] = ["EdDSA", "Ed25519", "ES256", "SM2", "SM3WithSM2", "GmSM2"];

/// Algorithms a partner's published profile may allow (DESIGN.md): a partner cannot widen
/// what this gateway accepts beyond these by publishing a profile.
const PUBLISHED_ALGORITHMS: [&str; 4] = ["EdDSA", "Ed25519", "ES256", "SM2"];

/// Largest profile file or published profile read.
const MAX_PROFILE_BYTES: usize = 16 * 1024;

/// Every profile this gateway knows by id: the shipped ones first, then `profiles_dir`.
#[derive(Debug, Clone)]
pub struct ProfileSet {
    profiles: Vec<Arc<TokenProfile>>,
}

/// Why a partner's published profile was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishedProfileError {
    /// The bundle carries none (a gateway of an earlier version, or a partner without one).
    #[error("the bundle publishes no token profile")]
    Missing,
    /// Over the size limit.
    #[error("the published token profile is over {MAX_PROFILE_BYTES} bytes")]
    TooLarge,
    /// Not the profile format.
    #[error("the published token profile does not parse: {0}")]
    Parse(String),
    /// Values that are wrong, each named.
    #[error("the published token profile is refused: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

impl ProfileSet {
    /// The shipped profiles alone.
    pub fn shipped() -> Self {
        let profiles = SHIPPED
            .iter()
            .filter_map(|t| match TokenProfile::parse(t) {
                Ok(p) => Some(Arc::new(p)),
                Err(e) => {
                    tracing::error!(error = %e, "a shipped profile does not parse");
                    None
                }
            })
            .collect();
        Self { profiles }
    }

    /// The shipped profiles and every `*.toml` in `dir`; on any problem, all of them, each
    /// naming the file, the field and why.
    pub fn load(dir: Option<&Path>) -> Result<Self, Vec<String>> {
        let mut set = Self::shipped();
        let Some(dir) = dir else {
            return Ok(set);
        };
        let mut problems = Vec::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => return Err(vec![format!("profiles_dir {}: {e}", dir.display())]),
        };
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect();
        files.sort();
        let mut origin: Vec<(String, String)> = Vec::new();
        for file in files {
            let shown = file.display().to_string();
            let text = match std::fs::read(&file) {
                Ok(b) if b.len() > MAX_PROFILE_BYTES => {
                    problems.push(format!("{shown}: over {MAX_PROFILE_BYTES} bytes"));
                    continue;
                }
                Ok(b) => match String::from_utf8(b) {
                    Ok(t) => t,
                    Err(_) => {
                        problems.push(format!("{shown}: not UTF-8 text"));
                        continue;
                    }
                },
                Err(e) => {
                    problems.push(format!("{shown}: {e}"));
                    continue;
                }
            };
            let profile = match TokenProfile::parse(&text) {
                Ok(p) => p,
                Err(e) => {
                    problems.push(format!("{shown}: {}", toml_problem(&text, &e)));
                    continue;
                }
            };
            let mut found = profile.problems();
            found.extend(unknown_algorithms(&profile, &KNOWN_ALGORITHMS));
            if set.get(&profile.id).is_some() {
                match origin.iter().find(|(id, _)| *id == profile.id) {
                    Some((_, other)) => found.push(format!(
                        "id: {:?} is already defined by {other}",
                        profile.id
                    )),
                    None => found.push(format!(
                        "id: {:?} is a shipped profile and cannot be redefined; choose a new id \
                         (e.g. a new version)",
                        profile.id
                    )),
                }
            }
            if found.is_empty() {
                origin.push((profile.id.clone(), shown));
                set.profiles.push(Arc::new(profile));
            } else {
                problems.extend(found.into_iter().map(|f| format!("{shown}: {f}")));
            }
        }
        if problems.is_empty() {
            Ok(set)
        } else {
            Err(problems)
        }
    }

    /// A profile by id.
    pub fn get(&self, id: &str) -> Option<Arc<TokenProfile>> {
        self.profiles.iter().find(|p| p.id == id).cloned()
    }

    /// Every id, shipped first.
    pub fn ids(&self) -> Vec<&str> {
        self.profiles.iter().map(|p| p.id.as_str()).collect()
    }
}

/// A partner's published profile (the file format, as text), checked as a `profiles_dir`
/// file is and held to the published allow-list of algorithms.
pub fn parse_published(text: &str) -> Result<TokenProfile, PublishedProfileError> {
    if text.trim().is_empty() {
        return Err(PublishedProfileError::Missing);
    }
    if text.len() > MAX_PROFILE_BYTES {
        return Err(PublishedProfileError::TooLarge);
    }
    let profile = TokenProfile::parse(text)
        .map_err(|e| PublishedProfileError::Parse(toml_problem(text, &e)))?;
    let mut problems = profile.problems();
    problems.extend(unknown_algorithms(&profile, &PUBLISHED_ALGORITHMS));
    if problems.is_empty() {
        Ok(profile)
    } else {
        Err(PublishedProfileError::Invalid(problems))
    }
}

/// A TOML error on one line: the message and where.
fn toml_problem(text: &str, e: &toml::de::Error) -> String {
    let why = e.message().trim();
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {why}")
        }
        None => why.to_owned(),
    }
}

fn unknown_algorithms(profile: &TokenProfile, allowed: &[&str]) -> Vec<String> {
    profile
        .algorithms
        .iter()
        .filter(|a| !allowed.contains(&a.as_str()))
        .map(|a| {
            format!(
                "algorithms: {a:?} is not allowed (only {})",
                allowed.join(", ")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIANFU: &str = "id = \"tianfu-talent-card-v1\"\ntyp = \"JWT\"\nalgorithms = [\"ES256\"]\n\
                          qr_prefix = \"TFRC1:\"\n[claims]\ncard_number = \"cardNumber\"\n\
                          holder_name = \"name\"\ntier = \"grade\"\n";

    #[test]
    fn the_shipped_profiles_parse_and_are_sound() {
        let set = ProfileSet::shipped();
        assert_eq!(
            set.ids(),
            ["new-chongqing-talent-card-v1", "science-city-card-v1"]
        );
        for id in set.ids() {
            let p = set.get(id).expect("profile");
            assert!(p.problems().is_empty(), "{id}: {:?}", p.problems());
        }
    }

    #[test]
    fn a_profiles_dir_adds_its_files_and_names_every_problem() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("tianfu.toml"), TIANFU).expect("write");
        std::fs::write(dir.path().join("notes.txt"), "not a profile").expect("write");
        let set = ProfileSet::load(Some(dir.path())).expect("loads");
        assert_eq!(
            set.get("tianfu-talent-card-v1")
                .expect("tianfu")
                .claims
                .tier,
            "grade"
        );

        std::fs::write(
            dir.path().join("a-again.toml"),
            TIANFU.replace("JWT", "").replace("ES256", "RS256"),
        )
        .expect("write");
        std::fs::write(
            dir.path().join("b-shipped.toml"),
            TIANFU.replace("tianfu-talent-card-v1", "science-city-card-v1"),
        )
        .expect("write");
        std::fs::write(dir.path().join("c-broken.toml"), "id = \"x\"\ntyp = ").expect("write");
        std::fs::write(dir.path().join("z-again.toml"), TIANFU).expect("write");
        let problems = ProfileSet::load(Some(dir.path())).expect_err("refused");
        let joined = problems.join("\n");
        for want in [
            "a-again.toml: typ: must be",
            "a-again.toml: algorithms: \"RS256\" is not allowed",
            "b-shipped.toml: id: \"science-city-card-v1\" is a shipped profile",
            "c-broken.toml: line 2: ",
            "z-again.toml: id: \"tianfu-talent-card-v1\" is already defined by",
        ] {
            assert!(joined.contains(want), "{want} in\n{joined}");
        }
        // a-again.toml has problems of its own, so it defines nothing.
        assert_eq!(problems.len(), 5, "{joined}");
    }

    #[test]
    fn a_published_profile_is_held_to_the_allow_list() {
        assert_eq!(parse_published(TIANFU).expect("good").qr_prefix, "TFRC1:");
        assert_eq!(parse_published(" "), Err(PublishedProfileError::Missing));
        let wide = parse_published(&TIANFU.replace("[\"ES256\"]", "[\"ES256\", \"HS256\"]"))
            .expect_err("refused");
        assert!(
            wide.to_string().contains("\"HS256\" is not allowed"),
            "{wide}"
        );
        assert!(matches!(
            parse_published("id = 1"),
            Err(PublishedProfileError::Parse(_))
        ));
        assert!(parse_published(&TIANFU.replace("ES256", "SM2")).is_ok());
    }
}
