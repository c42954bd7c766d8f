//! ADD, DEL and CHECK on real namespaces, bridges and veths.

mod common;

use common::*;

#[test]
fn two_containers_get_addresses_and_ping_each_other_and_the_gateway() {
    if !require_root_and_tools() {
        return;
    }
    let net = Net::new("ping", 1);
    let (a, b) = (Netns::new("pa"), Netns::new("pb"));
    let ra = ok(&cni("ADD", "ping-a", &a.path(), "eth0", &net.conf));
    let rb = ok(&cni("ADD", "ping-b", &b.path(), "eth0", &net.conf));
    let (ipa, ipb) = (first_ip(&ra), first_ip(&rb));
    assert!(ipa.starts_with(&net.prefix) && ipb.starts_with(&net.prefix));
    assert_ne!(ipa, ipb);
    assert_eq!(ra["cniVersion"], "1.1.0");
    assert_eq!(ra["ips"][0]["interface"], 2);
    assert_eq!(ra["interfaces"][2]["sandbox"], a.path());
    // The result's MACs are the links' MACs.
    let host = ra["interfaces"][1]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let out = std::process::Command::new("ip")
        .args(["link", "show", &host])
        .output();
    let shown = out
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    assert!(
        shown.contains(ra["interfaces"][1]["mac"].as_str().unwrap_or("?")),
        "{shown}"
    );
    let inside =
        String::from_utf8_lossy(&a.exec(&["ip", "link", "show", "eth0"]).stdout).to_string();
    assert!(
        inside.contains(ra["interfaces"][2]["mac"].as_str().unwrap_or("?")),
        "{inside}"
    );
    let gw = format!("{}.1", net.prefix);
    assert!(ping(&a, &ipb), "a cannot ping b");
    assert!(ping(&b, &ipa), "b cannot ping a");
    assert!(ping(&a, &gw), "a cannot ping the gateway");
    // Loopback is up inside.
    assert!(ping(&a, "127.0.0.1"));
    ok(&cni("DEL", "ping-a", &a.path(), "eth0", &net.conf));
    ok(&cni("DEL", "ping-b", &b.path(), "eth0", &net.conf));
}

#[test]
fn del_removes_the_veth_and_the_lease_and_succeeds_twice() {
    if !require_root_and_tools() {
        return;
    }
    let net = Net::new("del", 2);
    let ns = Netns::new("del");
    ok(&cni("ADD", "del-1", &ns.path(), "eth0", &net.conf));
    assert_eq!(net.leases().len(), 1);
    assert_eq!(ports_of(&net.bridge).len(), 1);
    ok(&cni("DEL", "del-1", &ns.path(), "eth0", &net.conf));
    assert!(net.leases().is_empty(), "lease left: {:?}", net.leases());
    assert!(ports_of(&net.bridge).is_empty());
    assert!(!ns.exec(&["ip", "link", "show", "eth0"]).status.success());
    ok(&cni("DEL", "del-1", &ns.path(), "eth0", &net.conf));
    // The runtime may also call DEL without a netns.
    ok(&cni("DEL", "del-1", "", "eth0", &net.conf));
}

#[test]
fn del_after_the_netns_was_deleted_succeeds_and_frees_the_lease() {
    if !require_root_and_tools() {
        return;
    }
    let net = Net::new("gone", 3);
    let ns = Netns::new("gone");
    ok(&cni("ADD", "gone-1", &ns.path(), "eth0", &net.conf));
    let path = ns.path();
    ns.delete();
    ok(&cni("DEL", "gone-1", &path, "eth0", &net.conf));
    assert!(net.leases().is_empty());
    assert!(ports_of(&net.bridge).is_empty());
}

#[test]
fn add_with_an_existing_ifname_fails_and_leaves_nothing() {
    if !require_root_and_tools() {
        return;
    }
    let net = Net::new("dup", 4);
    let ns = Netns::new("dup");
    ok(&cni("ADD", "dup-1", &ns.path(), "eth0", &net.conf));
    let e = err(&cni("ADD", "dup-2", &ns.path(), "eth0", &net.conf), 100);
    assert!(
        e["msg"]
            .as_str()
            .unwrap_or_default()
            .contains("already exists"),
        "{e}"
    );
    assert_eq!(net.leases().len(), 1);
    assert_eq!(ports_of(&net.bridge).len(), 1);
    ok(&cni("DEL", "dup-1", &ns.path(), "eth0", &net.conf));
}

