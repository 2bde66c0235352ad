//! `audit verify`: the hash chain in the database, then the chain against its checkpoints:
//! the own ones kept here, and, with the gateway's config, those its federated partners
//! witnessed (asked over the same mutual-TLS channels the gateway uses). Names the first
//! record that no longer matches; exits non-zero on any mismatch.

use super::database::DatabaseArgs;
use crate::config::{Overrides, Settings};
use crate::pb;
use crate::service::checkpoint_check::{self, Finding, Holder};
use crate::service::{ChainCheck, check_audit_chain};
use crate::store::Store;
use anyhow::Context;
use serde_json::json;
use std::path::PathBuf;

/// Flags of `audit verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    /// The gateway's TOML config file: its database, issuer and federated partners, which
    /// are asked for the checkpoints of this chain they witnessed. Without it, only the
    /// chain and the checkpoints kept in the database are checked.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The certificate the gateway serves with (PEM), its identity toward partners, as
    /// `serve` takes it (unless the config names one).
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    /// Its key (PEM).
    #[arg(long)]
    tls_key: Option<PathBuf>,
}

/// What asking one partner gave.
struct Asked {
    partner: String,
    /// Checkpoints it holds, or why it could not be asked.
    answer: Result<Vec<String>, String>,
}

/// Runs `audit verify`.
pub(crate) async fn verify(args: &VerifyArgs) -> anyhow::Result<()> {
    let settings = match &args.config {
        Some(path) => Some(Settings::load(
            Some(path),
            &Overrides {
                database_url: args.db.database_url.clone(),
                data_dir: args.db.data_dir.clone(),
                tls_cert: args.tls_cert.clone(),
                tls_key: args.tls_key.clone(),
                ..Overrides::default()
            },
        )?),
        None => None,
    };
    let url = settings
        .as_ref()
        .map_or_else(|| args.db.url(), Settings::database_url);
    let store = crate::store::connect(&url).await?;
    let chain = check_audit_chain(store.as_ref()).await?;
    let keys = checkpoint_check::own_keys(store.as_ref()).await?;
    let mut held: Vec<(Holder, String)> = own_checkpoints(store.as_ref()).await?;
    let own_count = held.len();
    let asked = match &settings {
        Some(s) => ask_partners(s, &keys).await?,
        None => Vec::new(),
    };
    for a in &asked {
        if let Ok(list) = &a.answer {
            held.extend(
                list.iter()
                    .map(|c| (Holder::Partner(a.partner.clone()), c.clone())),
            );
        }
    }
    let issuer = settings.as_ref().map(|s| s.issuer.as_str());
    let findings = checkpoint_check::compare(store.as_ref(), issuer, &keys, held).await?;
    let contradiction = checkpoint_check::earliest_contradiction(&findings);
    let problems = findings.iter().filter(|f| f.is_problem()).count();
    report(
        &args.db,
        &chain,
        own_count,
        &asked,
        &findings,
        settings.is_some(),
    );
    if let Some(c) = &contradiction {
        anyhow::bail!(
            "audit chain rewritten: record {} no longer matches what {} holds (the change began \
             after record {}, the last checkpoint that matches)",
            c.first_unmatched,
            c.holder,
            c.intact_through
        );
    }
    if let ChainCheck::Broken { seq, why } = &chain {
        anyhow::bail!("audit chain broken at record {seq}: {why}");
    }
    anyhow::ensure!(
        problems == 0,
        "{problems} checkpoint(s) are not this gateway's (see above)"
    );
    Ok(())
}

/// Every own checkpoint kept in the database.
async fn own_checkpoints(store: &dyn Store) -> anyhow::Result<Vec<(Holder, String)>> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = store.own_checkpoints(after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        all.extend(page.into_iter().map(|c| (Holder::Own, c.checkpoint)));
    }
    Ok(all)
}

/// Asks each federated partner for the checkpoints of ours it witnessed.
async fn ask_partners(
    settings: &Settings,
    keys: &std::collections::HashMap<String, crate::trust::PinnedKey>,
) -> anyhow::Result<Vec<Asked>> {
    let peers = crate::server::partner_channels(settings)
        .context(
            "the channels to partners cannot be made as serve makes them (each partner's \
             client_ca; the gateway's certificate: --tls-cert and --tls-key, or \
             federation.client_cert and client_key)",
        )?
        .peers;
    let mut asked = Vec::with_capacity(peers.len());
    for peer in peers {
        let mut client = peer.client();
        let mut list = Vec::new();
        let mut after = 0u64;
        let answer = loop {
            match client
                .get_witnessed_checkpoints(pb::GetWitnessedCheckpointsRequest {
                    after_sequence: after,
                })
                .await
            {
                Ok(r) => {
                    let page = r.into_inner().checkpoints;
                    // The next page starts after the newest checkpoint of ours on this one.
                    let newest = page
                        .iter()
                        .filter_map(|c| newest_seq(&c.checkpoint, keys))
                        .max();
                    list.extend(page.into_iter().map(|c| c.checkpoint));
                    match newest {
                        Some(seq) if seq > after => after = seq,
                        _ => break Ok(list),
                    }
                }
                Err(s) => break Err(format!("{:?}: {}", s.code(), s.message())),
            }
        };
        asked.push(Asked {
            partner: peer.id,
            answer,
        });
    }
    Ok(asked)
}

