//! The record of one attachment, written by ADD and read by DEL, CHECK and
//! GC, so they undo exactly what ADD did without scanning anything.
//! Kept at `<dataDir>/<network>/attachments/<containerID>:<ifname>.json`.
//! `:` can be in neither part (container ids are alphanumerics, `_`, `.`
//! and `-`, see [`crate::cni::invocation::validate_container_id`]; the
//! kernel refuses `:` and `/` in interface names), so no two attachments
//! share a file.
//!
//! Builds up to 2026-11-30 joined the two with `_`, which both may
//! contain: (`a_b`, `c`) and (`a`, `b_c`) shared `a_b_c.json`. Such a
//! record is still read, but only for the attachment its own fields name,
//! and goes when that attachment's record is next written or removed.
//!
//! ADD writes it first, before it leases or makes anything (see
//! [`crate::claim`]), with the container's namespace, and again once the
//! addresses are known: whatever a crashed ADD left is named by a record.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

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
    /// open) is this attachment's namespace; None when the record cannot
    /// tell (written before the namespace was kept): the kernel must, see
    /// [`crate::claim::is_of`].
    pub fn is_in(&self, path: &str, opened: Option<&NetNs>) -> Option<bool> {
        let id = self.netns_id?;
        Some(match opened {
            Some(ns) => ns.id() == id,
            None => self.netns == path,
        })
    }

    /// Whether this is the record of attachment (`container_id`, `ifname`).
    fn names(&self, container_id: &str, ifname: &str) -> bool {
        self.container_id == container_id && self.ifname == ifname
    }
}

/// Joins container id and ifname in a record's file name; in neither.
const SEPARATOR: char = ':';

/// A `.tmp` older than this is left by a save that died between write and
/// rename; a live save holds its `.tmp` for microseconds (GC takes no lock
/// against it, so a fresh one may be a concurrent ADD's).
const STALE_TMP: Duration = Duration::from_secs(60);

fn dir(network_dir: &Path) -> PathBuf {
    network_dir.join("attachments")
}

/// Where the record of (`container_id`, `ifname`) is kept under network
/// directory `network_dir` (`<dataDir>/<network>`).
pub fn record_path(network_dir: &Path, container_id: &str, ifname: &str) -> PathBuf {
    dir(network_dir).join(format!("{container_id}{SEPARATOR}{ifname}.json"))
}

/// Where builds up to 2026-11-30 kept it (ambiguous, see the module doc).
fn legacy_path(network_dir: &Path, container_id: &str, ifname: &str) -> PathBuf {
    dir(network_dir).join(format!("{container_id}_{ifname}.json"))
}

/// Writes `rec` (replacing any record of its attachment).
///
/// Errors: I/O on the attachments directory or the record file.
pub fn save(network_dir: &Path, rec: &Record) -> Result<(), Error> {
    let d = dir(network_dir);
    fs::create_dir_all(&d).map_err(|e| Error::io(format!("creating {}", d.display()), e))?;
    let p = record_path(network_dir, &rec.container_id, &rec.ifname);
    let body = serde_json::to_vec(rec).map_err(|e| Error::io("encoding record", e.into()))?;
    // Write then rename, so a reader never sees half a record.
    let tmp = p.with_extension("tmp");
    fs::write(&tmp, body).map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
    fs::rename(&tmp, &p).map_err(|e| Error::io(format!("renaming {}", p.display()), e))?;
    // This attachment's record under the old name is superseded now.
    remove_legacy(network_dir, &rec.container_id, &rec.ifname)
}

/// The record of (`container_id`, `ifname`), None when there is none.
///
/// Errors: I/O; [`Error::Decode`] when its file does not parse.
pub fn load(network_dir: &Path, container_id: &str, ifname: &str) -> Result<Option<Record>, Error> {
    let p = record_path(network_dir, container_id, ifname);
    if let Some(rec) = read(&p)? {
        if rec.names(container_id, ifname) {
            return Ok(Some(rec));
        }
        // Only a hand-made file can get here: it is not this attachment's.
        tracing::warn!(
            path = %p.display(),
            container = rec.container_id,
            ifname = rec.ifname,
            "ignoring a record that names another attachment than its file"
        );
        return Ok(None);
    }
    Ok(read_legacy(network_dir, container_id, ifname))
}

