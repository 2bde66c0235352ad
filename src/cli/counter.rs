//! `talent-gateway counter token | list | revoke`: bearer tokens for a counter's browser
//! (role operator).

use super::ClientArgs;
use super::output::{iso, iso_ts, json, print_json};
use crate::pb::{self, admin_client::AdminClient};
use clap::Subcommand;

/// Counter commands.
#[derive(Debug, Subcommand)]
pub(crate) enum CounterCommand {
    /// Issue a short-lived counter token; prints it on stdout, alone, for scripts (its id
    /// goes to stderr).
    Token {
        /// The counter's name, e.g. desk-1.
        #[arg(long)]
        name: String,
        /// Hours of validity (1 to 24).
        #[arg(long, default_value_t = 12)]
        valid_hours: u32,
    },
    /// List the recorded counter tokens (ids, never the tokens), newest first.
    List {
        /// Also the expired ones.
        #[arg(long)]
        all: bool,
    },
    /// Revoke a counter token for good: TOKEN_ID, or with --counter every live token of
    /// that counter (a stolen laptop).
    Revoke {
        /// The token's id, as `counter token` or `counter list` showed it.
        #[arg(required_unless_present = "counter", conflicts_with = "counter")]
        token_id: Option<String>,
        /// Every live token of this counter (its name, e.g. desk-1, or its SPIFFE ID).
        #[arg(long)]
        counter: Option<String>,
        /// Why (required; audited).
        #[arg(long)]
        reason: String,
    },
}

pub(crate) async fn run(cmd: CounterCommand, client: &ClientArgs) -> anyhow::Result<()> {
    let mut admin = AdminClient::new(client.channel().await?);
    match cmd {
        CounterCommand::Token { name, valid_hours } => {
            let issued = admin
                .issue_counter_token(pb::IssueCounterTokenRequest { name, valid_hours })
                .await?
                .into_inner();
            if client.json {
                print_json(&json("IssueCounterTokenResponse", &issued));
                return Ok(());
            }
            eprintln!(
                "counter token {} for {}, expires at {}",
                issued.token_id,
                issued.counter,
                iso_ts(issued.expires_at.as_ref())
            );
            println!("{}", issued.token);
        }
        CounterCommand::List { all } => {
            let counter_tokens = list(&mut admin, all).await?;
            if client.json {
                let answer = pb::ListCounterTokensResponse { counter_tokens };
                print_json(&json("ListCounterTokensResponse", &answer));
                return Ok(());
            }
            for t in counter_tokens {
                println!("{}", line(&t));
            }
        }
        CounterCommand::Revoke {
            token_id,
            counter,
            reason,
        } => {
            let ids = match (token_id, counter) {
                (Some(id), _) => vec![id],
                (None, Some(counter)) => {
                    let ids: Vec<String> = list(&mut admin, false)
                        .await?
                        .into_iter()
                        .filter(|t| t.revoked_at.is_none() && names(&t.counter, &counter))
                        .map(|t| t.token_id)
                        .collect();
                    anyhow::ensure!(
                        !ids.is_empty(),
                        "no live recorded counter token for {counter}: nothing revoked \
                         (tokens issued before tokens were recorded cannot be revoked; \
                         they expire within 24 hours)"
                    );
                    ids
                }
                (None, None) => anyhow::bail!("give TOKEN_ID or --counter NAME"),
            };
            // With --json, one RevokeCounterTokenResponse per line, one per token revoked.
            for token_id in ids {
                let answer = admin
                    .revoke_counter_token(pb::RevokeCounterTokenRequest {
                        token_id,
                        reason: reason.clone(),
                    })
                    .await?
                    .into_inner();
                if client.json {
                    print_json(&json("RevokeCounterTokenResponse", &answer));
                    continue;
                }
                let revoked = answer.counter_token.unwrap_or_default();
                println!("revoked {}", line(&revoked));
            }
        }
    }
    Ok(())
}

async fn list(
    admin: &mut AdminClient<tonic::transport::Channel>,
    include_expired: bool,
) -> anyhow::Result<Vec<pb::CounterToken>> {
    Ok(admin
        .list_counter_tokens(pb::ListCounterTokensRequest { include_expired })
        .await?
        .into_inner()
        .counter_tokens)
}

/// Whether `counter` (a SPIFFE ID) is the one `wanted` names (its ID, or its bare name).
fn names(counter: &str, wanted: &str) -> bool {
    counter == wanted
        || counter
            .rsplit_once("/counter/")
            .is_some_and(|(_, n)| n == wanted)
}

fn line(t: &pb::CounterToken) -> String {
    let state = match &t.revoked_at {
        Some(at) => format!("revoked at {}: {}", iso(at.seconds), t.reason),
        None => "not revoked".to_owned(),
    };
    format!(
        "{}  {}  issued {} by {}  expires {}  {state}",
        t.token_id,
        t.counter,
        iso_ts(t.issued_at.as_ref()),
        t.issued_by,
        iso_ts(t.expires_at.as_ref()),
    )
}