#[test]
fn check_passes_after_add_and_fails_once_the_address_is_removed() {
    if !require_root_and_tools() {
        return;
    }
    let mut net = Net::new("chk", 5);
    net.conf["ipMasq"] = true.into();
    net.conf["isDefaultGateway"] = true.into();
    let ns = Netns::new("chk");
    let res = ok(&cni("ADD", "chk-1", &ns.path(), "eth0", &net.conf));
    let mut conf = net.conf.clone();
    conf["prevResult"] = res.clone();
    ok(&cni("CHECK", "chk-1", &ns.path(), "eth0", &conf));
    let addr = res["ips"][0]["address"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let out = ns.exec(&["ip", "addr", "del", &addr, "dev", "eth0"]);
    assert!(out.status.success());
    let e = err(&cni("CHECK", "chk-1", &ns.path(), "eth0", &conf), 103);
    assert!(
        e["details"].as_str().unwrap_or_default().contains(&addr),
        "{e}"
    );
    ok(&cni("DEL", "chk-1", &ns.path(), "eth0", &conf));
    // After DEL there is nothing left to check.
    err(&cni("CHECK", "chk-1", &ns.path(), "eth0", &conf), 103);
}

#[test]
fn dual_stack_mac_and_requested_ip_are_honoured() {
    if !require_root_and_tools() {
        return;
    }
    let mut net = Net::new("ds", 6);
    net.conf["ipam"]["ranges"] = serde_json::json!([
        [{"subnet": format!("{}.0/24", net.prefix)}],
        [{"subnet": "fd00:123:6::/64"}]
    ]);
    net.conf["runtimeConfig"] = serde_json::json!({
        "ips": [format!("{}.77/24", net.prefix)],
        "mac": "02:42:ac:11:00:77"
    });
    net.conf["mtu"] = 1400.into();
    net.conf["hairpinMode"] = true.into();
    net.conf["promiscMode"] = true.into();
    let ns = Netns::new("ds");
    let res = ok(&cni("ADD", "ds-1", &ns.path(), "eth0", &net.conf));
    assert_eq!(res["ips"][0]["address"], format!("{}.77/24", net.prefix));
    assert!(
        res["ips"][1]["address"]
            .as_str()
            .unwrap_or_default()
            .starts_with("fd00:123:6::")
    );
    assert_eq!(res["interfaces"][2]["mac"], "02:42:ac:11:00:77");
    assert!(ping(&ns, "fd00:123:6::1"), "no IPv6 to the gateway");
    let eth0 =
        String::from_utf8_lossy(&ns.exec(&["ip", "link", "show", "eth0"]).stdout).to_string();
    assert!(eth0.contains("mtu 1400"), "{eth0}");
    let host = res["interfaces"][1]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let out = std::process::Command::new("ip")
        .args(["-d", "link", "show", &host])
        .output();
    let detail = out
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    assert!(
        detail.contains("hairpin on") && detail.contains("mtu 1400"),
        "{detail}"
    );
    let out = std::process::Command::new("ip")
        .args(["link", "show", &net.bridge])
        .output();
    let br = out
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    assert!(br.contains("PROMISC"), "{br}");
    ok(&cni("DEL", "ds-1", &ns.path(), "eth0", &net.conf));
    assert!(net.leases().is_empty());
}

#[test]
fn a_foreign_bridge_address_is_an_error_unless_force_address() {
    if !require_root_and_tools() {
        return;
    }
    let mut net = Net::new("fa", 7);
    let ns = Netns::new("fa");
    let ip = |args: &[&str]| {
        std::process::Command::new("ip")
            .args(args)
            .status()
            .is_ok_and(|s| s.success())
    };
    assert!(ip(&["link", "add", &net.bridge, "type", "bridge"]));
    let foreign = format!("{}.200/24", net.prefix);
    assert!(ip(&["addr", "add", &foreign, "dev", &net.bridge]));
    let e = err(&cni("ADD", "fa-1", &ns.path(), "eth0", &net.conf), 7);
    assert!(
        e["details"]
            .as_str()
            .unwrap_or_default()
            .contains("forceAddress"),
        "{e}"
    );
    assert!(net.leases().is_empty() && ports_of(&net.bridge).is_empty());
    net.conf["forceAddress"] = true.into();
    ok(&cni("ADD", "fa-1", &ns.path(), "eth0", &net.conf));
    let out = std::process::Command::new("ip")
        .args(["-4", "addr", "show", &net.bridge])
        .output();
    let addrs = out
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    assert!(
        addrs.contains(&format!("{}.1/24", net.prefix)) && !addrs.contains(&foreign),
        "{addrs}"
    );
    ok(&cni("DEL", "fa-1", &ns.path(), "eth0", &net.conf));
}
