//! What one redemption draws from its service: one use, or the yuan or days the counter
//! names for a service that counts them (the annuity, the youth station); checked against
//! the request before anything is written, and what a refusal says is left.

use super::ServiceError;
use crate::domain::{Allowance, QuotaRule, Service, StayStage, Tier, Unit, shanghai_year};

/// What the counter asks a redemption to draw (`RedeemServiceRequest.amount_yuan`, `days`):
/// both 0 for a service that counts uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Asked {
    /// Yuan, for a service that counts yuan.
    pub amount_yuan: i64,
    /// Days, for a stay.
    pub days: u32,
}

/// What a redemption draws, checked against its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Draw {
    /// What the service counts.
    pub(crate) unit: Unit,
    /// How much, in `unit` (1 for a use).
    pub(crate) amount: i64,
    /// What a holder of the tier may draw per period, for yuan and days.
    pub(crate) limit: Option<i64>,
}

impl Draw {
    /// What `asked` draws from `service` for a holder of `tier`; INVALID_ARGUMENT naming
    /// the field when the request does not fit what the service counts.
    pub(crate) fn of(service: &Service, tier: Tier, asked: Asked) -> Result<Self, ServiceError> {
        let (code, quota) = (&service.code, service.quota);
        let unit = quota.unit();
        let wrong = |field, what: &str| {
            Err(ServiceError::invalid(
                field,
                format!(
                    "{code} counts {} (quota \"{quota}\"): {what}",
                    unit.as_str()
                ),
            ))
        };
        let amount = match (unit, asked.amount_yuan, asked.days) {
            (_, a, _) if a < 0 => {
                return Err(ServiceError::invalid("amount_yuan", "must not be negative"));
            }
            (Unit::Uses, 0, 0) => 1,
            (Unit::Uses, 0, _) => return wrong("days", "leave days at 0"),
            (Unit::Uses, _, _) => return wrong("amount_yuan", "leave amount_yuan at 0"),
            (Unit::Yuan, _, d) if d != 0 => {
                return wrong("days", "give amount_yuan and leave days at 0");
            }
            (Unit::Yuan, 0, _) => return wrong("amount_yuan", "give the yuan it draws"),
            (Unit::Yuan, a, _) => a,
            (Unit::Days, 0, 0) => return wrong("days", "give the days it draws"),
            (Unit::Days, 0, d) => i64::from(d),
            (Unit::Days, _, _) => {
                return wrong("amount_yuan", "give days and leave amount_yuan at 0");
            }
        };
        let limit = match (unit, &service.allowance) {
            (Unit::Uses, _) => None,
            (_, Some(a)) => Some(a.limit(tier)),
            (_, None) => {
                return Err(ServiceError::Internal(format!(
                    "{code} counts {} without an allowance",
                    unit.as_str()
                )));
            }
        };
        Ok(Self {
            unit,
            amount,
            limit,
        })
    }

    /// The quota key of a service that counts yuan or days carries its unit, so a code
    /// whose counting changes between catalogue versions never adds yuan to uses.
    pub(crate) fn quota_key(&self, code: &str) -> String {
        match self.unit {
            Unit::Uses => code.to_owned(),
            unit => format!("{code}:{}", unit.as_str()),
        }
    }

    /// Why a draw of yuan or days was refused, naming what is left (`left`) and when the
    /// period ends.
    pub(crate) fn exhausted(
        &self,
        code: &str,
        quota: QuotaRule,
        left: i64,
        period: &str,
        period_end: i64,
    ) -> String {
        let (limit, asked) = (self.limit.unwrap_or(0), self.amount);
        match quota {
            QuotaRule::YuanPerYear => format!(
                "{code}: {} yuan left of the {} yuan for {period} (asked {}); the period ends \
                 at {}-01-01 00:00 Asia/Shanghai (unix {period_end})",
                grouped(left),
                grouped(limit),
                grouped(asked),
                shanghai_year(period_end).0,
            ),
            QuotaRule::Stay => format!(
                "{code}: {left} days left of the {limit}-day stay (asked {asked}); the stay is \
                 once per card"
            ),
            _ => format!(
                "{code}: {} yuan left of the {} yuan for the card's life (asked {})",
                grouped(left),
                grouped(limit),
                grouped(asked),
            ),
        }
    }
}

/// How the days a redemption drew fall over a stay's stages, from what was left after it.
pub(crate) fn days_by_stage(allowance: &Allowance, remaining: i64, drawn: i64) -> Vec<StayStage> {
    let used_before = i64::from(allowance.days()) - remaining - drawn;
    allowance
        .split(used_before.max(0), drawn)
        .into_iter()
        .map(|(days, pay_percent)| StayStage {
            days: u32::try_from(days).unwrap_or(u32::MAX),
            pay_percent,
        })
        .collect()
}

/// 8000 as "8,000": how a counter reads yuan.
fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Catalogue;

    fn service(code: &str) -> Service {
        let c = Catalogue::parse(super::super::catalogue::SHIPPED_CATALOGUE).expect("shipped");
        c.region("chongqing")
            .and_then(|r| r.service(code))
            .cloned()
            .expect(code)
    }

    fn field(e: ServiceError) -> &'static str {
        match e {
            ServiceError::InvalidArgument { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_request_draws_in_the_unit_of_its_service() {
        let b: Tier = "B".parse().expect("tier");
        let ask = |amount_yuan, days| Asked { amount_yuan, days };
        let annuity = service("CQ16");
        let d = Draw::of(&annuity, b, ask(5_000, 0)).expect("yuan");
        assert_eq!(
            (d.unit, d.amount, d.limit),
            (Unit::Yuan, 5_000, Some(8_000))
        );
        let stay = Draw::of(&service("CQ17"), b, ask(0, 30)).expect("days");
        assert_eq!((stay.amount, stay.limit), (30, Some(180)));
        let health = Draw::of(&service("CQ10"), b, Asked::default()).expect("a use");
        assert_eq!(
            (health.unit, health.amount, health.limit),
            (Unit::Uses, 1, None)
        );
        for (code, asked, named) in [
            ("CQ10", ask(100, 0), "amount_yuan"),
            ("CQ10", ask(0, 3), "days"),
            ("CQ16", ask(0, 0), "amount_yuan"),
            ("CQ16", ask(-5, 0), "amount_yuan"),
            ("CQ16", ask(100, 3), "days"),
            ("CQ17", ask(0, 0), "days"),
            ("CQ17", ask(100, 3), "amount_yuan"),
        ] {
            let e = Draw::of(&service(code), b, asked).expect_err(code);
            assert_eq!(field(e), named, "{code} {asked:?}");
        }
    }

    #[test]
    fn a_refusal_names_what_is_left() {
        let d = Draw::of(
            &service("CQ16"),
            "B".parse().expect("tier"),
            Asked {
                amount_yuan: 5_000,
                days: 0,
            },
        )
        .expect("yuan");
        let m = d.exhausted("CQ16", QuotaRule::YuanPerYear, 3_000, "2026", 1_798_732_800);
        assert!(
            m.contains("3,000 yuan left of the 8,000 yuan for 2026"),
            "{m}"
        );
        assert!(m.contains("2027-01-01"), "{m}");
        assert_eq!(grouped(100_000), "100,000");
        assert_eq!(grouped(999), "999");
    }
}
