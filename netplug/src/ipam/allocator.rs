//! Allocation with a cursor, release, and GC of leases.

use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::cni::error::Error;
use crate::ipam::config::{Ipam, Range, RangeSet};
use crate::ipam::range;
use crate::ipam::store::{Store, StoreLock};

/// An address handed to an attachment, with its subnet's prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub address: IpNet,
    pub gateway: IpAddr,
}

/// Reserves one address per range set for `container_id`/`ifname`.
/// `requested` addresses are honoured in the set that contains them.
pub fn allocate(
    ipam: &Ipam,
    network: &str,
    container_id: &str,
    ifname: &str,
    requested: &[IpAddr],
) -> Result<Vec<Lease>, Error> {
    let store = Store::open(&ipam.data_dir, network)?;
    let lock = store.lock()?;
    for ip in requested {
        if !ipam.range_sets.iter().any(|s| s.range_of(*ip).is_some()) {
            return Err(Error::InvalidConfig(format!(
                "requested IP {ip} is not in any configured range"
            )));
        }
    }
    let mut leases = Vec::with_capacity(ipam.range_sets.len());
    for (idx, set) in ipam.range_sets.iter().enumerate() {
        let wanted = requested.iter().find(|ip| set.range_of(**ip).is_some());
        let got = match wanted {
            Some(ip) => reserve_requested(&store, &lock, set, *ip, container_id, ifname),
            None => reserve_next(&store, &lock, idx, set, container_id, ifname),
        };
        match got {
            Ok(lease) => leases.push(lease),
            Err(e) => {
                // Leave nothing behind for a failed ADD.
                for l in &leases {
                    store.release(&lock, l.address.addr(), container_id, ifname)?;
                }
                return Err(e);
            }
        }
    }
    Ok(leases)
}

fn lease_in(r: &Range, ip: IpAddr) -> Lease {
    Lease {
        // The prefix comes from a valid subnet, so this cannot fail.
        address: IpNet::new(ip, r.subnet.prefix_len()).unwrap_or(r.subnet),
        gateway: r.gateway,
    }
}

fn reserve_requested(
    store: &Store,
    lock: &StoreLock,
    set: &RangeSet,
    ip: IpAddr,
    container_id: &str,
    ifname: &str,
) -> Result<Lease, Error> {
    let Some(r) = set.range_of(ip) else {
        return Err(Error::InvalidConfig(format!(
            "requested IP {ip} is not in range"
        )));
    };
    if ip == r.gateway {
        return Err(Error::InUse(format!("requested IP {ip} (the gateway)")));
    }
    // Already held by this container id and ifname counts as success: ADD
    // has claimed that name (crate::claim) and removed the leases of any
    // earlier attachment of it, so such a lease is a leftover with no live
    // owner (a crash between leasing and recording).
    if store.reserve(lock, ip, container_id, ifname)?
        || store.owner(ip)? == Some((container_id.to_string(), ifname.to_string()))
    {
        Ok(lease_in(r, ip))
    } else {
        Err(Error::InUse(format!("requested IP {ip}")))
    }
}

/// Walks from just after the cursor, wrapping once over every range of the
/// set. The first free address wins, so the cost does not grow with the number
/// of leases while the range has room after the cursor.
fn reserve_next(
    store: &Store,
    lock: &StoreLock,
    idx: usize,
    set: &RangeSet,
    container_id: &str,
    ifname: &str,
) -> Result<Lease, Error> {
    let ranges = &set.0;
    // Where to begin: the range holding the cursor and the address after it.
    let (mut ri, mut next) = match store.last_reserved(idx) {
        Some(last) => match ranges.iter().position(|r| r.contains(last)) {
            Some(i) if last != ranges[i].end => (i, range::add(last, 1)),
            Some(i) => ((i + 1) % ranges.len(), ranges[(i + 1) % ranges.len()].start),
            None => (0, ranges[0].start),
        },
        None => (0, ranges[0].start),
    };
    let start = (ri, next);
    loop {
        let r = &ranges[ri];
        let candidate = next;
        // Advance before trying, so `continue` cannot loop forever.
        if candidate == r.end {
            ri = (ri + 1) % ranges.len();
            next = ranges[ri].start;
        } else {
            next = range::add(candidate, 1);
        }
        if candidate != r.gateway && store.reserve(lock, candidate, container_id, ifname)? {
            store.set_last_reserved(lock, idx, candidate)?;
            return Ok(lease_in(r, candidate));
        }
        if (ri, next) == start {
            return Err(Error::Exhausted(set.describe()));
        }
    }
}

