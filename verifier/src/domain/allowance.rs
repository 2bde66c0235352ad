//! Amounts and durations: the district's schemes whose value depends on the tier or on time
//! (the annuity's yuan a year by class, the home-purchase subsidy's yuan once, the youth
//! station's stay of free days then half-price days). A service counts in one unit; these
//! say how much a holder of a tier may draw.

use super::{QuotaRule, Tier};
use serde::Deserialize;
use std::collections::BTreeMap;

/// What a service's quota counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Redemptions, one each.
    Uses,
    /// Yuan drawn against an allowance.
    Yuan,
    /// Days drawn against a stay.
    Days,
}

impl Unit {
    /// The contract's name (`RedeemServiceResponse.unit`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uses => "uses",
            Self::Yuan => "yuan",
            Self::Days => "days",
        }
    }
}

/// One stage of a stay: `days` at `pay_percent` of the price (0 free, 50 half price).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StayStage {
    /// How many days the stage lasts.
    pub days: u32,
    /// What the holder pays of the price, in percent.
    pub pay_percent: u8,
}

/// How much a holder may draw from a service that counts yuan or days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowance {
    /// Yuan per period, by tier (every tier of the service has one).
    Yuan(BTreeMap<Tier, i64>),
    /// A stay in stages, the same for every tier; at least one stage.
    Stay(Vec<StayStage>),
}

/// The longest stay a catalogue may describe (ten years): a typo of days stays visible.
const MAX_STAY_DAYS: u32 = 3_660;

impl Allowance {
    /// Yuan a holder of `tier` may draw per period (0 when none, or for a stay).
    pub fn yuan(&self, tier: Tier) -> i64 {
        match self {
            Self::Yuan(by_tier) => by_tier.get(&tier).copied().unwrap_or(0),
            Self::Stay(_) => 0,
        }
    }

    /// Days of the whole stay (0 for an amount).
    pub fn days(&self) -> u32 {
        self.stages().iter().map(|s| s.days).sum()
    }

    /// The stages of a stay (none for an amount).
    pub fn stages(&self) -> &[StayStage] {
        match self {
            Self::Yuan(_) => &[],
            Self::Stay(stages) => stages,
        }
    }

    /// What a holder of `tier` may draw in a period, in the service's unit.
    pub fn limit(&self, tier: Tier) -> i64 {
        match self {
            Self::Yuan(_) => self.yuan(tier),
            Self::Stay(_) => i64::from(self.days()),
        }
    }

    /// How `drawn` days after `used` days fall over the stages: (days, pay_percent) per
    /// stage touched, in order. Days past the last stage are not listed.
    pub fn split(&self, used: i64, drawn: i64) -> Vec<(i64, u8)> {
        let end = used + drawn;
        let mut at = 0i64;
        let mut out = Vec::new();
        for s in self.stages() {
            let stage_end = at + i64::from(s.days);
            let n = end.min(stage_end) - used.max(at);
            if n > 0 {
                out.push((n, s.pay_percent));
            }
            at = stage_end;
        }
        out
    }
}

/// A service's `amount_yuan` and `stay` as the catalogue writes them.
#[derive(Debug, Default)]
pub(super) struct RawAllowance {
    /// Yuan by tier: `{ A = 10000, B = 8000 }`.
    pub(super) amount_yuan: Option<BTreeMap<String, i64>>,
    /// Stages: `[{ days = 90, pay_percent = 0 }, { days = 90, pay_percent = 50 }]`.
    pub(super) stay: Option<Vec<StayStage>>,
}

impl RawAllowance {
    /// The allowance `quota` needs, from what the service says; every problem named with
    /// the service's code. Counted services carry neither table.
    pub(super) fn parse(
        self,
        code: &str,
        quota: QuotaRule,
        tiers: &[Tier],
        problems: &mut Vec<String>,
    ) -> Option<Allowance> {
        match (quota.unit(), self.amount_yuan, self.stay) {
            (Unit::Uses, None, None) => None,
            (Unit::Uses, amount, _) => {
                let table = if amount.is_some() {
                    "amount_yuan"
                } else {
                    "stay"
                };
                problems.push(format!(
                    "{code}: {table} needs quota \"yuan per_year\", \"yuan once\" or \"stay\", \
                     not \"{quota}\""
                ));
                None
            }
            (Unit::Yuan, _, Some(_)) | (Unit::Days, Some(_), _) => {
                problems.push(format!(
                    "{code}: quota \"{quota}\" takes {} only",
                    if quota.unit() == Unit::Yuan {
                        "amount_yuan"
                    } else {
                        "stay"
                    }
                ));
                None
            }
            (Unit::Yuan, None, None) => {
                problems.push(format!(
                    "{code}: quota \"{quota}\" needs amount_yuan, the yuan of each tier"
                ));
                None
            }
            (Unit::Yuan, Some(raw), None) => yuan_by_tier(code, &raw, tiers, problems),
            (Unit::Days, None, None) => {
                problems.push(format!(
                    "{code}: quota \"stay\" needs stay, its stages in days"
                ));
                None
            }
            (Unit::Days, None, Some(stages)) => stay(code, stages, problems),
        }
    }
}

