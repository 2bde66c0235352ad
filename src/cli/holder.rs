//! `talent-gateway holder ...`: what a holder's device does for holder binding, from a shell.
//! `keygen` makes the device key; `prove` answers a gateway's challenge for a card.

use super::ClientArgs;
use crate::pb;
use anyhow::Context;
use base64::Engine;
use clap::Subcommand;
use ed25519_dalek::SigningKey;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The key file's name under `--out`.
const KEY_FILE: &str = "holder.key";

/// Holder commands.
#[derive(Debug, Subcommand)]
pub(crate) enum HolderCommand {
    /// Make a holder key: writes DIR/holder.key (0600, base64 of the 32-byte Ed25519 seed)
    /// and prints the public key (base64url) for `card issue --holder-public-key`.
    Keygen {
        /// Folder to write holder.key into (an existing key is never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Ask the gateway for a challenge and print a holder proof (kb+jwt) for a card.
    Prove {
        /// The holder key file from `holder keygen`.
        #[arg(long)]
        key: PathBuf,
        /// The card token or QR payload the proof goes with.
        #[arg(long)]
        credential: String,
        /// Also verify the card with the proof and print the verdict.
        #[arg(long)]
        verify: bool,
        /// Gateway address.
        #[arg(long, default_value = "127.0.0.1:50051")]
        addr: String,
        /// CA that signed the gateway's certificate [default: data/certs/ca.pem].
        #[arg(long)]
        ca: Option<PathBuf>,
        /// Name the server certificate must carry.
        #[arg(long, default_value = "localhost")]
        server_name: String,
        /// With --verify, print the verdict as JSON (VerifyCardResponse, proto field names).
        #[arg(long)]
        json: bool,
    },
}

pub(crate) async fn run(cmd: HolderCommand) -> anyhow::Result<()> {
    match cmd {
        HolderCommand::Keygen { out } => {
            let key = SigningKey::generate(&mut rand::rngs::OsRng);
            std::fs::create_dir_all(&out)?;
            let path = out.join(KEY_FILE);
            write_new_secret(
                &path,
                &base64::engine::general_purpose::STANDARD.encode(key.to_bytes()),
            )?;
            eprintln!("wrote {}", path.display());
            println!("{}", crate::credential::b64(key.verifying_key().as_bytes()));
            Ok(())
        }
        HolderCommand::Prove {
            key,
            credential,
            verify,
            addr,
            ca,
            server_name,
            json,
        } => {
            let key = read_key(&key)?;
            // A holder's phone has no client certificate: it calls as the public, and
            // `--key` here is the holder key, not a TLS key.
            let client = &ClientArgs {
                addr,
                ca,
                cert: None,
                key: None,
                public: true,
                server_name,
                json,
            };
            let mut api = pb::verification_client::VerificationClient::new(client.channel().await?);
            let c = api
                .create_challenge(pb::CreateChallengeRequest {})
                .await?
                .into_inner();
            let proof = crate::credential::sign_holder_proof(
                &key,
                &credential,
                &c.nonce,
                &c.audience,
                crate::service::now(),
            );
            if verify {
                super::card::verify(&credential, &proof, client).await
            } else {
                println!("{proof}");
                Ok(())
            }
        }
    }
}

/// Writes a new 0600 file; refuses to replace one.
fn write_new_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    Ok(())
}

/// Reads a key file written by `keygen`.
pub(crate) fn read_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let seed: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .with_context(|| format!("{} must hold base64 of a 32-byte seed", path.display()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// A public key given as base64url (or standard base64): 32 bytes.
pub(crate) fn public_key_arg(text: &str) -> anyhow::Result<Vec<u8>> {
    let t = text.trim().trim_end_matches('=');
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(t))
        .context("--holder-public-key must be base64url")?;
    anyhow::ensure!(
        bytes.len() == 32,
        "--holder-public-key must be a 32-byte Ed25519 public key"
    );
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_key_reads_back_and_its_public_key_parses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(KEY_FILE);
        let key = SigningKey::from_bytes(&[3; 32]);
        let text = base64::engine::general_purpose::STANDARD.encode(key.to_bytes());
        write_new_secret(&path, &text).expect("written");
        assert!(write_new_secret(&path, &text).is_err(), "never overwritten");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(read_key(&path).expect("reads").to_bytes(), key.to_bytes());
        let public = crate::credential::b64(key.verifying_key().as_bytes());
        assert_eq!(
            public_key_arg(&public).expect("parses"),
            key.verifying_key().as_bytes().to_vec()
        );
        assert!(public_key_arg("AAAA").is_err());
    }
}
