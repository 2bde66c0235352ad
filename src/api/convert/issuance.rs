//! Issuance answers (the request is `IssueRequest`'s `TryFrom` in `convert.rs`).

use crate::pb;
use crate::pb::issue_cards_result::Outcome;
use crate::service::{CardView, ServiceError};
use tonic::Status;

/// One IssueCards entry: its card, why it was refused, or (never expected) no answer.
impl From<Option<Result<CardView, ServiceError>>> for pb::IssueCardsResult {
    fn from(r: Option<Result<CardView, ServiceError>>) -> Self {
        let outcome = match r {
            Some(Ok(card)) => Outcome::Card(card.into()),
            Some(Err(e)) => {
                let s = Status::from(e);
                Outcome::Error(pb::BulkError {
                    code: s.code() as i32,
                    message: s.message().to_owned(),
                })
            }
            None => Outcome::Error(pb::BulkError {
                code: tonic::Code::Internal as i32,
                message: "no result".into(),
            }),
        };
        Self {
            outcome: Some(outcome),
        }
    }
}