/// The old-named record of (`container_id`, `ifname`), if its own fields
/// say it is that attachment's. An unreadable one may be another
/// attachment's (the old names clash), so it is logged and ignored.
fn read_legacy(network_dir: &Path, container_id: &str, ifname: &str) -> Option<Record> {
    let p = legacy_path(network_dir, container_id, ifname);
    match read(&p) {
        Ok(rec) => rec.filter(|r| r.names(container_id, ifname)),
        Err(e) => {
            tracing::warn!(path = %p.display(), error = %e, "ignoring an old-named record");
            None
        }
    }
}

fn remove_legacy(network_dir: &Path, container_id: &str, ifname: &str) -> Result<(), Error> {
    if read_legacy(network_dir, container_id, ifname).is_none() {
        return Ok(());
    }
    remove_file(&legacy_path(network_dir, container_id, ifname))
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

fn remove_file(p: &Path) -> Result<(), Error> {
    match fs::remove_file(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(format!("removing {}", p.display()), e)),
    }
}

/// Removes the record of (`container_id`, `ifname`), under either name;
/// none is fine.
///
/// Errors: I/O removing it.
pub fn remove(network_dir: &Path, container_id: &str, ifname: &str) -> Result<(), Error> {
    remove_file(&record_path(network_dir, container_id, ifname))?;
    remove_legacy(network_dir, container_id, ifname)
}

/// Every record of the network (GC only), one per attachment. A record
/// that does not parse, or is kept under another attachment's name, is
/// logged and skipped, so it cannot stop the collection of the others;
/// `.tmp` files a crashed save left are removed.
///
/// Errors: I/O listing the directory.
pub fn list(network_dir: &Path) -> Result<Vec<Record>, Error> {
    let d = dir(network_dir);
    let rd = match fs::read_dir(&d) {
        Ok(rd) => rd,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("listing {}", d.display()), e)),
    };
    // Keyed by attachment; a current name wins over an old one.
    let mut found: BTreeMap<(String, String), (bool, Record)> = BTreeMap::new();
    for entry in rd {
        let p = entry
            .map_err(|e| Error::io(format!("listing {}", d.display()), e))?
            .path();
        match p.extension().and_then(|x| x.to_str()) {
            Some("tmp") => remove_if_stale(&p),
            Some("json") => {
                let rec = match read(&p) {
                    Ok(Some(rec)) => rec,
                    // Removed meanwhile (a concurrent DEL).
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!(path = %p.display(), error = %e, "skipping an unreadable record");
                        continue;
                    }
                };
                let (cid, ifn) = (rec.container_id.as_str(), rec.ifname.as_str());
                let current = p == record_path(network_dir, cid, ifn);
                if !current && p != legacy_path(network_dir, cid, ifn) {
                    tracing::warn!(path = %p.display(), container = cid, ifname = ifn, "skipping a record kept under another attachment's name");
                    continue;
                }
                let key = (rec.container_id.clone(), rec.ifname.clone());
                if found.get(&key).is_none_or(|(was_current, _)| !was_current) {
                    found.insert(key, (current, rec));
                }
            }
            _ => {}
        }
    }
    Ok(found.into_values().map(|(_, rec)| rec).collect())
}

