//! Counter tokens: issued to a named counter by an operator, accepted as that counter.

use super::{Gateway, ServiceError, now};
use crate::credential::{CounterClaims, MAX_COUNTER_TOKEN_HOURS};
use crate::domain::{Role, SpiffeId};

/// A token just issued.
#[derive(Debug, Clone)]
pub struct IssuedCounterToken {
    /// The bearer token.
    pub token: String,
    /// The counter identity it stands for.
    pub counter: SpiffeId,
    /// Unix seconds.
    pub expires_at: i64,
}

impl Gateway {
    /// A token for counter `name` in `trust_domain`, valid `hours` (1 to 24); audited.
    pub fn issue_counter_token(
        &self,
        caller: &str,
        trust_domain: &str,
        name: &str,
        hours: u32,
    ) -> Result<IssuedCounterToken, ServiceError> {
        if !(1..=MAX_COUNTER_TOKEN_HOURS).contains(&hours) {
            return Err(ServiceError::invalid(
                "valid_hours",
                format!("between 1 and {MAX_COUNTER_TOKEN_HOURS}"),
            ));
        }
        let counter: SpiffeId = format!("spiffe://{trust_domain}/counter/{name}")
            .parse()
            .map_err(|_| ServiceError::invalid("name", "letters, digits, '-', '.' or '_' only"))?;
        let iat = now();
        let claims = CounterClaims {
            iss: self.policy.issuer.clone(),
            sub: counter.to_string(),
            iat,
            exp: iat + i64::from(hours) * 3600,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let token = self.counter_key.sign(&claims);
        self.audit(
            caller,
            "counter_token.issue",
            &claims.sub,
            "ok",
            &format!("token {} valid {hours} h", claims.jti),
        );
        Ok(IssuedCounterToken {
            token,
            counter,
            expires_at: claims.exp,
        })
    }

    /// The counter a token stands for; UNAUTHENTICATED, saying why, when it is not good.
    pub fn counter_of(&self, token: &str) -> Result<SpiffeId, ServiceError> {
        let claims = self
            .counter_key
            .verify(token, now())
            .map_err(|e| ServiceError::Unauthenticated(e.to_string()))?;
        match claims.sub.parse::<SpiffeId>() {
            // Only ever a counter: a token can never stand for an operator or a partner.
            Ok(id) if id.role() == Role::Counter && claims.iss == self.policy.issuer => Ok(id),
            _ => Err(ServiceError::Unauthenticated(
                "the counter token does not name a counter of this gateway".into(),
            )),
        }
    }
}
