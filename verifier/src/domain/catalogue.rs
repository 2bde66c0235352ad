//! Both regions' catalogues, the tier equivalence and the agreement's service mapping: one
//! versioned document, validated whole before it is used.

use super::allowance::RawAllowance;
use super::tier_list::{RawTiers, tiers_of};
use super::{Allowance, QuotaRule, Tier};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Why an entitlement line applies, or why it is shown without applying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// An own holder at home.
    Home,
    /// A visitor, recognised at the host's standard under the mapping.
    HostStandard,
    /// A host service the agreement does not map (information only).
    LocalOnly,
    /// A mapped service the recognised tier does not reach (information only).
    NotEligible,
}

impl Basis {
    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Home => "home",
            Self::HostStandard => "host_standard",
            Self::LocalOnly => "local_only",
            Self::NotEligible => "not_eligible",
        }
    }

    /// True when the holder may use the service.
    pub fn usable(self) -> bool {
        matches!(self, Self::Home | Self::HostStandard)
    }
}

/// One service of a region's catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Code, e.g. "CQ10".
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Tiers the service is open to.
    pub tiers: Vec<Tier>,
    /// Quota rule.
    pub quota: QuotaRule,
    /// The yuan by tier or the stay's stages, for a quota counted in yuan or days.
    pub allowance: Option<Allowance>,
    /// Free text (durations, who decides).
    pub note: String,
}

/// A region and its catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// Region id, e.g. "chongqing".
    pub id: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// The `iss` of its cards.
    pub issuer: String,
    /// Its tiers, highest first.
    pub tiers: Vec<Tier>,
    /// Its services.
    pub services: Vec<Service>,
}

impl Region {
    /// A service by code.
    pub fn service(&self, code: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.code == code)
    }
}

/// One line of what a holder gets in a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementLine<'a> {
    /// The host region's service.
    pub service: &'a Service,
    /// Why it applies or not.
    pub basis: Basis,
    /// The holder's home service it is mapped from.
    pub source: Option<&'a str>,
    /// Why it is not usable, for information lines.
    pub reason_zh: String,
    /// The same in English.
    pub reason_en: String,
}

