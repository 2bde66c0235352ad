//! Who is calling: a SPIFFE-style identity from the client certificate, or nobody.

use super::ParseError;
use std::fmt;
use std::str::FromStr;

/// What a caller may do (DESIGN.md's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// No client certificate.
    Public,
    /// A service counter.
    Counter,
    /// The issuing office.
    Operator,
    /// A partner region's gateway.
    Partner,
}

impl Role {
    /// The role as the URI path writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Counter => "counter",
            Self::Operator => "operator",
            Self::Partner => "partner",
        }
    }
}

/// `spiffe://TRUST_DOMAIN/ROLE/NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpiffeId {
    trust_domain: String,
    role: Role,
    name: String,
}

impl SpiffeId {
    /// The trust domain (host part).
    pub fn trust_domain(&self) -> &str {
        &self.trust_domain
    }

    /// The role named by the path.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The workload name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl FromStr for SpiffeId {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix("spiffe://")
            .ok_or_else(|| ParseError::new("not a spiffe:// URI"))?;
        let mut parts = rest.split('/');
        let (Some(td), Some(role), Some(name), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ParseError::new("expected spiffe://TRUST_DOMAIN/ROLE/NAME"));
        };
        let ok_segment = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"-._".contains(&c))
        };
        if !ok_segment(td) || !ok_segment(name) {
            return Err(ParseError::new("bad trust domain or name segment"));
        }
        let role = match role {
            "operator" => Role::Operator,
            "counter" => Role::Counter,
            "partner" => Role::Partner,
            other => return Err(ParseError::new(format!("unknown role {other:?}"))),
        };
        Ok(Self {
            trust_domain: td.to_ascii_lowercase(),
            role,
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "spiffe://{}/{}/{}",
            self.trust_domain,
            self.role.as_str(),
            self.name
        )
    }
}

/// Which connection a call came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

/// The identity a request carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Caller {
    /// No client certificate (a phone, a citizen).
    Public,
    /// A certificate with a SPIFFE-style URI SAN.
    Identified(SpiffeId),
}

impl Caller {
    /// The caller's role.
    pub fn role(&self) -> Role {
        match self {
            Self::Public => Role::Public,
            Self::Identified(id) => id.role(),
        }
    }

    /// A stable name for audit records and idempotency scopes.
    pub fn subject(&self) -> String {
        match self {
            Self::Public => "public".to_owned(),
            Self::Identified(id) => id.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spiffe_ids_parse_into_roles() {
        let id: SpiffeId = "spiffe://cq.talent/operator/kit".parse().expect("ok");
        assert_eq!(id.role(), Role::Operator);
        assert_eq!(id.trust_domain(), "cq.talent");
        assert!("spiffe://cq.talent/admin/kit".parse::<SpiffeId>().is_err());
        assert!("spiffe://cq.talent/operator".parse::<SpiffeId>().is_err());
        assert!("https://cq.talent/operator/x".parse::<SpiffeId>().is_err());
        assert!(
            "spiffe://cq.talent/operator/a/b"
                .parse::<SpiffeId>()
                .is_err()
        );
    }
}
