//! Files the gateway writes for itself; secrets get mode 0600 from the start.

use anyhow::Context;
use std::io::Write;
use std::path::Path;

/// Writes `contents` to `path`, readable only by the owner when `secret`.
pub fn write(path: &Path, contents: &[u8], secret: bool) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(contents)?;
    f.sync_all()?;
    Ok(())
}

/// Reads a 32-byte secret given as base64, or else from (or into) a 0600 file.
pub fn secret_32(
    configured: Option<&str>,
    fallback: &Path,
    what: &str,
) -> anyhow::Result<[u8; 32]> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    if let Some(v) = configured {
        let bytes = b64
            .decode(v.trim())
            .with_context(|| format!("{what} is not base64"))?;
        return bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("{what} must be 32 bytes"));
    }
    if fallback.exists() {
        let text = std::fs::read_to_string(fallback)?;
        let bytes = b64
            .decode(text.trim())
            .with_context(|| format!("{} is not base64", fallback.display()))?;
        return bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("{} must hold 32 bytes", fallback.display()));
    }
    tracing::warn!(
        file = %fallback.display(),
        "no {what} configured: generated one in a 0600 file; replicas must share it through configuration"
    );
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    if let Some(dir) = fallback.parent() {
        std::fs::create_dir_all(dir)?;
    }
    write(fallback, b64.encode(bytes).as_bytes(), true)?;
    Ok(bytes)
}
