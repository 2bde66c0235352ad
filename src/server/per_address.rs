//! A cap on the connections one address holds open at once, shared by every per-core
//! runtime: counted from accept until the connection closes, so sockets that never finish
//! (or never start) a handshake count too. One host cannot take the file descriptors.

use crate::locks;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Open connections per host.
#[derive(Debug)]
pub(crate) struct PerAddress {
    limit: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
    refused: AtomicU64,
}

/// One counted connection; the count drops with it.
#[derive(Debug)]
pub(crate) struct AddressPermit {
    cap: Arc<PerAddress>,
    host: IpAddr,
}

/// The host an address stands for: IPv6 by its /64 (one host usually has all of it),
/// IPv4-mapped IPv6 as IPv4; as the rate limiter keys addresses.
pub(crate) fn host(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

impl PerAddress {
    /// At most `limit` open connections per host.
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            open: Mutex::new(HashMap::new()),
            refused: AtomicU64::new(0),
        })
    }

    /// Counts a new connection from `ip`, or None when its host is at the cap (the caller
    /// closes the socket at once).
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<AddressPermit> {
        let host = host(ip);
        let mut open = locks::lock(&self.open);
        let n = open.entry(host).or_insert(0);
        if *n >= self.limit {
            drop(open);
            // At debug: a flood must not become a flood of log lines.
            let refused = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::debug!(%host, limit = self.limit, refused, "connection over the per-address cap closed");
            return None;
        }
        *n += 1;
        Some(AddressPermit {
            cap: self.clone(),
            host,
        })
    }
}

impl Drop for AddressPermit {
    fn drop(&mut self) {
        let mut open = locks::lock(&self.cap.open);
        if let Some(n) = open.get_mut(&self.host) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.host);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_gets_its_cap_and_a_closed_connection_frees_a_place() {
        let cap = PerAddress::new(2);
        let a: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let same_host: IpAddr = "2001:db8:1:2::ffff".parse().expect("ip");
        let first = cap.admit(a).expect("first");
        let _second = cap.admit(same_host).expect("second");
        assert!(cap.admit(a).is_none(), "the /64 is one host");
        assert!(cap.admit("2001:db8:1:3::1".parse().expect("ip")).is_some());
        assert_eq!(cap.refused.load(Ordering::Relaxed), 1);
        drop(first);
        assert!(cap.admit(a).is_some());
        let v4 = cap.admit("10.0.0.1".parse().expect("ip")).expect("v4");
        let _mapped = cap
            .admit("::ffff:10.0.0.1".parse().expect("ip"))
            .expect("v4");
        assert!(cap.admit("10.0.0.1".parse().expect("ip")).is_none());
        drop(v4);
        assert_eq!(
            cap.open
                .lock()
                .expect("lock")
                .get(&host("10.0.0.1".parse().expect("ip"))),
            Some(&1)
        );
    }
}
