//! Quota rules of catalogue services, exactly the kinds DOMAIN.md names.

use super::{ParseError, Unit};
use std::fmt;
use std::str::FromStr;

/// How often a holder may use a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaRule {
    /// No limit; redemptions are recorded.
    Unlimited,
    /// N per calendar year (Asia/Shanghai).
    PerYear(u32),
    /// Once for the life of the card.
    Once,
    /// Each event is its own (the idempotency key names the event); recorded.
    PerEvent,
    /// A bank or booking system decides; recorded, never counted here.
    External,
    /// Yuan per calendar year, the amount by tier (the annuity).
    YuanPerYear,
    /// Yuan for the life of the card, the amount by tier (the home-purchase subsidy).
    YuanOnce,
    /// Days of a stay in stages, for the life of the card (the youth station).
    Stay,
}

impl QuotaRule {
    /// True when redemptions count against an allowance.
    pub fn is_counted(self) -> bool {
        matches!(self, Self::PerYear(_) | Self::Once)
    }

    /// The allowance per period, when counted.
    pub fn allowance(self) -> Option<u32> {
        match self {
            Self::PerYear(n) => Some(n),
            Self::Once => Some(1),
            _ => None,
        }
    }
}

impl QuotaRule {
    /// What the rule counts in.
    pub fn unit(self) -> Unit {
        match self {
            Self::YuanPerYear | Self::YuanOnce => Unit::Yuan,
            Self::Stay => Unit::Days,
            _ => Unit::Uses,
        }
    }

    /// The contract's `period` of an amount or a stay (`year`, `once`, `stay`); empty for a
    /// rule that counts uses.
    pub fn period_name(self) -> &'static str {
        match self {
            Self::YuanPerYear => "year",
            Self::YuanOnce => "once",
            Self::Stay => "stay",
            _ => "",
        }
    }

    /// How the rule counts, its allowance aside: what two services must agree on to share
    /// one quota (a mapping's two sides).
    pub fn measure(self) -> &'static str {
        match self {
            Self::Unlimited => "not counted",
            Self::PerYear(_) => "uses per calendar year",
            Self::Once => "uses for the card's life",
            Self::PerEvent => "each event its own",
            Self::External => "decided elsewhere",
            Self::YuanPerYear => "yuan per calendar year",
            Self::YuanOnce => "yuan for the card's life",
            Self::Stay => "days of a stay",
        }
    }
}

impl FromStr for QuotaRule {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut words = s.split_whitespace();
        let rule = match (words.next(), words.next(), words.next()) {
            (Some("unlimited"), None, _) => Self::Unlimited,
            (Some("once"), None, _) => Self::Once,
            (Some("per_event"), None, _) => Self::PerEvent,
            (Some("external"), None, _) => Self::External,
            (Some("yuan"), Some("per_year"), None) => Self::YuanPerYear,
            (Some("yuan"), Some("once"), None) => Self::YuanOnce,
            (Some("stay"), None, _) => Self::Stay,
            (Some("per_year"), Some(n), None) => match n.parse::<u32>() {
                Ok(n) if n > 0 => Self::PerYear(n),
                _ => {
                    return Err(ParseError::new(format!(
                        "per_year needs a positive count, not {n:?}"
                    )));
                }
            },
            _ => {
                return Err(ParseError::new(format!(
                    "quota {s:?} is not one of unlimited, per_year N, once, per_event, external, \
                     yuan per_year, yuan once, stay"
                )));
            }
        };
        Ok(rule)
    }
}

impl fmt::Display for QuotaRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unlimited => f.write_str("unlimited"),
            Self::PerYear(n) => write!(f, "per_year {n}"),
            Self::Once => f.write_str("once"),
            Self::PerEvent => f.write_str("per_event"),
            Self::External => f.write_str("external"),
            Self::YuanPerYear => f.write_str("yuan per_year"),
            Self::YuanOnce => f.write_str("yuan once"),
            Self::Stay => f.write_str("stay"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eight_kinds_parse_and_nothing_else() {
        for s in [
            "unlimited",
            "per_year 6",
            "once",
            "per_event",
            "external",
            "yuan per_year",
            "yuan once",
            "stay",
        ] {
            assert_eq!(s.parse::<QuotaRule>().expect(s).to_string(), s);
        }
        for s in [
            "per_year",
            "per_year 0",
            "per_year x",
            "twice",
            "",
            "once more",
            "yuan",
            "yuan per_year 5",
            "stay 90",
        ] {
            assert!(s.parse::<QuotaRule>().is_err(), "{s}");
        }
    }
}
