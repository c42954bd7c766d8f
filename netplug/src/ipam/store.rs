//! The lease directory of one network, host-local's layout:
//! `<dataDir>/<network>/<ip>` holds "containerID\r\nifname",
//! `last_reserved_ip.<set>` holds the cursor, `lock` serialises processes.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::cni::error::Error;

const LINE_BREAK: &str = "\r\n";

pub struct Store {
    dir: PathBuf,
}

/// Held while allocating or releasing; dropping it unlocks.
pub struct StoreLock {
    _lock: Flock<File>,
}

impl Store {
    pub fn open(data_dir: &Path, network: &str) -> Result<Self, Error> {
        let dir = data_dir.join(network);
        fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating lease dir {}", dir.display()), e))?;
        Ok(Self { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn lock(&self) -> Result<StoreLock, Error> {
        let path = self.dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| Error::io(format!("locking {}", path.display()), errno.into()))?;
        Ok(StoreLock { _lock: lock })
    }

    fn lease_path(&self, ip: IpAddr) -> PathBuf {
        self.dir.join(ip.to_string())
    }

    /// Creates the lease file; false when the address is already leased.
    pub fn reserve(
        &self,
        _lock: &StoreLock,
        ip: IpAddr,
        container_id: &str,
        ifname: &str,
    ) -> Result<bool, Error> {
        let path = self.lease_path(ip);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                f.write_all(format!("{container_id}{LINE_BREAK}{ifname}").as_bytes())
                    .map_err(|e| Error::io(format!("writing lease {}", path.display()), e))?;
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(Error::io(format!("creating lease {}", path.display()), e)),
        }
    }

    /// Who holds `ip`, if anyone.
    pub fn owner(&self, ip: IpAddr) -> Result<Option<(String, String)>, Error> {
        let path = self.lease_path(ip);
        match fs::read_to_string(&path) {
            Ok(s) => Ok(Some(parse_owner(&s))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("reading lease {}", path.display()), e)),
        }
    }

    /// Removes the lease of `ip` if `container_id`/`ifname` holds it.
    pub fn release(
        &self,
        _lock: &StoreLock,
        ip: IpAddr,
        container_id: &str,
        ifname: &str,
    ) -> Result<(), Error> {
        if let Some((cid, ifn)) = self.owner(ip)?
            && cid == container_id
            && ifn == ifname
        {
            let path = self.lease_path(ip);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(format!("removing lease {}", path.display()), e)),
            }
        }
        Ok(())
    }

    /// Every lease: (address, container id, ifname). Only DEL without a record
    /// and GC use it; ADD never scans.
    pub fn leases(&self) -> Result<Vec<(IpAddr, String, String)>, Error> {
        let rd = fs::read_dir(&self.dir)
            .map_err(|e| Error::io(format!("listing {}", self.dir.display()), e))?;
        let mut out = Vec::new();
        for entry in rd {
            let entry =
                entry.map_err(|e| Error::io(format!("listing {}", self.dir.display()), e))?;
            let Some(ip) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<IpAddr>().ok())
            else {
                continue;
            };
            if let Some((cid, ifname)) = self.owner(ip)? {
                out.push((ip, cid, ifname));
            }
        }
        Ok(out)
    }

    pub fn last_reserved(&self, set: usize) -> Option<IpAddr> {
        fs::read_to_string(self.dir.join(format!("last_reserved_ip.{set}")))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    pub fn set_last_reserved(
        &self,
        _lock: &StoreLock,
        set: usize,
        ip: IpAddr,
    ) -> Result<(), Error> {
        let path = self.dir.join(format!("last_reserved_ip.{set}"));
        fs::write(&path, ip.to_string())
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))
    }
}

fn parse_owner(s: &str) -> (String, String) {
    match s.split_once(LINE_BREAK) {
        Some((cid, ifname)) => (cid.trim().to_string(), ifname.trim().to_string()),
        // Very old host-local leases hold only the container id.
        None => (s.trim().to_string(), String::new()),
    }
}
