//! GC with cni.dev/valid-attachments, and STATUS.

mod common;

use common::*;
use serde_json::json;

#[test]
fn gc_removes_attachments_not_in_the_valid_list() {
    if !require_root_and_tools() {
        return;
    }
    let mut net = Net::new("gc", 30);
    net.conf["ipMasq"] = true.into();
    let (a, b) = (Netns::new("gca"), Netns::new("gcb"));
    ok(&cni("ADD", "gc-keep", &a.path(), "eth0", &net.conf));
    ok(&cni("ADD", "gc-drop", &b.path(), "eth0", &net.conf));
    assert_eq!(net.leases().len(), 2);
    let mut conf = net.conf.clone();
    conf["cni.dev/valid-attachments"] = json!([{"containerID": "gc-keep", "ifname": "eth0"}]);
    ok(&cni_raw(
        &[("CNI_COMMAND", "GC"), ("CNI_PATH", "/usr/lib/cni")],
        conf.to_string().as_bytes(),
    ));
    assert_eq!(net.leases().len(), 1);
    assert_eq!(ports_of(&net.bridge).len(), 1);
    assert!(!b.exec(&["ip", "link", "show", "eth0"]).status.success());
    assert!(a.exec(&["ip", "link", "show", "eth0"]).status.success());
    ok(&cni("DEL", "gc-keep", &a.path(), "eth0", &net.conf));
}

#[test]
fn gc_needs_version_1_1() {
    if !require_root_and_tools() {
        return;
    }
    let mut net = Net::new("gcv", 31);
    net.conf["cniVersion"] = "1.0.0".into();
    err(
        &cni_raw(&[("CNI_COMMAND", "GC")], net.conf.to_string().as_bytes()),
        1,
    );
}

#[test]
fn status_is_ok_and_reports_50_when_data_dir_or_bridge_is_unusable() {
    if !require_root_and_tools() {
        return;
    }
    let net = Net::new("st", 32);
    let status = |conf: &serde_json::Value| {
        cni_raw(&[("CNI_COMMAND", "STATUS")], conf.to_string().as_bytes())
    };
    ok(&status(&net.conf));
    // A data dir below a regular file cannot be created.
    let file = net.data.path().join("plain-file");
    assert!(std::fs::write(&file, "x").is_ok());
    let mut conf = net.conf.clone();
    conf["ipam"]["dataDir"] = file.join("sub").to_string_lossy().to_string().into();
    err(&status(&conf), 50);
    // The bridge name taken by a link that is not a bridge (a veth; this
    // kernel has no dummy driver). Net's drop deletes it with its peer.
    let peer = format!("{}p", net.bridge);
    let out = std::process::Command::new("ip")
        .args([
            "link",
            "add",
            &net.bridge,
            "type",
            "veth",
            "peer",
            "name",
            &peer,
        ])
        .output();
    assert!(out.is_ok_and(|o| o.status.success()));
    err(&status(&net.conf), 50);
}

#[test]
fn gc_goes_past_a_corrupt_record_and_removes_what_a_crashed_record_write_left() {
    if !require_root_and_tools() {
        return;
    }
    let net = Net::new("gcc", 102);
    let ns = Netns::new("gcc");
    ok(&cni("ADD", "gcc-drop", &ns.path(), "eth0", &net.conf));
    let dir = net.lease_dir().join("attachments");
    // Half a record (a disk that filled up, a hand edit), and the .tmp of a
    // save that died before its rename, two minutes ago.
    let corrupt = berth_netplug::attachment::record_path(&net.lease_dir(), "gcc-bad", "eth0");
    assert!(std::fs::write(&corrupt, "{\"containerID\": \"gcc-b").is_ok());
    let tmp = dir.join("gcc-crashed:eth0.tmp");
    assert!(std::fs::write(&tmp, "{").is_ok());
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
    let aged = std::fs::File::options()
        .write(true)
        .open(&tmp)
        .and_then(|f| f.set_modified(old));
    assert!(aged.is_ok(), "{aged:?}");
    let mut conf = net.conf.clone();
    conf["cni.dev/valid-attachments"] = json!([]);
    ok(&cni_raw(
        &[("CNI_COMMAND", "GC"), ("CNI_PATH", "/usr/lib/cni")],
        conf.to_string().as_bytes(),
    ));
    // The readable attachment was collected all the same.
    assert!(net.leases().is_empty());
    assert!(ports_of(&net.bridge).is_empty());
    assert!(!ns.exec(&["ip", "link", "show", "eth0"]).status.success());
    assert!(!tmp.exists(), "the stale .tmp stayed");
    // What cannot be read is left for a person to look at.
    assert!(corrupt.exists());
}
