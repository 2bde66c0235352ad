//! Pure types and rules of the talent-card domain that a verdict needs: tiers, categories,
//! card numbers and status, reasons, the catalogue, token profiles. No I/O.

mod allowance;
mod card_number;
mod card_status;
mod catalogue;
mod category;
mod profile;
mod quota;
mod quota_period;
mod reason;
mod tier;
mod tier_list;

pub use allowance::{Allowance, StayStage, Unit};
pub use card_number::CardNumber;
pub use card_status::CardStatus;
pub use catalogue::{Basis, Catalogue, EntitlementLine, Region, Service};
pub use category::TalentCategory;
pub use profile::{CardNumberShape, ClaimNames, TokenProfile};
pub use quota::QuotaRule;
pub use quota_period::shanghai_year;
pub use reason::Reason;
pub use tier::Tier;

/// A value from outside failed to parse; says which rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    /// A parse error saying `msg`.
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}
