//! Verification: open to everyone, including callers without a certificate.

use super::ApiContext;
use super::charge::{Charge, units};
use crate::domain::ConnectionId;
use crate::pb::{self, verification_server::Verification};
use crate::service::{Verdict, VerifyAudit, on_connection};
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// Most credentials in one VerifyCards call.
const MAX_BATCH: usize = 256;

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
        let audit = VerifyAudit::new(ctx.services.audit.clone());
        Self { ctx, audit }
    }

    /// Where verdict audit records gather; flush it when the service stops.
    pub fn audit(&self) -> Arc<VerifyAudit> {
        self.audit.clone()
    }

    /// Audits a verdict and answers it in the caller's language.
    fn answer(&self, caller: &str, v: Verdict, language: &str) -> pb::VerifyCardResponse {
        self.ctx
            .services
            .verification
            .verdict_counts()
            .count(v.reason);
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
        let verification = &self.ctx.services.verification;
        let mut v = match connection_of(&req) {
            Some(connection) => {
                on_connection(connection, verification.verify_pooled(&r.credential)).await
            }
            None => verification.verify_pooled(&r.credential).await,
        };
        // Only a call with a proof (or asking for one) goes past the in-memory checks. Boxed:
        // its state would otherwise sit in every call's future, copied with it.
        if !r.holder_proof.is_empty() || r.require_holder_proof {
            v = Box::pin(verification.bind_holder(
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
            .services
            .verification
            .verify_many(&credentials)
            .await
            .into_iter()
            .zip(requests)
        {
            let v = if r.holder_proof.is_empty() && !r.require_holder_proof {
                v
            } else {
                Box::pin(self.ctx.services.verification.bind_holder(
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
        let c = self.ctx.services.verification.create_challenge().await?;
        Ok(Response::new(c.into()))
    }
}
