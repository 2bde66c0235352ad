//! Who a bucket belongs to, its class, and the rate that class refills at.

use crate::domain::Caller;
use crate::server::connection::ConnectionInfo;
use governor::Quota;
use std::net::IpAddr;
use std::num::NonZeroU32;

/// Whom a bucket belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum BucketOwner {
    /// A client certificate's SPIFFE ID.
    Identity(String),
    /// A caller without one, by address (IPv6 by its /64: one host usually has all of it).
    Address(IpAddr),
    /// Neither is known (no TCP connection info).
    Unknown,
}

impl BucketOwner {
    pub(super) fn class(&self) -> Class {
        match self {
            BucketOwner::Identity(_) => Class::Identified,
            BucketOwner::Address(_) | BucketOwner::Unknown => Class::Public,
        }
    }

    pub(super) fn address(ip: IpAddr) -> Self {
        BucketOwner::Address(crate::server::per_address::host(ip))
    }

    /// The bucket owner of a request: its caller's identity (resolved by the identity layer), else
    /// its address.
    pub(super) fn of<B>(req: &http::Request<B>) -> Self {
        let ext = req.extensions();
        if let Some(Caller::Identified(id)) = ext.get::<Caller>() {
            return BucketOwner::Identity(id.to_string());
        }
        ext.get::<ConnectionInfo>()
            .map_or(BucketOwner::Unknown, |c| {
                BucketOwner::address(c.remote.ip())
            })
    }
}

/// The kinds of bucket, each with its own limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Class {
    Identified,
    Public,
    Challenge,
}

/// Calls per second refilled continuously, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rate {
    pub(super) per_second: u32,
    pub(super) burst: u32,
}

impl Rate {
    /// No limit when either is 0.
    pub(super) fn new(per_second: u32, burst: u32) -> Option<Self> {
        (per_second > 0 && burst > 0).then_some(Self { per_second, burst })
    }
    /// The quota governor enforces: `per_second` cells a second, `burst` at once.
    pub(super) fn quota(self) -> Quota {
        let nz = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        Quota::per_second(nz(self.per_second)).allow_burst(nz(self.burst))
    }
}