/// Releases the leases of `container_id`/`ifname`. With `known` addresses
/// (from the attachment record) no scan is needed.
pub fn release(
    ipam: &Ipam,
    network: &str,
    container_id: &str,
    ifname: &str,
    known: Option<&[IpAddr]>,
) -> Result<(), Error> {
    let store = Store::open(&ipam.data_dir, network)?;
    let lock = store.lock()?;
    let ips: Vec<IpAddr> = match known {
        Some(ips) => ips.to_vec(),
        None => store
            .leases()?
            .into_iter()
            .filter(|(_, c, i)| c == container_id && i == ifname)
            .map(|(ip, _, _)| ip)
            .collect(),
    };
    for ip in ips {
        store.release(&lock, ip, container_id, ifname)?;
    }
    Ok(())
}

/// Removes every lease whose (container id, ifname) is not in `valid`;
/// returns the attachments it dropped.
pub fn gc(
    ipam: &Ipam,
    network: &str,
    valid: &HashSet<(String, String)>,
) -> Result<Vec<(String, String)>, Error> {
    let store = Store::open(&ipam.data_dir, network)?;
    let lock = store.lock()?;
    let mut dropped = Vec::new();
    for (ip, cid, ifname) in store.leases()? {
        let key = (cid, ifname);
        if !valid.contains(&key) {
            store.release(&lock, ip, &key.0, &key.1)?;
            if !dropped.contains(&key) {
                dropped.push(key);
            }
        }
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipam::config::IpamConf;

    fn ipam(dir: &std::path::Path, ranges: &str) -> Result<Ipam, Error> {
        let json = format!(
            r#"{{"ranges":{ranges},"dataDir":{:?}}}"#,
            dir.display().to_string()
        );
        let c: IpamConf = serde_json::from_str(&json).map_err(|source| Error::Decode {
            what: "test",
            source,
        })?;
        c.validate()
    }

    #[test]
    fn allocates_in_order_skips_gateway_and_reports_exhaustion() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e))?;
        let ipam = ipam(dir.path(), r#"[[{"subnet":"10.7.0.0/29"}]]"#)?;
        let mut got = Vec::new();
        for i in 0..5 {
            let l = allocate(&ipam, "n", &format!("c{i}"), "eth0", &[])?;
            got.push(l[0].address.to_string());
        }
        assert_eq!(
            got,
            [
                "10.7.0.2/29",
                "10.7.0.3/29",
                "10.7.0.4/29",
                "10.7.0.5/29",
                "10.7.0.6/29"
            ]
        );
        let e = allocate(&ipam, "n", "c9", "eth0", &[]).err();
        assert!(matches!(e, Some(Error::Exhausted(_))), "{e:?}");
        // A freed address behind the cursor is found again by wrapping.
        release(&ipam, "n", "c1", "eth0", None)?;
        let l = allocate(&ipam, "n", "c10", "eth0", &[])?;
        assert_eq!(l[0].address.to_string(), "10.7.0.3/29");
        Ok(())
    }

    #[test]
    fn dual_stack_requested_and_gc() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e))?;
        let ipam = ipam(
            dir.path(),
            r#"[[{"subnet":"10.8.0.0/24"}],[{"subnet":"fd00:8::/120"}]]"#,
        )?;
        let want: IpAddr = "10.8.0.77"
            .parse()
            .map_err(|_| Error::InvalidConfig("ip".into()))?;
        let l = allocate(&ipam, "n", "a", "eth0", &[want])?;
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].address.addr(), want);
        assert!(l[1].address.addr().is_ipv6());
        let e = allocate(&ipam, "n", "b", "eth0", &[want]).err();
        assert!(matches!(e, Some(Error::InUse(_))), "{e:?}");
        allocate(&ipam, "n", "b", "eth0", &[])?;
        let valid: HashSet<_> = [("b".to_string(), "eth0".to_string())].into();
        let dropped = gc(&ipam, "n", &valid)?;
        assert_eq!(dropped, vec![("a".to_string(), "eth0".to_string())]);
        Ok(())
    }
}
