//! For benches/verify_h2load.sh: turns an own card token into the same card, expired, signed
//! with the same key, by opening the key from the gateway's data folder (embedded SQLite).
//! `expired_token DATA_DIR TOKEN` prints the expired token.

use talent_gateway::credential::{
    CompactJws, KeyEncryptionKey, OwnSigningKey, b64_decode, sign_compact, sm2_sign_compact,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [data, token] = args.as_slice() else {
        anyhow::bail!("usage: expired_token DATA_DIR TOKEN");
    };
    let data = std::path::Path::new(data);
    let kek = KeyEncryptionKey::from_bytes(talent_gateway::secret_file::secret_32(
        None,
        &data.join("secrets").join("key-encryption.key"),
        "key-encryption key",
    )?);
    let store = talent_gateway::store::connect(&format!(
        "sqlite://{}",
        data.join("talent-gateway.db").display()
    ))
    .await?;
    let token = token.strip_prefix("NCTC1:").unwrap_or(token);
    let mut buffer = vec![0; CompactJws::buffer_len(token)];
    let jws = CompactJws::parse(token, &mut buffer).map_err(|e| anyhow::anyhow!("{e}"))?;
    let kid = jws.header.kid.clone().unwrap_or_default();
    let record = store
        .signing_keys()
        .await?
        .into_iter()
        .find(|r| r.kid == kid)
        .ok_or_else(|| anyhow::anyhow!("no key {kid} in the database"))?;
    let secret = kek
        .open(&record.sealed_private_key, &record.kid)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // Ed25519 or SM2, as the key was made.
    let key = OwnSigningKey::from_stored(&record.algorithm, &secret)?;
    let (h, _) = token.split_once('.').unwrap_or_default();
    let header: serde_json::Value = serde_json::from_slice(&b64_decode(h)?)?;
    let mut claims: serde_json::Value = serde_json::from_slice(jws.payload)?;
    let now = talent_gateway::service::now();
    let shift = claims["exp"].as_i64().unwrap_or(now) - (now - 2 * 86_400);
    for name in ["iat", "nbf", "exp"] {
        if let Some(t) = claims[name].as_i64() {
            claims[name] = (t - shift).into();
        }
    }
    let claims = claims.to_string();
    let expired = match &key {
        OwnSigningKey::Ed25519(k) => sign_compact(&header, claims.as_bytes(), k.signing_key()),
        OwnSigningKey::Sm2(k) => sm2_sign_compact(&header, claims.as_bytes(), k),
    };
    println!("{expired}");
    Ok(())
}
