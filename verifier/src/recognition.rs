//! What a holder of one region and tier is recognised as in another, and the services that
//! go with it: a catalogue version's answers, precomputed for the verify path.

use crate::domain::{Basis, Catalogue, StayStage, Tier};
use std::collections::HashMap;
use std::sync::Arc;

/// One entitlement line as answers carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementView {
    /// Service code in the host region.
    pub service_code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Why it applies, or why it is shown without applying.
    pub basis: Basis,
    /// The holder's home service it maps from.
    pub source_service_code: String,
    /// Why it is not usable (Chinese).
    pub reason_zh: String,
    /// Why it is not usable (English).
    pub reason_en: String,
    /// The quota rule.
    pub quota: String,
    /// Yuan per period for the recognised tier (0 when the service counts no yuan).
    pub amount_yuan: i64,
    /// "year", "once" or "stay"; empty for a service that counts uses.
    pub period: &'static str,
    /// Days of the whole stay (0 when not a stay).
    pub days: u32,
    /// A stay's stages.
    pub stay_stages: Vec<StayStage>,
}

/// What a holder of one region and tier gets in another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recognition {
    /// The tier recognised in the host region.
    pub recognised_tier: Tier,
    /// Usable lines first, then information lines.
    pub lines: Vec<EntitlementView>,
    /// The catalogue version this came from.
    pub version: String,
}

/// A catalogue version in force, with this region's answers precomputed.
#[derive(Debug)]
pub struct ActiveCatalogue {
    /// The document.
    pub catalogue: Catalogue,
    here: HashMap<(String, Tier), Arc<Recognition>>,
}

impl ActiveCatalogue {
    /// The answers of `catalogue` for a gateway in region `host`, precomputed.
    pub fn build(catalogue: Catalogue, host: &str) -> Self {
        let mut here = HashMap::new();
        for region in catalogue.regions() {
            for &tier in &region.tiers {
                if let Some(r) = recognition(&catalogue, &region.id, tier, host) {
                    here.insert((region.id.clone(), tier), Arc::new(r));
                }
            }
        }
        Self { catalogue, here }
    }

    /// What a `home` holder of `tier` gets in this gateway's region (no allocation).
    #[inline]
    pub fn here(&self, home: &str, tier: Tier) -> Option<&Arc<Recognition>> {
        self.here.get(&(home.to_owned(), tier))
    }
}

/// What a `home` holder of `tier` gets in region `host` under catalogue `c`; None when the
/// catalogue agrees no recognition of `home` cards there.
pub fn recognition(c: &Catalogue, home: &str, tier: Tier, host: &str) -> Option<Recognition> {
    let (recognised_tier, lines) = c.entitlements(home, tier, host)?;
    Some(Recognition {
        recognised_tier,
        lines: lines
            .into_iter()
            .map(|l| EntitlementView {
                amount_yuan: l
                    .service
                    .allowance
                    .as_ref()
                    .map_or(0, |a| a.yuan(recognised_tier)),
                period: l.service.quota.period_name(),
                days: l.service.allowance.as_ref().map_or(0, |a| a.days()),
                stay_stages: l
                    .service
                    .allowance
                    .as_ref()
                    .map_or_else(Vec::new, |a| a.stages().to_vec()),
                service_code: l.service.code.clone(),
                name_zh: l.service.name_zh.clone(),
                name_en: l.service.name_en.clone(),
                basis: l.basis,
                source_service_code: l.source.unwrap_or_default().to_owned(),
                reason_zh: l.reason_zh,
                reason_en: l.reason_en,
                quota: l.service.quota.to_string(),
            })
            .collect(),
        version: c.version.clone(),
    })
}
