//! `talent-gateway config check`.

/// `talent-gateway config check`: prints the effective settings (secrets redacted) and
/// every problem; fails when there is one.
pub(crate) fn config_check(config: Option<&std::path::Path>, json: bool) -> anyhow::Result<()> {
    let report = crate::config::check(config);
    if json {
        // The effective settings as an object (the same TOML, secrets redacted), and the problems.
        let effective = report
            .effective
            .as_deref()
            .and_then(|t| toml::from_str::<toml::Value>(t).ok())
            .and_then(|v| serde_json::to_value(v).ok())
            .unwrap_or(serde_json::Value::Null);
        super::output::print_json(&serde_json::json!({
            "ok": report.problems.is_empty(),
            "effective": effective,
            "problems": report.problems,
        }));
    } else if let Some(effective) = &report.effective {
        println!(
            "# Effective settings: defaults, the file, then TALENT_GATEWAY_* (secrets redacted)."
        );
        print!("{effective}");
    }
    for p in report.problems.iter().filter(|_| !json) {
        eprintln!("problem: {p}");
    }
    anyhow::ensure!(
        report.problems.is_empty(),
        "{} problem(s) in the configuration",
        report.problems.len()
    );
    eprintln!("configuration ok");
    Ok(())
}
