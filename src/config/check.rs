//! `talent-gateway config check`: the settings in force, secrets hidden, and every problem.

use super::{Overrides, Settings};
use std::path::Path;

/// What `config check` found.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// The effective settings as TOML, secrets redacted; None when they cannot be read.
    pub effective: Option<String>,
    /// Every problem, each naming the setting (and the file, for unknown keys).
    pub problems: Vec<String>,
}

const REDACTED: &str = "<redacted>";

/// Reads the settings as `serve` would (defaults, the file, `TALENT_GATEWAY_*`) and lists
/// every problem instead of stopping at the first.
pub fn check(config: Option<&Path>) -> CheckReport {
    let mut report = CheckReport::default();
    if let Some(path) = config {
        if !path.exists() {
            report
                .problems
                .push(format!("config file {} not found", path.display()));
            return report;
        }
        match super::strict::unknown_in_file(path) {
            Ok(unknown) => report
                .problems
                .extend(unknown.iter().map(|u| format!("{}: {u}", path.display()))),
            Err(e) => {
                report.problems.push(format!("{e:#}"));
                return report;
            }
        }
    }
    let settings = match Settings::effective(config, &Overrides::default()) {
        Ok(s) => s,
        Err(e) => {
            report.problems.push(format!("{e:#}"));
            return report;
        }
    };
    report.problems.extend(settings.problems());
    report.effective = Some(redacted(&settings));
    report
}

/// The settings as TOML with every secret replaced: the key-encryption keys (their ids
/// stay), the ID-hash secret, and passwords inside URLs.
pub(crate) fn redacted(settings: &Settings) -> String {
    let mut value = match toml::Value::try_from(settings) {
        Ok(v) => v,
        Err(e) => return format!("# the settings cannot be shown: {e}\n"),
    };
    redact(&mut value, "");
    toml::to_string(&value).unwrap_or_else(|e| format!("# the settings cannot be shown: {e}\n"))
}

/// A name that holds a secret: the key-encryption keys and anything called a secret or a
/// password (a new secret setting is hidden by its name).
fn is_secret(key: &str) -> bool {
    key.starts_with("key_encryption_key") || key.contains("secret") || key.contains("password")
}

fn redact(value: &mut toml::Value, key: &str) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t.iter_mut() {
                redact(v, k);
            }
        }
        toml::Value::Array(items) => {
            for v in items {
                redact(v, key);
            }
        }
        toml::Value::String(s) if is_secret(key) => {
            // `ID:BASE64` entries keep their id, so the ring's order can be checked.
            *s = match s.split_once(':') {
                Some((id, _)) if key == "key_encryption_keys" => format!("{id}:{REDACTED}"),
                _ => REDACTED.to_owned(),
            };
        }
        toml::Value::String(s) => *s = redact_url(s),
        toml::Value::Integer(_) if is_secret(key) && !key.ends_with("_seconds") => {
            *value = toml::Value::String(REDACTED.to_owned());
        }
        _ => {}
    }
}

