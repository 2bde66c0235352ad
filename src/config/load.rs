//! Loading: defaults, the file, the environment, the flags; paths resolved.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use std::path::{Path, PathBuf};

use super::{Overrides, Settings, strict};

impl Settings {
    /// Loads defaults, the optional TOML file, the environment and the flags, in that order.
    pub fn load(config: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        if let Some(path) = config {
            anyhow::ensure!(path.exists(), "config file {} not found", path.display());
            let unknown = strict::unknown_in_file(path)?;
            anyhow::ensure!(
                unknown.is_empty(),
                "config file {} names settings the gateway does not know (nothing was started):\n  {}",
                path.display(),
                unknown
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n  ")
            );
        }
        let s = Self::effective(config, overrides)?;
        s.validate()?;
        Ok(s)
    }

    /// Defaults, the file, the environment and the flags merged, paths resolved; not yet
    /// validated, and the file not checked for unknown keys.
    pub(super) fn effective(config: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = config {
            fig = fig.merge(Toml::file(path));
        }
        fig = fig
            .merge(Env::prefixed("TALENT_GATEWAY_").ignore(&["partners", "holder_proof"]))
            .merge(Serialized::defaults(overrides));
        let mut s: Settings = fig.extract()?;
        s.config_dir = config.and_then(Path::parent).map(Path::to_path_buf);
        let mut partners = std::mem::take(&mut s.partners);
        for p in &mut partners {
            p.jwks_file = p.jwks_file.take().map(|f| s.resolve(&f));
            p.client_ca = p.client_ca.take().map(|f| s.resolve(&f));
        }
        s.partners = partners;
        s.profiles_dir = s.profiles_dir.take().map(|f| s.resolve(&f));
        s.federation.client_cert = s.federation.client_cert.take().map(|f| s.resolve(&f));
        s.federation.client_key = s.federation.client_key.take().map(|f| s.resolve(&f));
        Ok(s)
    }

    /// A path from the config file, relative to that file.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        match &self.config_dir {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_path_buf(),
        }
    }

    /// The database URL, defaulting to SQLite under the data directory.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}",
                self.data_dir.join("talent-gateway.db").display()
            )
        })
    }
}