/// The sequence of a checkpoint signed by one of `keys`.
fn newest_seq(
    checkpoint: &str,
    keys: &std::collections::HashMap<String, crate::trust::PinnedKey>,
) -> Option<u64> {
    crate::service::audit_checkpoint::verify_signed::<
        crate::service::audit_checkpoint::CheckpointClaims,
    >(
        checkpoint,
        crate::service::audit_checkpoint::CHECKPOINT_TYPE,
        keys,
        &Default::default(),
    )
    .ok()
    .and_then(|(_, c)| u64::try_from(c.seq).ok())
}

/// Prints what was found, for people or as one JSON object.
fn report(
    db: &DatabaseArgs,
    chain: &ChainCheck,
    own_count: usize,
    asked: &[Asked],
    findings: &[Finding],
    partners_asked: bool,
) {
    let contradiction = checkpoint_check::earliest_contradiction(findings);
    if db.json {
        let (intact, records, broken_at, why) = match chain {
            ChainCheck::Intact { records } => (true, *records, 0, String::new()),
            ChainCheck::Broken { seq, why } => (false, 0, *seq, why.clone()),
        };
        let partners: Vec<_> = asked
            .iter()
            .map(|a| {
                let holder = Holder::Partner(a.partner.clone());
                let of = |f: &&Finding| *f.holder() == holder;
                json!({
                    "partner": a.partner,
                    "reachable": a.answer.is_ok(),
                    "error": a.answer.as_ref().err().cloned().unwrap_or_default(),
                    "witnessed": a.answer.as_ref().map_or(0, Vec::len),
                    "matching": findings.iter().filter(of).filter(|f| !f.is_problem()).count(),
                })
            })
            .collect();
        let problems: Vec<_> = findings
            .iter()
            .filter(|f| f.is_problem())
            .map(finding_json)
            .collect();
        super::output::print_json(&json!({
            "intact": intact && findings.iter().all(|f| !f.is_problem()),
            "records": records,
            "broken_at": broken_at,
            "why": why,
            "own_checkpoints": own_count,
            "partners_asked": partners_asked,
            "partners": partners,
            "problems": problems,
            "first_unmatched": contradiction.as_ref().map_or(0, |c| c.first_unmatched),
            "intact_through": contradiction.as_ref().map_or(0, |c| c.intact_through),
            "rewritten_per": contradiction.as_ref().map_or(String::new(), |c| c.holder.to_string()),
        }));
        return;
    }
    match chain {
        ChainCheck::Intact { records } => println!("audit chain intact: {records} records"),
        ChainCheck::Broken { seq, why } => println!("audit chain broken at record {seq}: {why}"),
    }
    let own_problems = findings
        .iter()
        .filter(|f| *f.holder() == Holder::Own && f.is_problem())
        .count();
    println!(
        "own checkpoints: {own_count} kept, {} match the chain",
        own_count - own_problems
    );
    if !partners_asked {
        println!(
            "partners not asked (give --config): checkpoints they witnessed were not compared"
        );
    }
    for a in asked {
        match &a.answer {
            Ok(list) => {
                let holder = Holder::Partner(a.partner.clone());
                let bad = findings
                    .iter()
                    .filter(|f| *f.holder() == holder && f.is_problem())
                    .count();
                println!(
                    "partner {}: {} checkpoints witnessed, {} match the chain",
                    a.partner,
                    list.len(),
                    list.len() - bad
                );
            }
            Err(e) => println!(
                "partner {}: UNREACHABLE, its checkpoints were not compared: {e}",
                a.partner
            ),
        }
    }
    for f in findings.iter().filter(|f| f.is_problem()) {
        println!("{}", finding_text(f));
    }
    if let Some(c) = contradiction {
        println!(
            "first record that no longer matches: {} (per {}); records through {} match the \
             last checkpoint before it, so the change began in records {} to {}",
            c.first_unmatched,
            c.holder,
            c.intact_through,
            c.intact_through + 1,
            c.first_unmatched
        );
    }
}

fn finding_text(f: &Finding) -> String {
    match f {
        Finding::Rewritten {
            holder,
            seq,
            witnessed,
            local,
        } => format!(
            "REWRITE: {holder} holds checkpoint {seq} with head {witnessed}; the local chain has \
             {local} at record {seq}"
        ),
        Finding::Truncated {
            holder,
            seq,
            witnessed,
            local_end,
        } => format!(
            "TRUNCATION: {holder} holds checkpoint {seq} with head {witnessed}; the local chain \
             ends at record {local_end}"
        ),
        Finding::NotOurs { holder, why } => format!("NOT OURS: {holder}: {why}"),
        Finding::Matches { holder, seq } => format!("{holder}: checkpoint {seq} matches"),
    }
}

fn finding_json(f: &Finding) -> serde_json::Value {
    match f {
        Finding::Rewritten {
            holder,
            seq,
            witnessed,
            local,
        } => json!({"kind": "rewrite", "holder": holder.to_string(), "seq": seq,
                    "witnessed_head": witnessed, "local_head": local}),
        Finding::Truncated {
            holder,
            seq,
            witnessed,
            local_end,
        } => json!({"kind": "truncation", "holder": holder.to_string(), "seq": seq,
                    "witnessed_head": witnessed, "local_end": local_end}),
        Finding::NotOurs { holder, why } => {
            json!({"kind": "not_ours", "holder": holder.to_string(), "why": why})
        }
        Finding::Matches { holder, seq } => {
            json!({"kind": "match", "holder": holder.to_string(), "seq": seq})
        }
    }
}
