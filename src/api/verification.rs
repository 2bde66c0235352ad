//! Verification: open to everyone, including callers without a certificate.

use super::ApiContext;
use super::charge::{Charge, units};
use super::refusal_tally::RefusalTally;
use crate::domain::ConnectionId;
use crate::locks;
use crate::pb::{self, verification_server::Verification};
use crate::service::{AuditSink, Verdict, now, on_connection};
use crate::store::AuditEntry;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tonic::{Request, Response, Status};

/// Most credentials in one VerifyCards call.
const MAX_BATCH: usize = 256;

/// How long verdict audit records gather before they go to the audit sink together.
const AUDIT_LINGER: Duration = Duration::from_millis(100);

/// Records that go to the sink at once even before the linger is over (the sink's batch).
const AUDIT_BURST: usize = 1024;

/// Past this many gathered records the call that adds one hands them over itself.
const AUDIT_CEILING: usize = 8 * AUDIT_BURST;

/// Verdict audit records on their way to the audit sink. The sink's writer commits whatever
/// it finds queued in one transaction, and a commit costs far more than a row: handed over
/// one at a time, at thousands of verdicts a second, they would be committed a few at a
/// time. Gathered for up to [`AUDIT_LINGER`] (or [`AUDIT_BURST`] records) they are handed
/// over together by a task on the runtime the sink's writer runs on, and committed in
/// batches of hundreds. Every record keeps the time of its verdict; a stop hands over what
/// is left ([`VerifyAudit::flush`]).
pub struct VerifyAudit {
    sink: AuditSink,
    /// Refusals that name no card, counted instead of recorded one by one.
    tally: RefusalTally,
    pending: Mutex<Vec<AuditEntry>>,
    /// The flusher's own vector, swapped with `pending` so that neither is reallocated.
    spare: Mutex<Vec<AuditEntry>>,
    burst: Arc<Notify>,
}

impl VerifyAudit {
    fn new(sink: AuditSink) -> Arc<Self> {
        let audit = Arc::new(Self {
            sink,
            tally: RefusalTally::default(),
            pending: Mutex::new(Vec::with_capacity(AUDIT_BURST)),
            spare: Mutex::new(Vec::with_capacity(AUDIT_BURST)),
            burst: Arc::new(Notify::new()),
        });
        // Hands the records over every AUDIT_LINGER or AUDIT_BURST records, on the runtime
        // that built the service (the one the audit writer runs on), while the service exists.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(&audit);
            let burst = audit.burst.clone();
            runtime.spawn(async move {
                let mut tick = tokio::time::interval(AUDIT_LINGER);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        () = burst.notified() => {}
                    }
                    let Some(audit) = weak.upgrade() else { break };
                    audit.hand_over(false);
                }
            });
        }
        audit
    }

    /// Audits one verdict: a record of its own when it names a card, else a count.
    fn verdict(&self, caller: &str, v: &Verdict) {
        let at = now();
        if v.card_id.is_empty() {
            self.tally.count(at, caller, v.reason);
            return;
        }
        // PIPL Art. 23: a partner card verified here is a cross-region disclosure, with purpose.
        self.record(AuditEntry {
            at,
            caller: caller.to_owned(),
            event: "card.verify".to_owned(),
            object: v.card_id.clone(),
            result: v.reason.as_str().to_owned(),
            detail: format!(
                "issuer region {}; purpose: service eligibility check",
                v.issuer_region
            ),
        });
    }

    fn record(&self, entry: AuditEntry) {
        let gathered = {
            let mut pending = locks::lock(&self.pending);
            pending.push(entry);
            pending.len()
        };
        if gathered >= AUDIT_CEILING {
            self.flush();
        } else if gathered >= AUDIT_BURST {
            self.burst.notify_one();
        }
    }

    /// Hands every gathered record to the audit sink now, the counts of the current
    /// minute included (at a stop).
    pub fn flush(&self) {
        self.hand_over(true);
    }

    /// Hands the gathered records, and the counts of the minutes that ended (with
    /// `everything`, of the current one too), to the audit sink.
    fn hand_over(&self, everything: bool) {
        let mut batch = locks::lock(&self.spare);
        std::mem::swap(&mut *locks::lock(&self.pending), &mut *batch);
        for entry in batch.drain(..) {
            self.sink.record(entry);
        }
        for entry in self.tally.take(now(), everything) {
            self.sink.record(entry);
        }
    }
}