/// A validated catalogue document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    /// Version identifier.
    pub version: String,
    local_only_zh: String,
    local_only_en: String,
    regions: Vec<Region>,
    recognition: HashMap<(String, String), HashMap<Tier, Tier>>,
    mappings: Vec<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    version: String,
    #[serde(default)]
    local_only_reason_zh: String,
    #[serde(default)]
    local_only_reason_en: String,
    #[serde(default)]
    regions: Vec<RawRegion>,
    #[serde(default)]
    recognition: Vec<RawRecognition>,
    #[serde(default)]
    mappings: Vec<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegion {
    id: String,
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    name_en: String,
    issuer: String,
    tiers: Vec<String>,
    #[serde(default)]
    services: Vec<RawService>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    code: String,
    name_zh: String,
    name_en: String,
    tiers: RawTiers,
    quota: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    amount_yuan: Option<BTreeMap<String, i64>>,
    #[serde(default)]
    stay: Option<Vec<super::StayStage>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecognition {
    from: String,
    to: String,
    tiers: BTreeMap<String, String>,
}

impl Catalogue {
    /// Parses and validates a document; on failure returns every problem found.
    pub fn parse(text: &str) -> Result<Self, Vec<String>> {
        Self::checked(toml::from_str(text).map_err(|e| vec![e.to_string()])?)
    }

    /// The same document as JSON (an offline bundle's `catalogue`), with the same checks.
    pub fn from_json(document: &serde_json::Value) -> Result<Self, Vec<String>> {
        Self::checked(RawCatalogue::deserialize(document).map_err(|e| vec![e.to_string()])?)
    }

    fn checked(raw: RawCatalogue) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        if raw.version.trim().is_empty() {
            problems.push("version must not be empty".to_owned());
        }
        let mut regions = Vec::new();
        let mut region_ids = HashSet::new();
        let mut issuers = HashSet::new();
        for r in raw.regions {
            if !region_ids.insert(r.id.clone()) {
                problems.push(format!("region {} is listed twice", r.id));
            }
            if !issuers.insert(r.issuer.clone()) {
                problems.push(format!("issuer {} is used by two regions", r.issuer));
            }
            let tiers: Vec<Tier> = r
                .tiers
                .iter()
                .filter_map(|t| match t.parse() {
                    Ok(t) => Some(t),
                    Err(_) => {
                        problems.push(format!("region {}: {t:?} is not a tier", r.id));
                        None
                    }
                })
                .collect();
            let mut codes = HashSet::new();
            let mut services = Vec::new();
            for s in r.services {
                if !codes.insert(s.code.clone()) {
                    problems.push(format!(
                        "region {}: service code {} is listed twice",
                        r.id, s.code
                    ));
                }
                let st = match tiers_of(&s.tiers) {
                    Ok(st) => st,
                    Err(e) => {
                        problems.push(format!("{}: {e}", s.code));
                        Vec::new()
                    }
                };
                for t in &st {
                    if !tiers.contains(t) {
                        problems.push(format!("{}: tier {t} is not a tier of {}", s.code, r.id));
                    }
                }
                let quota = match s.quota.parse::<QuotaRule>() {
                    Ok(q) => q,
                    Err(e) => {
                        problems.push(format!("{}: {e}", s.code));
                        QuotaRule::Unlimited
                    }
                };
                let raw = RawAllowance {
                    amount_yuan: s.amount_yuan,
                    stay: s.stay,
                };
                services.push(Service {
                    allowance: raw.parse(&s.code, quota, &st, &mut problems),
                    code: s.code,
                    name_zh: s.name_zh,
                    name_en: s.name_en,
                    tiers: st,
                    quota,
                    note: s.note,
                });
            }
            regions.push(Region {
                id: r.id,
                name_zh: r.name_zh,
                name_en: r.name_en,
                issuer: r.issuer,
                tiers,
                services,
            });
        }
        let find = |id: &str| regions.iter().find(|r| r.id == id);
        let mut recognition = HashMap::new();
        for rec in raw.recognition {
            let (Some(from), Some(to)) = (find(&rec.from), find(&rec.to)) else {
                problems.push(format!(
                    "recognition {} -> {}: unknown region",
                    rec.from, rec.to
                ));
                continue;
            };
            let mut table = HashMap::new();
            for (a, b) in &rec.tiers {
                match (a.parse::<Tier>(), b.parse::<Tier>()) {
                    (Ok(a), Ok(b)) if from.tiers.contains(&a) && to.tiers.contains(&b) => {
                        table.insert(a, b);
                    }
                    _ => problems.push(format!(
                        "recognition {} -> {}: {a} = {b} names a tier the regions do not have",
                        rec.from, rec.to
                    )),
                }
            }
            for t in &from.tiers {
                if !table.contains_key(t) {
                    problems.push(format!(
                        "recognition {} -> {}: tier {t} is not recognised",
                        rec.from, rec.to
                    ));
                }
            }
            if recognition
                .insert((rec.from.clone(), rec.to.clone()), table)
                .is_some()
            {
                problems.push(format!(
                    "recognition {} -> {} is listed twice",
                    rec.from, rec.to
                ));
            }
        }
        let mut mapped = HashSet::new();
        for m in &raw.mappings {
            if m.len() < 2 {
                problems.push(format!(
                    "mapping {m:?} needs services of at least two regions"
                ));
            }
            for (region, code) in m {
                match find(region) {
                    None => problems.push(format!("mapping names unknown region {region}")),
                    Some(r) if r.service(code).is_none() => problems.push(format!(
                        "mapping names {code}, which {region} does not have"
                    )),
                    Some(_) => {
                        if !mapped.insert((region.clone(), code.clone())) {
                            problems.push(format!("{code} of {region} is mapped twice"));
                        }
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self {
            version: raw.version,
            local_only_zh: raw.local_only_reason_zh,
            local_only_en: raw.local_only_reason_en,
            regions,
            recognition,
            mappings: raw.mappings,
        })
    }

    /// Mappings whose services count the quota differently (one per year, the other once,
    /// say): a shared quota cannot be both; and mapped services that count yuan or days,
    /// which are drawn at home only. Checked on import (stored versions were valid when
    /// imported and stay readable); each problem names the mapping and the sides.
    pub fn quota_mismatches(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for m in &self.mappings {
            let sides: Vec<(&str, &Service)> = m
                .iter()
                .filter_map(|(region, code)| {
                    Some((region.as_str(), self.region(region)?.service(code)?))
                })
                .collect();
            for (region, s) in sides.iter().filter(|(_, s)| s.allowance.is_some()) {
                problems.push(format!(
                    "{} of {region} is mapped but counts {} (quota \"{}\"): amounts and stays \
                     are drawn at home only, not shared across regions",
                    s.code,
                    s.quota.unit().as_str(),
                    s.quota
                ));
            }
            let Some((first_region, first)) = sides.first() else {
                continue;
            };
            for (region, service) in &sides[1..] {
                if service.quota.measure() != first.quota.measure() {
                    let row: Vec<String> = m.iter().map(|(r, c)| format!("{r} = {c}")).collect();
                    problems.push(format!(
                        "mapping {{{}}} counts the quota differently on its two sides: \
                         {} of {first_region} is {} ({}), {} of {region} is {} ({})",
                        row.join(", "),
                        first.code,
                        first.quota,
                        first.quota.measure(),
                        service.code,
                        service.quota,
                        service.quota.measure(),
                    ));
                }
            }
        }
        problems
    }

    /// A region by id.
    pub fn region(&self, id: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.id == id)
    }

    /// The region whose cards carry `issuer`.
    pub fn region_of_issuer(&self, issuer: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.issuer == issuer)
    }

    /// All regions.
    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// The tier a `from` holder of `tier` is recognised as in `to`.
    pub fn recognise(&self, from: &str, to: &str, tier: Tier) -> Option<Tier> {
        if from == to {
            return self.region(from)?.tiers.contains(&tier).then_some(tier);
        }
        self.recognition
            .get(&(from.to_owned(), to.to_owned()))?
            .get(&tier)
            .copied()
    }

    /// The home service `host_code` is mapped from, for a holder of `home`.
    pub fn source_of<'a>(&'a self, host: &str, host_code: &str, home: &str) -> Option<&'a str> {
        self.mappings
            .iter()
            .find(|m| m.get(host).is_some_and(|c| c == host_code))
            .and_then(|m| m.get(home))
            .map(String::as_str)
    }

    /// Every host service for a `home` holder of native `tier`, with its basis: usable lines
    /// first, then the information lines. None when the regions or tier are unknown.
    pub fn entitlements(
        &self,
        home: &str,
        tier: Tier,
        host: &str,
    ) -> Option<(Tier, Vec<EntitlementLine<'_>>)> {
        let recognised = self.recognise(home, host, tier)?;
        let host_region = self.region(host)?;
        let mut lines: Vec<EntitlementLine<'_>> = host_region
            .services
            .iter()
            .map(|s| {
                let reaches = s.tiers.contains(&recognised);
                let (basis, source) = if home == host {
                    (
                        if reaches {
                            Basis::Home
                        } else {
                            Basis::NotEligible
                        },
                        None,
                    )
                } else {
                    match self.source_of(host, &s.code, home) {
                        Some(src) if reaches => (Basis::HostStandard, Some(src)),
                        Some(src) => (Basis::NotEligible, Some(src)),
                        None => (Basis::LocalOnly, None),
                    }
                };
                let (reason_zh, reason_en) = match basis {
                    Basis::LocalOnly => (self.local_only_zh.clone(), self.local_only_en.clone()),
                    Basis::NotEligible => (
                        format!("认定等级 {recognised} 不在该服务适用范围内"),
                        format!("recognised tier {recognised} is not among this service's tiers"),
                    ),
                    _ => (String::new(), String::new()),
                };
                EntitlementLine {
                    service: s,
                    basis,
                    source,
                    reason_zh,
                    reason_en,
                }
            })
            .collect();
        // Own holders see what they may use; visitors also see what they may not, and why.
        if home == host {
            lines.retain(|l| l.basis.usable());
        }
        lines.sort_by_key(|l| !l.basis.usable());
        Some((recognised, lines))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: &str = include_str!("../../../catalogue/catalogue.toml");

    fn usable(c: &Catalogue, home: &str, tier: &str, host: &str) -> Vec<String> {
        let (_, lines) = c
            .entitlements(home, tier.parse().expect("tier"), host)
            .expect("known");
        lines
            .iter()
            .filter(|l| l.basis.usable())
            .map(|l| l.service.code.clone())
            .collect()
    }

    #[test]
    fn the_shipped_catalogue_is_valid() {
        let c = Catalogue::parse(DEFAULT).expect("valid");
        assert_eq!(c.region("chongqing").expect("cq").services.len(), 18);
        assert_eq!(c.region("mianyang").expect("my").services.len(), 14);
    }

    #[test]
    fn mapped_services_must_count_their_shared_quota_alike() {
        let shipped = Catalogue::parse(DEFAULT).expect("valid");
        assert_eq!(shipped.quota_mismatches(), Vec::<String>::new());
        // A health check counted per year at home and once in the host region.
        let at = DEFAULT.find("code = \"MY07\"").expect("MY07");
        let once = format!(
            "{}{}",
            &DEFAULT[..at],
            DEFAULT[at..].replacen("quota = \"per_year 1\"", "quota = \"once\"", 1)
        );
        let c = Catalogue::parse(&once).expect("still a valid document");
        let problems = c.quota_mismatches();
        assert_eq!(problems.len(), 1, "{problems:?}");
        for word in [
            "CQ10",
            "MY07",
            "chongqing",
            "mianyang",
            "per_year 1",
            "once",
        ] {
            assert!(
                problems[0].contains(word),
                "{problems:?} should name {word}"
            );
        }
        // The same unit and period with another allowance is the same measure.
        let six = DEFAULT.replacen("quota = \"per_year 6\"", "quota = \"per_year 4\"", 1);
        assert!(
            Catalogue::parse(&six)
                .expect("valid")
                .quota_mismatches()
                .is_empty()
        );
    }

    #[test]
    fn amounts_and_stays_are_by_tier_and_drawn_at_home_only() {
        let c = Catalogue::parse(DEFAULT).expect("valid");
        let cq = c.region("chongqing").expect("cq");
        let of = |code| cq.service(code).and_then(|s| s.allowance.as_ref());
        assert_eq!(
            of("CQ16").expect("annuity").yuan("B".parse().expect("t")),
            8_000
        );
        assert_eq!(of("CQ17").expect("youth station").days(), 180);
        assert_eq!(
            of("CQ18").expect("subsidy").yuan("A".parse().expect("t")),
            100_000
        );
        assert!(of("CQ10").is_none());
        let mapped =
            format!("{DEFAULT}\n[[mappings]]\nchongqing = \"CQ16\"\nmianyang = \"MY13\"\n");
        let problems = Catalogue::parse(&mapped).expect("valid").quota_mismatches();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("CQ16") && p.contains("drawn at home only")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_mianyang_e_is_an_f_in_chongqing_with_two_services() {
        let c = Catalogue::parse(DEFAULT).expect("valid");
        assert_eq!(
            c.recognise("mianyang", "chongqing", "E".parse().expect("t")),
            "F".parse().ok()
        );
        assert_eq!(usable(&c, "mianyang", "E", "chongqing"), ["CQ01", "CQ13"]);
        assert_eq!(
            usable(&c, "mianyang", "B", "chongqing"),
            ["CQ01", "CQ09", "CQ10", "CQ11", "CQ12", "CQ13"]
        );
        assert_eq!(usable(&c, "chongqing", "F", "mianyang"), ["MY01", "MY10"]);
    }

    #[test]
    fn visitors_see_local_only_services_with_a_reason() {
        let c = Catalogue::parse(DEFAULT).expect("valid");
        let (_, lines) = c
            .entitlements("mianyang", "A".parse().expect("t"), "chongqing")
            .expect("known");
        let apartment = lines
            .iter()
            .find(|l| l.service.code == "CQ05")
            .expect("CQ05");
        assert_eq!(apartment.basis, Basis::LocalOnly);
        assert!(!apartment.reason_en.is_empty());
    }

    #[test]
    fn a_bad_document_lists_every_problem() {
        let bad = DEFAULT
            .replace("code = \"CQ02\"", "code = \"CQ01\"")
            .replace(
                "quota = \"per_event\"\nnote = \"per child\"",
                "quota = \"sometimes\"",
            )
            .replace("mianyang = \"MY06\"", "mianyang = \"MY99\"")
            .replace("tiers = \"A-B\"", "tiers = \"A-Z\"");
        let problems = Catalogue::parse(&bad).expect_err("invalid");
        let all = problems.join("\n");
        assert!(all.contains("CQ01 is listed twice"), "{all}");
        assert!(all.contains("sometimes"), "{all}");
        assert!(all.contains("MY99"), "{all}");
        assert!(all.contains("tier Z"), "{all}");
        assert!(problems.len() >= 4);
    }
}
