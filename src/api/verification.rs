//! Verification: open to everyone, including callers without a certificate.

use super::Context;
use super::error::not_built;
use crate::pb::{self, verification_server::Verification};
use tonic::{Request, Response, Status};

/// Most credentials in one VerifyCards call.
const MAX_BATCH: usize = 256;

/// The Verification service.
pub struct VerificationApi(pub Context);

impl VerificationApi {
    fn verdict(&self, caller: &str, r: &pb::VerifyCardRequest) -> pb::VerifyCardResponse {
        let v = self.0.gateway.verify(&r.credential);
        // PIPL Art. 23: a partner card verified here is a cross-region disclosure, with purpose.
        self.0.gateway.audit(
            caller,
            "card.verify",
            &v.card_id,
            v.reason.as_str(),
            &format!(
                "issuer region {}; purpose: service eligibility check",
                v.issuer_region
            ),
        );
        super::convert::verdict(v, &r.language)
    }
}

#[tonic::async_trait]
impl Verification for VerificationApi {
    async fn verify_card(
        &self,
        req: Request<pb::VerifyCardRequest>,
    ) -> Result<Response<pb::VerifyCardResponse>, Status> {
        let caller = super::caller_of(&req).subject();
        Ok(Response::new(self.verdict(&caller, req.get_ref())))
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
        let verdicts = requests.iter().map(|r| self.verdict(&caller, r)).collect();
        Ok(Response::new(pb::VerifyCardsResponse { verdicts }))
    }

    async fn create_challenge(
        &self,
        _req: Request<pb::CreateChallengeRequest>,
    ) -> Result<Response<pb::CreateChallengeResponse>, Status> {
        Err(not_built("Verification.CreateChallenge", "holder binding"))
    }
}
