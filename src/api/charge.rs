//! Calls are charged by the work they carry (DESIGN.md): the rate limiter takes one unit
//! before the body is read; the handler, having decoded the request, takes the rest.

use std::sync::Arc;
use tonic::{Request, Status};

/// Takes more units from the caller's bucket; the rate limiter leaves one in the request's
/// extensions (`server/rate_limit.rs`) when limits are on.
#[derive(Clone)]
pub struct Charge(Arc<dyn Fn(u32) -> Result<(), Status> + Send + Sync>);

impl Charge {
    /// A charge that takes units with `take` (RESOURCE_EXHAUSTED when they are not there).
    pub fn new(take: impl Fn(u32) -> Result<(), Status> + Send + Sync + 'static) -> Self {
        Self(Arc::new(take))
    }

    /// Charges a call that carries `units` in all: the one the limiter took, and the rest
    /// now. Nothing to do without limits, or for a call of one unit.
    pub(crate) fn call<T>(req: &Request<T>, units: usize) -> Result<(), Status> {
        let Some(charge) = req.extensions().get::<Charge>() else {
            return Ok(());
        };
        match units.saturating_sub(1) {
            0 => Ok(()),
            more => (charge.0)(u32::try_from(more).unwrap_or(u32::MAX)),
        }
    }
}

/// The units of a request: one per credential, one per holder proof.
pub(crate) fn units(credentials: usize, proofs: usize) -> usize {
    credentials + proofs
}
