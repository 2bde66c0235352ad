//! Talent categories (the token's `cat` claim).

use super::ParseError;
use std::str::FromStr;

/// The categories a card may name; fixed by the agreement (DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TalentCategory {
    /// 科研
    ScientificResearch,
    /// 工程
    Engineering,
    /// 医疗卫生
    Healthcare,
    /// 教育
    Education,
    /// 创业
    Entrepreneurship,
    /// 文化体育
    CultureAndSport,
    /// 技能
    SkilledTrades,
    /// 经营管理
    Management,
    /// 其他
    Other,
}

const ALL: [(TalentCategory, &str); 9] = [
    (TalentCategory::ScientificResearch, "scientific_research"),
    (TalentCategory::Engineering, "engineering"),
    (TalentCategory::Healthcare, "healthcare"),
    (TalentCategory::Education, "education"),
    (TalentCategory::Entrepreneurship, "entrepreneurship"),
    (TalentCategory::CultureAndSport, "culture_and_sport"),
    (TalentCategory::SkilledTrades, "skilled_trades"),
    (TalentCategory::Management, "management"),
    (TalentCategory::Other, "other"),
];

impl TalentCategory {
    /// The claim value.
    pub fn as_str(self) -> &'static str {
        ALL.iter()
            .find(|(c, _)| *c == self)
            .map(|(_, s)| *s)
            .unwrap_or("other")
    }
}

impl FromStr for TalentCategory {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL.iter()
            .find(|(_, name)| *name == s.trim())
            .map(|(c, _)| *c)
            .ok_or_else(|| {
                let names: Vec<_> = ALL.iter().map(|(_, n)| *n).collect();
                ParseError::new(format!("must be one of {}", names.join(", ")))
            })
    }
}
