//! The algorithms an own key may sign with, by their configured (and JOSE) names.

use super::sm2::SM2_ALG;

/// The algorithm own keys sign with (`signing_algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigningAlgorithm {
    /// Ed25519, JOSE `EdDSA` (the default).
    #[default]
    EdDsa,
    /// SM2 over SM3 with the default ID, JOSE `SM2`.
    Sm2,
}

impl SigningAlgorithm {
    /// The configured name, which is also the JOSE `alg` and the stored algorithm.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDsa => "EdDSA",
            Self::Sm2 => SM2_ALG,
        }
    }
}

/// `signing_algorithm` names neither algorithm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signing_algorithm must be \"EdDSA\" or \"SM2\", not {0:?}")]
pub struct UnknownSigningAlgorithm(pub String);

impl std::str::FromStr for SigningAlgorithm {
    type Err = UnknownSigningAlgorithm;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "EdDSA" => Ok(Self::EdDsa),
            "SM2" => Ok(Self::Sm2),
            other => Err(UnknownSigningAlgorithm(other.to_owned())),
        }
    }
}
