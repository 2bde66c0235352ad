//! `talent-gateway card ...`: issue, look up, change status, draw the QR code, bulk import.

use super::ClientArgs;
use super::output::{iso_ts, json, print_json};
use crate::pb::{self, card_issuance_client::CardIssuanceClient};
use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;

/// Rows per IssueCards call during import.
const IMPORT_BATCH: usize = 1_000;

/// Card commands.
#[derive(Debug, Subcommand)]
pub(crate) enum CardCommand {
    /// Issue one card.
    Issue {
        /// Holder name.
        #[arg(long)]
        name: String,
        /// Resident ID number (GB 11643).
        #[arg(long)]
        id_number: String,
        /// Tier A..F.
        #[arg(long)]
        tier: String,
        /// Talent category.
        #[arg(long, default_value = "other")]
        category: String,
        /// Days of validity.
        #[arg(long, default_value_t = 365)]
        valid_days: u32,
        /// Retry key.
        #[arg(long, default_value = "")]
        idempotency_key: String,
        /// The holder's Ed25519 public key (base64url, from `holder keygen`): binds the card.
        #[arg(long)]
        holder_public_key: Option<String>,
    },
    /// Show a card.
    Get {
        /// Card number.
        card_id: String,
    },
    /// Suspend a card.
    Suspend {
        /// Card number.
        card_id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Resume a suspended card.
    Resume {
        /// Card number.
        card_id: String,
    },
    /// Revoke a card (final).
    Revoke {
        /// Card number.
        card_id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Draw a card's QR code as PNG or SVG (by the file extension).
    Qr {
        /// Card number.
        card_id: String,
        /// Output file, .png or .svg.
        #[arg(long)]
        out: PathBuf,
    },
    /// Draw a card-shaped picture (85.6 x 54 mm) with name, tier, number, expiry and QR code,
    /// as SVG or PNG (by the file extension). From the gateway by card number, or from a
    /// token or QR payload read here (its claims are shown as they are, not verified).
    Picture {
        /// Card number (asks the gateway, role operator).
        #[arg(
            long,
            conflicts_with = "credential",
            required_unless_present = "credential"
        )]
        card_id: Option<String>,
        /// An own card's token or QR payload (no gateway needed).
        #[arg(long)]
        credential: Option<String>,
        /// Output file, .png or .svg.
        #[arg(long)]
        out: PathBuf,
        /// The card's name printed at the top.
        #[arg(long, default_value = "新重庆人才卡 New Chongqing Talent Card")]
        title: String,
    },
    /// Issue cards from a CSV file: holder_name,id_number,tier,category,valid_days[,idempotency_key]
    Import {
        /// The CSV file (no header line).
        file: PathBuf,
    },
}

pub(crate) async fn run(cmd: CardCommand, client: &ClientArgs) -> anyhow::Result<()> {
    if let CardCommand::Picture {
        card_id: None,
        credential: Some(credential),
        out,
        title,
    } = &cmd
    {
        return picture(&own_card_from_token(credential)?, title, out);
    }
    let mut api = CardIssuanceClient::new(client.channel().await?)
        .max_decoding_message_size(64 * 1024 * 1024);
    let card = match cmd {
        CardCommand::Issue {
            name,
            id_number,
            tier,
            category,
            valid_days,
            idempotency_key,
            holder_public_key,
        } => {
            let holder_public_key = match holder_public_key {
                Some(k) => super::holder::public_key_arg(&k)?,
                None => Vec::new(),
            };
            api.issue_card(pb::IssueCardRequest {
                holder_name: name,
                id_number,
                tier,
                category,
                valid_days,
                holder_public_key,
                idempotency_key,
            })
            .await?
            .into_inner()
            .card
        }
        CardCommand::Get { card_id } => {
            api.get_card(pb::GetCardRequest { card_id })
                .await?
                .into_inner()
                .card
        }
        CardCommand::Suspend { card_id, reason } => {
            api.suspend_card(pb::SuspendCardRequest { card_id, reason })
                .await?
                .into_inner()
                .card
        }
        CardCommand::Resume { card_id } => {
            api.resume_card(pb::ResumeCardRequest { card_id })
                .await?
                .into_inner()
                .card
        }
        CardCommand::Revoke { card_id, reason } => {
            api.revoke_card(pb::RevokeCardRequest { card_id, reason })
                .await?
                .into_inner()
                .card
        }
        CardCommand::Qr { card_id, out } => {
            let card = api
                .get_card(pb::GetCardRequest { card_id })
                .await?
                .into_inner()
                .card
                .context("no card in the answer")?;
            super::qr_image::write(&card.qr_payload, &out)?;
            println!("wrote {}", out.display());
            return Ok(());
        }
        CardCommand::Picture {
            card_id,
            out,
            title,
            ..
        } => {
            let card_id = card_id.context("--card-id or --credential is required")?;
            let card = api
                .get_card(pb::GetCardRequest { card_id })
                .await?
                .into_inner()
                .card
                .context("no card in the answer")?;
            return picture(&card, &title, &out);
        }
        CardCommand::Import { file } => return import(&mut api, &file, client.json).await,
    };
    if client.json {
        // Every card command answers {Card card = 1}: this is that answer.
        print_json(&json("GetCardResponse", &pb::GetCardResponse { card }));
        return Ok(());
    }
    let card = card.context("no card in the answer")?;
    println!("card_id     {}", card.card_id);
    println!("status      {}", card.status);
    println!("holder      {}", card.holder_name);
    println!("tier        {}", card.tier);
    println!("issued_at   {}", iso_ts(card.issued_at.as_ref()));
    println!("expires_at  {}", iso_ts(card.expires_at.as_ref()));
    println!("key_id      {}", card.key_id);
    println!("qr_payload  {}", card.qr_payload);
    Ok(())
}

