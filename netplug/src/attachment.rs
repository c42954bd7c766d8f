//! The record of one attachment, written by ADD and read by DEL, CHECK and
//! GC, so they undo exactly what ADD did without scanning anything.
//! Kept at `<dataDir>/<network>/attachments/<containerID>_<ifname>.json`.
//!
//! ADD writes it first, before it leases or makes anything (see
//! [`crate::claim`]), with the container's namespace, and again once the
//! addresses are known: whatever a crashed ADD left is named by a record.

use std::fs;
use std::io::ErrorKind;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cni::config::PortMapping;
use crate::cni::error::Error;
use crate::netns::{NetNs, NetnsId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    #[serde(rename = "containerID")]
    pub container_id: String,
    pub ifname: String,
    pub host_veth: String,
    pub bridge: String,
    pub ips: Vec<IpAddr>,
    pub ip_masq: bool,
    pub port_mappings: Vec<PortMapping>,
    /// CNI_NETNS of the ADD; empty in records written before it was kept.
    #[serde(default)]
    pub netns: String,
    /// The namespace that path named at ADD time.
    #[serde(default)]
    pub netns_id: Option<NetnsId>,
}

impl Record {
    /// The leased addresses when known; None for a claim made before its
    /// leases were recorded, whose leases must be found by owner.
    pub fn known_ips(&self) -> Option<&[IpAddr]> {
        Some(self.ips.as_slice()).filter(|ips| !ips.is_empty())
    }

    /// Whether CNI_NETNS `path` (opened as `opened`, None when it does not
    /// open) is this attachment's namespace. Records without an identity
    /// cannot tell and count as a match, as before they had one.
    pub fn is_in(&self, path: &str, opened: Option<&NetNs>) -> bool {
        match (self.netns_id, opened) {
            (None, _) => true,
            (Some(id), Some(ns)) => ns.id() == id,
            (Some(_), None) => self.netns == path,
        }
    }
}

fn dir(network_dir: &Path) -> PathBuf {
    network_dir.join("attachments")
}

fn path(network_dir: &Path, container_id: &str, ifname: &str) -> PathBuf {
    dir(network_dir).join(format!("{container_id}_{ifname}.json"))
}

pub fn save(network_dir: &Path, rec: &Record) -> Result<(), Error> {
    let d = dir(network_dir);
    fs::create_dir_all(&d).map_err(|e| Error::io(format!("creating {}", d.display()), e))?;
    let p = path(network_dir, &rec.container_id, &rec.ifname);
    let body = serde_json::to_vec(rec).map_err(|e| Error::io("encoding record", e.into()))?;
    // Write then rename, so a reader never sees half a record.
    let tmp = p.with_extension("tmp");
    fs::write(&tmp, body).map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
    fs::rename(&tmp, &p).map_err(|e| Error::io(format!("renaming {}", p.display()), e))
}

pub fn load(network_dir: &Path, container_id: &str, ifname: &str) -> Result<Option<Record>, Error> {
    read(&path(network_dir, container_id, ifname))
}

fn read(p: &Path) -> Result<Option<Record>, Error> {
    match fs::read(p) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| Error::Decode {
                what: "attachment record",
                source,
            }),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("reading {}", p.display()), e)),
    }
}

pub fn remove(network_dir: &Path, container_id: &str, ifname: &str) -> Result<(), Error> {
    let p = path(network_dir, container_id, ifname);
    match fs::remove_file(&p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(format!("removing {}", p.display()), e)),
    }
}

/// Every record of the network (GC only).
pub fn list(network_dir: &Path) -> Result<Vec<Record>, Error> {
    let d = dir(network_dir);
    let rd = match fs::read_dir(&d) {
        Ok(rd) => rd,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("listing {}", d.display()), e)),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| Error::io(format!("listing {}", d.display()), e))?;
        if entry.path().extension().is_some_and(|x| x == "json")
            && let Some(rec) = read(&entry.path())?
        {
            out.push(rec);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(netns: &str, netns_id: Option<NetnsId>) -> Record {
        Record {
            container_id: "c1".into(),
            ifname: "eth0".into(),
            host_veth: "veth0".into(),
            bridge: "br0".into(),
            ips: Vec::new(),
            ip_masq: false,
            port_mappings: Vec::new(),
            netns: netns.into(),
            netns_id,
        }
    }

    #[test]
    fn a_record_matches_its_namespace_by_identity_then_by_path() -> Result<(), Error> {
        // Any process may open its own netns file: no root needed.
        let own = NetNs::open("/proc/self/ns/net")?;
        let r = rec("/var/run/netns/a", Some(own.id()));
        // The same namespace under another path is the same attachment.
        assert!(r.is_in("/proc/self/ns/net", Some(&own)));
        let other = rec(
            "/var/run/netns/a",
            Some(NetnsId {
                dev: own.id().dev,
                ino: own.id().ino.wrapping_add(1),
            }),
        );
        assert!(!other.is_in("/proc/self/ns/net", Some(&own)));
        // A path that no longer opens can only be compared as a path.
        assert!(other.is_in("/var/run/netns/a", None));
        assert!(!other.is_in("/var/run/netns/b", None));
        // Records from before the identity was kept cannot tell: they match.
        assert!(rec("", None).is_in("/var/run/netns/b", None));
        Ok(())
    }

    #[test]
    fn records_written_before_the_netns_was_kept_still_load() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e))?;
        fs::create_dir_all(dir.path().join("attachments")).map_err(|e| Error::io("mkdir", e))?;
        let old = r#"{"containerID":"c1","ifname":"eth0","hostVeth":"v","bridge":"b","ips":["10.0.0.2"],"ipMasq":true,"portMappings":[]}"#;
        fs::write(dir.path().join("attachments/c1_eth0.json"), old)
            .map_err(|e| Error::io("write", e))?;
        let r = load(dir.path(), "c1", "eth0")?;
        let r = r.ok_or_else(|| Error::InvalidConfig("record not found".into()))?;
        assert_eq!((r.netns.as_str(), r.netns_id), ("", None));
        assert_eq!(r.known_ips().map(<[IpAddr]>::len), Some(1));
        assert_eq!(rec("x", None).known_ips(), None);
        Ok(())
    }
}