fn yuan_by_tier(
    code: &str,
    raw: &BTreeMap<String, i64>,
    tiers: &[Tier],
    problems: &mut Vec<String>,
) -> Option<Allowance> {
    let before = problems.len();
    let mut by_tier = BTreeMap::new();
    for (t, &yuan) in raw {
        match t.parse::<Tier>() {
            Ok(t) if tiers.contains(&t) => {
                if yuan <= 0 {
                    problems.push(format!(
                        "{code}: amount_yuan of tier {t} must be positive, not {yuan}"
                    ));
                }
                by_tier.insert(t, yuan);
            }
            _ => problems.push(format!(
                "{code}: amount_yuan names {t:?}, which is not a tier of the service"
            )),
        }
    }
    for t in tiers {
        if !by_tier.contains_key(t) {
            problems.push(format!("{code}: amount_yuan has no amount for tier {t}"));
        }
    }
    (problems.len() == before).then_some(Allowance::Yuan(by_tier))
}

fn stay(code: &str, stages: Vec<StayStage>, problems: &mut Vec<String>) -> Option<Allowance> {
    let before = problems.len();
    if stages.is_empty() {
        problems.push(format!("{code}: stay needs at least one stage"));
    }
    for (i, s) in stages.iter().enumerate() {
        if s.days == 0 {
            problems.push(format!("{code}: stay stage {} has no days", i + 1));
        }
        if s.pay_percent > 100 {
            problems.push(format!(
                "{code}: stay stage {} pays {}% of the price, more than 100%",
                i + 1,
                s.pay_percent
            ));
        }
    }
    let total: u64 = stages.iter().map(|s| u64::from(s.days)).sum();
    if total > u64::from(MAX_STAY_DAYS) {
        problems.push(format!(
            "{code}: a stay of {total} days is longer than {MAX_STAY_DAYS}"
        ));
    }
    (problems.len() == before).then_some(Allowance::Stay(stages))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiers(s: &str) -> Vec<Tier> {
        s.chars()
            .map(|c| c.to_string().parse().expect("tier"))
            .collect()
    }

    fn parse(quota: &str, raw: RawAllowance, t: &str) -> (Option<Allowance>, Vec<String>) {
        let mut problems = Vec::new();
        let a = raw.parse(
            "X1",
            quota.parse().expect("quota"),
            &tiers(t),
            &mut problems,
        );
        (a, problems)
    }

    #[test]
    fn yuan_by_tier_covers_every_tier_of_the_service() {
        let amounts = BTreeMap::from([("A".to_owned(), 10_000), ("B".to_owned(), 8_000)]);
        let raw = RawAllowance {
            amount_yuan: Some(amounts.clone()),
            stay: None,
        };
        let (a, p) = parse("yuan per_year", raw, "AB");
        assert!(p.is_empty(), "{p:?}");
        let a = a.expect("allowance");
        assert_eq!(a.yuan("B".parse().expect("t")), 8_000);
        assert_eq!(a.limit("A".parse().expect("t")), 10_000);
        assert_eq!(a.days(), 0);

        let raw = RawAllowance {
            amount_yuan: Some(amounts),
            stay: None,
        };
        let (a, p) = parse("yuan once", raw, "ABC");
        assert!(a.is_none());
        assert_eq!(p, ["X1: amount_yuan has no amount for tier C"]);
    }

    #[test]
    fn each_kind_takes_its_own_table_and_nothing_else() {
        let amounts = || Some(BTreeMap::from([("A".to_owned(), 0)]));
        let stages = || {
            Some(vec![StayStage {
                days: 90,
                pay_percent: 0,
            }])
        };
        for (quota, amount_yuan, stay, word) in [
            ("per_year 1", amounts(), None, "amount_yuan needs quota"),
            ("unlimited", None, stages(), "stay needs quota"),
            ("yuan per_year", None, None, "needs amount_yuan"),
            ("yuan per_year", amounts(), None, "must be positive"),
            ("yuan once", None, stages(), "takes amount_yuan only"),
            ("stay", None, None, "needs stay"),
            ("stay", amounts(), stages(), "takes stay only"),
        ] {
            let (a, p) = parse(quota, RawAllowance { amount_yuan, stay }, "A");
            assert!(a.is_none(), "{quota}");
            assert!(p.iter().any(|p| p.contains(word)), "{quota}: {p:?}");
        }
        let bad = vec![
            StayStage {
                days: 0,
                pay_percent: 0,
            },
            StayStage {
                days: 9_000,
                pay_percent: 150,
            },
        ];
        let (_, p) = parse(
            "stay",
            RawAllowance {
                amount_yuan: None,
                stay: Some(bad),
            },
            "A",
        );
        assert_eq!(p.len(), 3, "{p:?}");
    }

    #[test]
    fn days_split_over_the_stages() {
        let stay = Allowance::Stay(vec![
            StayStage {
                days: 90,
                pay_percent: 0,
            },
            StayStage {
                days: 90,
                pay_percent: 50,
            },
        ]);
        assert_eq!(stay.days(), 180);
        assert_eq!(stay.split(0, 30), [(30, 0)]);
        assert_eq!(stay.split(85, 10), [(5, 0), (5, 50)]);
        assert_eq!(stay.split(90, 90), [(90, 50)]);
        assert_eq!(stay.split(170, 20), [(10, 50)]);
    }
}