fn picture(card: &pb::Card, title: &str, out: &std::path::Path) -> anyhow::Result<()> {
    let face = crate::credential::CardFace {
        title,
        holder_name: &card.holder_name,
        tier: &card.tier,
        card_number: &card.card_id,
        expires_at: card.expires_at.map_or(0, |t| t.seconds),
        qr_payload: &card.qr_payload,
    };
    super::card_image::write(&face, out)?;
    println!("wrote {}", out.display());
    Ok(())
}

/// The fields of a card picture read from an own token's claims.
fn own_card_from_token(credential: &str) -> anyhow::Result<pb::Card> {
    use crate::credential::{CardClaims, OWN_QR_PREFIX, b64_decode, strip_qr_prefix};
    let token = strip_qr_prefix(credential);
    let claims: CardClaims = token
        .split('.')
        .nth(1)
        .and_then(|p| b64_decode(p).ok())
        .and_then(|p| serde_json::from_slice(&p).ok())
        .context("--credential is not a New Chongqing Talent Card token")?;
    Ok(pb::Card {
        card_id: claims.sub,
        qr_payload: format!("{OWN_QR_PREFIX}{token}"),
        token: token.to_owned(),
        expires_at: Some(prost_types::Timestamp {
            seconds: claims.exp,
            nanos: 0,
        }),
        holder_name: claims.name,
        tier: claims.tier,
        ..Default::default()
    })
}

fn parse_row(line: &str, n: usize) -> anyhow::Result<pb::IssueCardRequest> {
    let f: Vec<&str> = line.split(',').map(str::trim).collect();
    anyhow::ensure!(f.len() >= 5, "line {n}: expected at least 5 fields");
    Ok(pb::IssueCardRequest {
        holder_name: f[0].to_owned(),
        id_number: f[1].to_owned(),
        tier: f[2].to_owned(),
        category: f[3].to_owned(),
        valid_days: f[4]
            .parse()
            .with_context(|| format!("line {n}: valid_days"))?,
        holder_public_key: Vec::new(),
        idempotency_key: f.get(5).map(|s| (*s).to_owned()).unwrap_or_default(),
    })
}

async fn import(
    api: &mut CardIssuanceClient<tonic::transport::Channel>,
    file: &std::path::Path,
    as_json: bool,
) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let rows = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse_row(l, i + 1))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let started = std::time::Instant::now();
    let (mut issued, mut failed) = (0usize, 0usize);
    for chunk in rows.chunks(IMPORT_BATCH) {
        let results = api
            .issue_cards(pb::IssueCardsRequest {
                cards: chunk.to_vec(),
            })
            .await?
            .into_inner()
            .results;
        for r in results {
            match r.outcome {
                Some(pb::issue_cards_result::Outcome::Card(_)) => issued += 1,
                Some(pb::issue_cards_result::Outcome::Error(e)) => {
                    failed += 1;
                    if failed <= 20 && !as_json {
                        eprintln!("refused: {}", e.message);
                    }
                }
                None => failed += 1,
            }
        }
    }
    if as_json {
        print_json(&serde_json::json!({
            "issued": issued,
            "refused": failed,
            "seconds": started.elapsed().as_secs_f64(),
        }));
        return Ok(());
    }
    println!(
        "issued {issued}, refused {failed}, in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Prints a verdict the way a counter would read it.
pub(crate) async fn verify(
    credential: &str,
    holder_proof: &str,
    client: &ClientArgs,
) -> anyhow::Result<()> {
    let mut api = crate::pb::verification_client::VerificationClient::new(client.channel().await?);
    let v = api
        .verify_card(pb::VerifyCardRequest {
            credential: credential.to_owned(),
            holder_proof: holder_proof.to_owned(),
            ..Default::default()
        })
        .await?
        .into_inner();
    print_verdict(&v, client.json);
    Ok(())
}

/// A VerifyCard answer as `verify` prints it (`--json`: every field by its proto name).
pub(super) fn print_verdict(v: &pb::VerifyCardResponse, as_json: bool) {
    if as_json {
        print_json(&json("VerifyCardResponse", v));
        return;
    }
    println!("valid            {}", v.valid);
    println!("reason           {}", v.reason);
    if !v.detail.is_empty() {
        println!("detail           {}", v.detail);
    }
    println!("issuer_region    {}", v.issuer_region);
    println!("card_id          {}", v.card_id);
    println!("holder           {}", v.holder_name);
    println!("native_tier      {}", v.native_tier);
    println!("recognised_tier  {}", v.recognised_tier);
    println!("expires_at       {}", iso_ts(v.expires_at.as_ref()));
    for e in &v.entitlements {
        println!(
            "  {:<6} {:<14} {}{}",
            e.service_code,
            e.basis,
            e.name,
            super::catalogue::amount_text(e.amount_yuan, &e.period, &e.stay_stages)
        );
    }
}