/// Removes `.tmp` file `p` when older than [`STALE_TMP`]; logs failures
/// (a leftover file harms nothing but space).
fn remove_if_stale(p: &Path) {
    let age = fs::metadata(p)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok());
    if age.is_none_or(|a| a < STALE_TMP) {
        return;
    }
    tracing::info!(path = %p.display(), "removing what a crashed record write left");
    if let Err(e) = remove_file(p) {
        tracing::warn!(error = %e, "removing a stale record .tmp");
    }
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
        assert_eq!(r.is_in("/proc/self/ns/net", Some(&own)), Some(true));
        let other = rec(
            "/var/run/netns/a",
            Some(NetnsId {
                dev: own.id().dev,
                ino: own.id().ino.wrapping_add(1),
            }),
        );
        assert_eq!(other.is_in("/proc/self/ns/net", Some(&own)), Some(false));
        // A path that no longer opens can only be compared as a path.
        assert_eq!(other.is_in("/var/run/netns/a", None), Some(true));
        assert_eq!(other.is_in("/var/run/netns/b", None), Some(false));
        // Records from before the identity was kept cannot tell.
        assert_eq!(rec("", None).is_in("/var/run/netns/b", Some(&own)), None);
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

    fn named(container_id: &str, ifname: &str) -> Record {
        Record {
            container_id: container_id.into(),
            ifname: ifname.into(),
            ..rec("", None)
        }
    }

    fn tempdir() -> Result<tempfile::TempDir, Error> {
        tempfile::tempdir().map_err(|e| Error::io("tempdir", e))
    }

    #[test]
    fn ids_and_ifnames_that_join_alike_with_underscore_keep_their_own_records() -> Result<(), Error>
    {
        let dir = tempdir()?;
        let (ab_c, a_bc) = (named("a_b", "c"), named("a", "b_c"));
        save(dir.path(), &ab_c)?;
        save(dir.path(), &a_bc)?;
        assert_eq!(load(dir.path(), "a_b", "c")?, Some(ab_c.clone()));
        assert_eq!(load(dir.path(), "a", "b_c")?, Some(a_bc.clone()));
        assert_eq!(list(dir.path())?, vec![a_bc, ab_c.clone()]);
        remove(dir.path(), "a", "b_c")?;
        assert_eq!(load(dir.path(), "a", "b_c")?, None);
        assert_eq!(list(dir.path())?, vec![ab_c]);
        Ok(())
    }

    #[test]
    fn an_old_named_record_serves_only_the_attachment_it_names_and_goes_on_save()
    -> Result<(), Error> {
        let dir = tempdir()?;
        fs::create_dir_all(dir.path().join("attachments")).map_err(|e| Error::io("mkdir", e))?;
        let old = dir.path().join("attachments/a_b_c.json");
        let body =
            serde_json::to_vec(&named("a", "b_c")).map_err(|e| Error::io("enc", e.into()))?;
        fs::write(&old, body).map_err(|e| Error::io("write", e))?;
        // The other attachment whose old name it is does not take it.
        assert_eq!(load(dir.path(), "a_b", "c")?, None);
        save(dir.path(), &named("a_b", "c"))?;
        assert!(old.exists(), "saving a_b/c removed a/b_c's record");
        remove(dir.path(), "a_b", "c")?;
        assert!(old.exists(), "removing a_b/c removed a/b_c's record");
        assert_eq!(load(dir.path(), "a", "b_c")?, Some(named("a", "b_c")));
        assert_eq!(list(dir.path())?, vec![named("a", "b_c")]);
        // Its own attachment's next write replaces it.
        save(dir.path(), &named("a", "b_c"))?;
        assert!(!old.exists());
        assert!(record_path(dir.path(), "a", "b_c").exists());
        assert_eq!(list(dir.path())?, vec![named("a", "b_c")]);
        Ok(())
    }

    #[test]
    fn listing_skips_unreadable_records_and_removes_stale_tmp_files() -> Result<(), Error> {
        let dir = tempdir()?;
        save(dir.path(), &named("c1", "eth0"))?;
        let att = dir.path().join("attachments");
        let write = |name: &str, body: &str| {
            fs::write(att.join(name), body).map_err(|e| Error::io("write", e))
        };
        write("c2:eth0.json", "{ half a rec")?;
        // A record under a name that is not its own is not trusted either.
        write(
            "c3:eth0.json",
            &String::from_utf8_lossy(
                &serde_json::to_vec(&named("c4", "eth0"))
                    .map_err(|e| Error::io("enc", e.into()))?,
            ),
        )?;
        write("c5:eth0.tmp", "{")?;
        write("c6:eth0.tmp", "{")?;
        let old = SystemTime::now() - STALE_TMP - Duration::from_secs(1);
        fs::File::options()
            .write(true)
            .open(att.join("c5:eth0.tmp"))
            .and_then(|f| f.set_modified(old))
            .map_err(|e| Error::io("set mtime", e))?;
        assert_eq!(list(dir.path())?, vec![named("c1", "eth0")]);
        assert!(!att.join("c5:eth0.tmp").exists(), "stale .tmp stayed");
        // A fresh one may be a concurrent save's.
        assert!(att.join("c6:eth0.tmp").exists());
        assert!(att.join("c2:eth0.json").exists());
        Ok(())
    }
}