/// `scheme://user:PASSWORD@host/...?password=...` with the password replaced.
pub(crate) fn redact_url(s: &str) -> String {
    let mut out = s.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest = scheme_end + 3;
        let authority_end = out[rest..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |i| rest + i);
        if let Some(at) = out[rest..authority_end].rfind('@') {
            let userinfo = &out[rest..rest + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest + colon + 1..rest + at, REDACTED);
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if is_secret(&k.to_ascii_lowercase()) => format!("{k}={REDACTED}"),
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{head}{}", query.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_hidden() {
        assert_eq!(
            redact_url(
                "postgres://talent:s3cr%40t@db:5432/g?sslmode=verify-full&sslrootcert=/ca.crt"
            ),
            "postgres://talent:<redacted>@db:5432/g?sslmode=verify-full&sslrootcert=/ca.crt"
        );
        assert_eq!(
            redact_url("postgres://db/g?user=talent&password=hunter2"),
            "postgres://db/g?user=talent&password=<redacted>"
        );
        assert_eq!(
            redact_url("postgres://talent@db/g"),
            "postgres://talent@db/g"
        );
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    }

    #[test]
    fn secrets_are_hidden_and_key_ids_shown() {
        let k = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
        let settings = Settings {
            key_encryption_keys: vec![format!("new:{k}"), format!("old:{k}")],
            id_hash_secret: Some(k.to_owned()),
            database_url: Some("postgres://u:pw@h/d".to_owned()),
            ..Default::default()
        };
        let shown = redacted(&settings);
        assert!(!shown.contains(k), "{shown}");
        assert!(!shown.contains(":pw@"), "{shown}");
        assert!(shown.contains("\"new:<redacted>\""), "{shown}");
        assert!(shown.contains("id_hash_secret = \"<redacted>\""), "{shown}");
        let key = Settings {
            key_encryption_key: Some(k.to_owned()),
            ..Default::default()
        };
        let shown = redacted(&key);
        assert!(!shown.contains(k), "{shown}");
        assert!(
            shown.contains("key_encryption_key = \"<redacted>\""),
            "{shown}"
        );
    }

    /// The TOML of every config example in deploy/: the production file, and the
    /// `gateway.toml` a ConfigMap embeds.
    fn deploy_examples() -> Vec<(std::path::PathBuf, String)> {
        let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
        let mut out = Vec::new();
        let mut stack = vec![deploy];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("deploy/") {
                let path = entry.expect("entry").path();
                let text = || std::fs::read_to_string(&path).expect("read");
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "toml") {
                    let t = text();
                    out.push((path, t));
                } else if path.extension().is_some_and(|e| e == "yaml") {
                    let t = text();
                    let mut lines = t.lines().skip_while(|l| l.trim() != "gateway.toml: |");
                    if lines.next().is_some() {
                        let embedded: Vec<&str> = lines
                            .take_while(|l| l.is_empty() || l.starts_with("    "))
                            .map(|l| l.get(4..).unwrap_or(""))
                            .collect();
                        out.push((path, embedded.join("\n")));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn every_config_example_in_deploy_passes_the_strict_check() {
        let examples = deploy_examples();
        assert!(examples.len() >= 2, "{examples:?}");
        let dir = tempfile::tempdir().expect("tempdir");
        for (i, (from, text)) in examples.iter().enumerate() {
            let file = dir.path().join(format!("example-{i}.toml"));
            std::fs::write(&file, text).expect("write");
            let report = check(Some(&file));
            assert!(
                report.problems.is_empty(),
                "{}: {:?}",
                from.display(),
                report.problems
            );
            let settings = Settings::load(Some(&file), &Overrides::default()).expect("loads");
            if let Some(metrics) = settings.metrics_listen {
                assert!(
                    !metrics.ip().is_unspecified(),
                    "{}: metrics on every address",
                    from.display()
                );
            }
        }
    }

    #[test]
    fn every_database_url_example_verifies_the_server() {
        use std::str::FromStr;
        let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
        let mut urls = Vec::new();
        for f in [
            "gateway.production.toml",
            "kubernetes/secret.example.yaml",
            "systemd/talent-gateway.service",
        ] {
            let text = std::fs::read_to_string(deploy.join(f)).expect("read");
            for (at, _) in text.match_indices("postgres://") {
                let url: String = text[at..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
                    .collect();
                if url == "postgres://" || url.ends_with("...") {
                    continue;
                }
                urls.push((f, url));
            }
        }
        assert!(urls.len() >= 3, "{urls:?}");
        for (f, url) in urls {
            assert!(
                url.contains("sslmode=verify-full") && url.contains("sslrootcert=/"),
                "{f}: {url}"
            );
            sqlx::postgres::PgConnectOptions::from_str(&url)
                .unwrap_or_else(|e| panic!("{f}: {url}: {e}"));
        }
    }
}