/// The connection a call came on, as the identity layer names it.
fn connection_of<T>(req: &Request<T>) -> Option<u64> {
    req.extensions().get::<ConnectionId>().map(|c| c.0)
}

/// The Verification service.
pub struct VerificationApi {
    ctx: ApiContext,
    audit: Arc<VerifyAudit>,
}

impl VerificationApi {
    /// The service over `ctx`. Call inside the runtime the gateway's audit writer runs on.
    pub fn new(ctx: ApiContext) -> Self {
        let audit = VerifyAudit::new(ctx.gateway.audit.clone());
        Self { ctx, audit }
    }

    /// Where verdict audit records gather; flush it when the service stops.
    pub fn audit(&self) -> Arc<VerifyAudit> {
        self.audit.clone()
    }

    /// Audits a verdict and answers it in the caller's language.
    fn answer(&self, caller: &str, v: Verdict, language: &str) -> pb::VerifyCardResponse {
        self.ctx.gateway.verdict_counts().count(v.reason);
        self.audit.verdict(caller, &v);
        super::convert::verdict(v, language)
    }
}

#[tonic::async_trait]
impl Verification for VerificationApi {
    async fn verify_card(
        &self,
        req: Request<pb::VerifyCardRequest>,
    ) -> Result<Response<pb::VerifyCardResponse>, Status> {
        let caller = super::caller_of(&req).subject();
        let r = req.get_ref();
        Charge::call(&req, units(1, usize::from(!r.holder_proof.is_empty())))?;
        // Pooled with other calls' signatures only while this connection's are good.
        let gateway = &self.ctx.gateway;
        let mut v = match connection_of(&req) {
            Some(connection) => {
                on_connection(connection, gateway.verify_pooled(&r.credential)).await
            }
            None => gateway.verify_pooled(&r.credential).await,
        };
        // Only a call with a proof (or asking for one) goes past the in-memory checks. Boxed:
        // its state would otherwise sit in every call's future, copied with it.
        if !r.holder_proof.is_empty() || r.require_holder_proof {
            v = Box::pin(gateway.bind_holder(
                v,
                &r.credential,
                &r.holder_proof,
                r.require_holder_proof,
            ))
            .await?;
        }
        Ok(Response::new(self.answer(&caller, v, &r.language)))
    }

    async fn verify_cards(
        &self,
        req: Request<pb::VerifyCardsRequest>,
    ) -> Result<Response<pb::VerifyCardsResponse>, Status> {
        let caller = super::caller_of(&req).subject();
        let requests = &req.get_ref().requests;
        if requests.len() > MAX_BATCH {
            return Err(Status::invalid_argument(format!(
                "requests: at most {MAX_BATCH} per call"
            )));
        }
        let proofs = requests
            .iter()
            .filter(|r| !r.holder_proof.is_empty())
            .count();
        Charge::call(&req, units(requests.len(), proofs))?;
        // Ed25519 signatures are checked in batches, yielding between them; verdicts are
        // VerifyCard's.
        let credentials: Vec<&str> = requests.iter().map(|r| r.credential.as_str()).collect();
        let mut verdicts = Vec::with_capacity(requests.len());
        for (v, r) in self
            .ctx
            .gateway
            .verify_many(&credentials)
            .await
            .into_iter()
            .zip(requests)
        {
            let v = if r.holder_proof.is_empty() && !r.require_holder_proof {
                v
            } else {
                Box::pin(self.ctx.gateway.bind_holder(
                    v,
                    &r.credential,
                    &r.holder_proof,
                    r.require_holder_proof,
                ))
                .await?
            };
            verdicts.push(self.answer(&caller, v, &r.language));
        }
        Ok(Response::new(pb::VerifyCardsResponse { verdicts }))
    }

    async fn create_challenge(
        &self,
        _req: Request<pb::CreateChallengeRequest>,
    ) -> Result<Response<pb::CreateChallengeResponse>, Status> {
        let c = self.ctx.gateway.create_challenge().await?;
        Ok(Response::new(pb::CreateChallengeResponse {
            nonce: c.nonce,
            audience: c.audience,
            expires_at: super::convert::timestamp(c.expires_at),
        }))
    }
}
