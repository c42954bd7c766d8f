//! STATUS: can ADD work now? The lease dir must be writable and lockable, and
//! the bridge name, when taken, must be a bridge. Otherwise code 50.

use crate::bridge;
use crate::cni::config::NetConf;
use crate::cni::error::Error;
use crate::ipam::store::Store;
use crate::netlink::Netlink;
use crate::verbs::ipam_of;

pub fn status(conf: &NetConf) -> Result<(), Error> {
    let ipam = ipam_of(conf)?;
    let unavailable = |e: Error| Error::NotAvailable(e.to_string());
    let store = Store::open(&ipam.data_dir, &conf.name).map_err(unavailable)?;
    store.lock().map_err(unavailable)?;
    let name = conf.bridge_name();
    let mut nl =
        Netlink::open().map_err(|e| Error::NotAvailable(format!("opening netlink: {e}")))?;
    match nl.link_by_name(name) {
        Ok(Some(link)) if !bridge::is_bridge(&link) => Err(Error::NotAvailable(format!(
            "{name} exists and is not a bridge"
        ))),
        Ok(_) => Ok(()),
        Err(e) => Err(Error::NotAvailable(format!("looking up {name}: {e}"))),
    }
}
