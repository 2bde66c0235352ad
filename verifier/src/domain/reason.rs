//! Why a credential was accepted or refused: the `reason` of every verdict.

/// Reason codes of DESIGN.md. The string names are the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The credential is valid.
    Ok,
    /// Not a token this gateway can read (size, structure, claims).
    Malformed,
    /// The signature does not match.
    BadSignature,
    /// No partner or own issuer by that name.
    UnknownIssuer,
    /// The issuer has no key with that `kid`.
    UnknownKey,
    /// The header's `alg` is not the one the key is pinned to.
    AlgorithmNotAllowed,
    /// Past `exp`.
    Expired,
    /// Before `nbf`.
    NotYetValid,
    /// Revoked by its issuer.
    Revoked,
    /// Suspended by its issuer.
    Suspended,
    /// The card is bound to a holder key and no proof was given.
    HolderProofRequired,
    /// The holder proof does not check out.
    HolderProofInvalid,
    /// The partner is suspended under the agreement.
    PartnerSuspended,
    /// The partner's keys or status are older than the staleness limit.
    StaleTrustData,
    /// `crit`, `jku`, `x5u`, `jwk` or `x5c`: never followed.
    UnsupportedHeader,
    /// `typ` is not the profile's.
    WrongType,
    /// The `kid` names a key its issuer (or this gateway, for a partner) revoked.
    KeyRevoked,
}

impl Reason {
    /// Every reason, in declaration order: `ALL[r.index()] == r`.
    pub const ALL: [Reason; 17] = [
        Self::Ok,
        Self::Malformed,
        Self::BadSignature,
        Self::UnknownIssuer,
        Self::UnknownKey,
        Self::AlgorithmNotAllowed,
        Self::Expired,
        Self::NotYetValid,
        Self::Revoked,
        Self::Suspended,
        Self::HolderProofRequired,
        Self::HolderProofInvalid,
        Self::PartnerSuspended,
        Self::StaleTrustData,
        Self::UnsupportedHeader,
        Self::WrongType,
        Self::KeyRevoked,
    ];

    /// Position in [`Reason::ALL`], for counters kept in a fixed array.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Malformed => "MALFORMED",
            Self::BadSignature => "BAD_SIGNATURE",
            Self::UnknownIssuer => "UNKNOWN_ISSUER",
            Self::UnknownKey => "UNKNOWN_KEY",
            Self::AlgorithmNotAllowed => "ALGORITHM_NOT_ALLOWED",
            Self::Expired => "EXPIRED",
            Self::NotYetValid => "NOT_YET_VALID",
            Self::Revoked => "REVOKED",
            Self::Suspended => "SUSPENDED",
            Self::HolderProofRequired => "HOLDER_PROOF_REQUIRED",
            Self::HolderProofInvalid => "HOLDER_PROOF_INVALID",
            Self::PartnerSuspended => "PARTNER_SUSPENDED",
            Self::StaleTrustData => "STALE_TRUST_DATA",
            Self::UnsupportedHeader => "UNSUPPORTED_HEADER",
            Self::WrongType => "WRONG_TYPE",
            Self::KeyRevoked => "KEY_REVOKED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Reason;

    #[test]
    fn all_is_in_index_order() {
        for (i, r) in Reason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i, "{}", r.as_str());
        }
    }
}
