//! CardIssuance: the issuing office (role operator).

use super::ApiContext;
use super::convert::idempotency_key;
use crate::pb::{self, card_issuance_server::CardIssuance};
use crate::service::{IssueRequest, ServiceError};
use tonic::{Request, Response, Status};

/// Largest IssueCards batch.
const MAX_BATCH: usize = 1_000;

/// The CardIssuance service.
pub struct CardIssuanceApi(pub ApiContext);

impl CardIssuanceApi {
    fn operator<T>(&self, req: &Request<T>, rpc: &str) -> Result<String, Status> {
        Ok(self.0.authorize(req, rpc)?.subject())
    }
}

#[tonic::async_trait]
impl CardIssuance for CardIssuanceApi {
    async fn issue_card(
        &self,
        req: Request<pb::IssueCardRequest>,
    ) -> Result<Response<pb::IssueCardResponse>, Status> {
        let caller = self.operator(&req, "CardIssuance.IssueCard")?;
        let r = IssueRequest::try_from(req.into_inner())?;
        let card = self.0.services.issuance.issue_card(&caller, r).await?;
        Ok(Response::new(pb::IssueCardResponse {
            card: Some(card.into()),
        }))
    }

    async fn issue_cards(
        &self,
        req: Request<pb::IssueCardsRequest>,
    ) -> Result<Response<pb::IssueCardsResponse>, Status> {
        let caller = self.operator(&req, "CardIssuance.IssueCards")?;
        let cards = req.into_inner().cards;
        if cards.len() > MAX_BATCH {
            return Err(
                ServiceError::invalid("cards", format!("at most {MAX_BATCH} per call")).into(),
            );
        }
        // Each entry is parsed on its own: one bad row does not sink the batch.
        let mut parsed = Vec::with_capacity(cards.len());
        let mut slots = Vec::with_capacity(cards.len());
        for c in cards {
            match IssueRequest::try_from(c) {
                Ok(r) => {
                    slots.push(None);
                    parsed.push(r);
                }
                Err(e) => slots.push(Some(Err(e))),
            }
        }
        let mut issued = self
            .0
            .services
            .issuance
            .issue_cards(&caller, parsed)
            .await?
            .into_iter();
        let results = slots
            .into_iter()
            .map(|slot| slot.or_else(|| issued.next()).into())
            .collect();
        Ok(Response::new(pb::IssueCardsResponse { results }))
    }

    async fn get_card(
        &self,
        req: Request<pb::GetCardRequest>,
    ) -> Result<Response<pb::GetCardResponse>, Status> {
        self.operator(&req, "CardIssuance.GetCard")?;
        let card = self
            .0
            .services
            .issuance
            .get_card(&req.into_inner().card_id)
            .await?;
        Ok(Response::new(pb::GetCardResponse {
            card: Some(card.into()),
        }))
    }

    async fn renew_card(
        &self,
        req: Request<pb::RenewCardRequest>,
    ) -> Result<Response<pb::RenewCardResponse>, Status> {
        let caller = self.operator(&req, "CardIssuance.RenewCard")?;
        let r = req.into_inner();
        let card = self
            .0
            .services
            .issuance
            .renew_card(
                &caller,
                &r.card_id,
                r.valid_days,
                idempotency_key(r.idempotency_key)?,
            )
            .await?;
        Ok(Response::new(pb::RenewCardResponse {
            card: Some(card.into()),
        }))
    }

    async fn suspend_card(
        &self,
        req: Request<pb::SuspendCardRequest>,
    ) -> Result<Response<pb::SuspendCardResponse>, Status> {
        let caller = self.operator(&req, "CardIssuance.SuspendCard")?;
        let r = req.into_inner();
        let card = self
            .0
            .services
            .issuance
            .suspend_card(&caller, &r.card_id, &r.reason)
            .await?;
        Ok(Response::new(pb::SuspendCardResponse {
            card: Some(card.into()),
        }))
    }

    async fn resume_card(
        &self,
        req: Request<pb::ResumeCardRequest>,
    ) -> Result<Response<pb::ResumeCardResponse>, Status> {
        let caller = self.operator(&req, "CardIssuance.ResumeCard")?;
        let card = self
            .0
            .services
            .issuance
            .resume_card(&caller, &req.into_inner().card_id)
            .await?;
        Ok(Response::new(pb::ResumeCardResponse {
            card: Some(card.into()),
        }))
    }

    async fn revoke_card(
        &self,
        req: Request<pb::RevokeCardRequest>,
    ) -> Result<Response<pb::RevokeCardResponse>, Status> {
        let caller = self.operator(&req, "CardIssuance.RevokeCard")?;
        let r = req.into_inner();
        let card = self
            .0
            .services
            .issuance
            .revoke_card(&caller, &r.card_id, &r.reason)
            .await?;
        Ok(Response::new(pb::RevokeCardResponse {
            card: Some(card.into()),
        }))
    }
}
