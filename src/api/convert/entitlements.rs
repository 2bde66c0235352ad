//! Entitlements requests and answers.

use crate::pb;
use crate::service::ServiceError;

/// Redemptions listed when a page size is not given, and the most one page holds.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

/// One page of a card's redemptions, as ListRedemptions asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedemptionPage {
    pub(crate) card_id: String,
    pub(crate) size: u32,
    pub(crate) offset: u64,
}

impl RedemptionPage {
    /// The token of the page after this one, empty when this one was the last (short).
    pub(crate) fn next_page_token(&self, rows: usize) -> String {
        if rows as u32 == self.size {
            (self.offset + u64::from(self.size)).to_string()
        } else {
            String::new()
        }
    }
}

impl TryFrom<pb::ListRedemptionsRequest> for RedemptionPage {
    type Error = ServiceError;

    fn try_from(r: pb::ListRedemptionsRequest) -> Result<Self, Self::Error> {
        let offset: u64 = if r.page_token.is_empty() {
            0
        } else {
            r.page_token.parse().map_err(|_| {
                ServiceError::invalid("page_token", "not a token from a previous page")
            })?
        };
        let size = if r.page_size == 0 {
            DEFAULT_PAGE
        } else {
            r.page_size.min(MAX_PAGE)
        };
        Ok(Self {
            card_id: r.card_id,
            size,
            offset,
        })
    }
}
