//! `talent-gateway config check`.

/// `talent-gateway config check`: prints the effective settings (secrets redacted) and
/// every problem; fails when there is one.
pub(crate) fn config_check(config: Option<&std::path::Path>) -> anyhow::Result<()> {
    let report = crate::config::check(config);
    if let Some(effective) = &report.effective {
        println!(
            "# Effective settings: defaults, the file, then TALENT_GATEWAY_* (secrets redacted)."
        );
        print!("{effective}");
    }
    for p in &report.problems {
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
