//! One attachment per (container id, ifname) on a network: a second ADD of
//! the name into another namespace is refused and the first is left intact;
//! leftovers of an attachment that no longer lives are recovered; nothing of
//! another attachment is ever removed because a name matched.

mod common;

use std::process::Command;

use common::*;

fn lease_owner(net: &Net, ip: &str) -> String {
    std::fs::read_to_string(net.lease_dir().join(ip)).unwrap_or_default()
}

fn record(net: &Net, container: &str, ifname: &str) -> Option<serde_json::Value> {
    let p = berth_netplug::attachment::record_path(&net.lease_dir(), container, ifname);
    let body = std::fs::read(p).ok()?;
    serde_json::from_slice(&body).ok()
}

/// Turns the record of `container`/`ifname` into what builds up to
/// 2026-11-30 wrote: no netns, kept at `<container>_<ifname>.json`.
/// Returns that file's path.
fn make_old_record(net: &Net, container: &str, ifname: &str) -> std::path::PathBuf {
    let current = berth_netplug::attachment::record_path(&net.lease_dir(), container, ifname);
    let Some(mut rec) = record(net, container, ifname) else {
        panic!("no record of {container}/{ifname}")
    };
    if let Some(fields) = rec.as_object_mut() {
        fields.remove("netns");
        fields.remove("netnsId");
    }
    let old = net
        .lease_dir()
        .join("attachments")
        .join(format!("{container}_{ifname}.json"));
    assert!(std::fs::write(&old, rec.to_string()).is_ok());
    assert!(std::fs::remove_file(current).is_ok());
    old
}

fn masq_has(net: &Net, ip: &str) -> bool {
    let table = berth_netplug::nft::table_name(&net.name);
    Command::new("nft")
        .args([
            "get",
            "element",
            "inet",
            &table,
            "masq4",
            &format!("{{ {ip} }}"),
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn addr_in(ns: &Netns, ip: &str) -> bool {
    String::from_utf8_lossy(&ns.exec(&["ip", "-4", "-o", "addr", "show", "eth0"]).stdout)
        .contains(&format!("{ip}/24"))
}

#[test]
fn second_add_into_another_netns_is_refused_and_the_first_stays_intact() {
    if !require_root_and_tools() {
        return;
    }
    let mut net = Net::new("nc", 90);
    net.conf["ipMasq"] = true.into();
    let (a, b) = (Netns::new("nca"), Netns::new("ncb"));
    let res = ok(&cni("ADD", "nc-1", &a.path(), "eth0", &net.conf));
    let ip = first_ip(&res);
    let host = res["interfaces"][1]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let gw = format!("{}.1", net.prefix);
    let intact = |when: &str| {
        assert!(link_exists(&host), "{when}: host veth {host} gone");
        assert_eq!(ports_of(&net.bridge), vec![host.clone()], "{when}");
        assert_eq!(net.leases(), vec![ip.clone()], "{when}");
        assert_eq!(lease_owner(&net, &ip), "nc-1\r\neth0", "{when}");
        assert!(addr_in(&a, &ip), "{when}: {ip} gone from eth0 in A");
        assert!(ping(&a, &gw), "{when}: A cannot ping the gateway");
        assert!(
            masq_has(&net, &ip),
            "{when}: masquerade element of {ip} gone"
        );
        let rec = record(&net, "nc-1", "eth0");
        assert_eq!(
            rec.as_ref().map(|r| r["netns"].clone()),
            Some(a.path().into()),
            "{when}: {rec:?}"
        );
    };
    intact("after ADD");

    let e = err(&cni("ADD", "nc-1", &b.path(), "eth0", &net.conf), 104);
    let details = e["details"].as_str().unwrap_or_default();
    assert!(
        details.contains(&a.path()) && details.contains("duplicate attachment"),
        "{e}"
    );
    intact("after the refused ADD");
    assert!(!b.exec(&["ip", "link", "show", "eth0"]).status.success());

    // The runtime cleans up its failed ADD with a DEL for B.
    ok(&cni("DEL", "nc-1", &b.path(), "eth0", &net.conf));
    intact("after DEL for B");
    // CHECK for A still passes; for B it fails.
    let mut conf = net.conf.clone();
    conf["prevResult"] = res;
    ok(&cni("CHECK", "nc-1", &a.path(), "eth0", &conf));
    err(&cni("CHECK", "nc-1", &b.path(), "eth0", &conf), 103);

    ok(&cni("DEL", "nc-1", &a.path(), "eth0", &net.conf));
    assert!(net.leases().is_empty() && ports_of(&net.bridge).is_empty());
    assert!(!masq_has(&net, &ip));
    assert!(record(&net, "nc-1", "eth0").is_none());
}

#[test]
fn concurrent_adds_of_one_name_into_two_netns_let_exactly_one_win() {
    if !require_root_and_tools() {
        return;
    }
    let net = Net::new("ncr", 91);
    for round in 0..5 {
        let (a, b) = (Netns::new("nra"), Netns::new("nrb"));
        let id = format!("ncr-{round}");
        let (ra, rb) = std::thread::scope(|s| {
            let ha = s.spawn(|| cni("ADD", &id, &a.path(), "eth0", &net.conf));
            let hb = s.spawn(|| cni("ADD", &id, &b.path(), "eth0", &net.conf));
            (ha.join(), hb.join())
        });
        let (Ok(ra), Ok(rb)) = (ra, rb) else {
            panic!("thread panicked")
        };
        let (winner, loser, lost) = match (ra.status.success(), rb.status.success()) {
            (true, false) => (&a, &b, &rb),
            (false, true) => (&b, &a, &ra),
            other => panic!(
                "round {round}: want exactly one success, got {other:?}: {} / {}",
                String::from_utf8_lossy(&ra.stdout),
                String::from_utf8_lossy(&rb.stdout)
            ),
        };
        err(lost, 104);
        assert_eq!(net.leases().len(), 1, "round {round}");
        assert_eq!(ports_of(&net.bridge).len(), 1, "round {round}");
        assert!(
            winner
                .exec(&["ip", "link", "show", "eth0"])
                .status
                .success()
        );
        assert!(!loser.exec(&["ip", "link", "show", "eth0"]).status.success());
        ok(&cni("DEL", &id, &loser.path(), "eth0", &net.conf));
        assert_eq!(net.leases().len(), 1, "round {round}: DEL of the loser");
        ok(&cni("DEL", &id, &winner.path(), "eth0", &net.conf));
        assert!(net.leases().is_empty(), "round {round}");
    }
}

#[test]
fn add_after_the_first_netns_was_deleted_recovers_its_lease_and_elements() {
    if !require_root_and_tools() {
        return;
    }
    let mut net = Net::new("ncs", 92);
    net.conf["ipMasq"] = true.into();
    let (a, b) = (Netns::new("nsa"), Netns::new("nsb"));
    let old_ip = first_ip(&ok(&cni("ADD", "ncs-1", &a.path(), "eth0", &net.conf)));
    // The container dies without a DEL: its namespace (and veth pair) go.
    a.delete();
    // The kernel destroys a namespace (and its veth pairs) in the background.
    let gone = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !ports_of(&net.bridge).is_empty() && std::time::Instant::now() < gone {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        ports_of(&net.bridge).is_empty(),
        "the pair outlived its netns"
    );
    let new_ip = first_ip(&ok(&cni("ADD", "ncs-1", &b.path(), "eth0", &net.conf)));
    assert_ne!(old_ip, new_ip);
    assert_eq!(net.leases(), vec![new_ip.clone()], "the stale lease stayed");
    assert!(
        !masq_has(&net, &old_ip),
        "the stale masquerade element stayed"
    );
    assert!(masq_has(&net, &new_ip));
    assert!(addr_in(&b, &new_ip));
    let rec = record(&net, "ncs-1", "eth0");
    assert_eq!(rec.map(|r| r["netns"].clone()), Some(b.path().into()));
    ok(&cni("DEL", "ncs-1", &b.path(), "eth0", &net.conf));
    assert!(net.leases().is_empty() && ports_of(&net.bridge).is_empty());
}

#[test]
fn add_right_after_the_first_netns_was_deleted_never_trips_over_its_dying_pair() {
    if !require_root_and_tools() {
        return;
    }
    // Right after `ip netns del` the kernel may still be destroying the
    // namespace: the old pair is listed with its peer's nsid unknown (-1).
    // That pair is no one's: ADD removes it instead of failing on its name.
    let net = Net::new("ncy", 96);
    let b = Netns::new("nyb");
    for round in 0..10 {
        let id = format!("ncy-{round}");
        let a = Netns::new("nya");
        ok(&cni("ADD", &id, &a.path(), "eth0", &net.conf));
        a.delete();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let out = cni("ADD", &id, &b.path(), "eth0", &net.conf);
            if out.status.success() {
                break;
            }
            // Only a namespace that still lived may refuse it, and only
            // for a moment.
            err(&out, 104);
            assert!(std::time::Instant::now() < deadline, "round {round}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(
            net.leases().len(),
            1,
            "round {round}: the stale lease stayed"
        );
        assert_eq!(ports_of(&net.bridge).len(), 1, "round {round}");
        assert!(b.exec(&["ip", "link", "show", "eth0"]).status.success());
        ok(&cni("DEL", &id, &b.path(), "eth0", &net.conf));
        assert!(net.leases().is_empty(), "round {round}");
    }
}

#[test]
fn add_again_into_the_same_netns_replaces_what_a_broken_attachment_left() {
    if !require_root_and_tools() {
        return;
    }
    let net = Net::new("ncd", 93);
    let ns = Netns::new("ncd");
    let first = first_ip(&ok(&cni("ADD", "ncd-1", &ns.path(), "eth0", &net.conf)));
    // While eth0 is there, a repeated ADD is refused and changes nothing.
    err(&cni("ADD", "ncd-1", &ns.path(), "eth0", &net.conf), 100);
    assert_eq!(net.leases(), vec![first.clone()]);
    assert_eq!(ports_of(&net.bridge).len(), 1);
    // eth0 removed inside the container (the pair goes with it): the lease
    // and record are left, as after an ADD that crashed half way.
    assert!(ns.exec(&["ip", "link", "del", "eth0"]).status.success());
    let again = first_ip(&ok(&cni("ADD", "ncd-1", &ns.path(), "eth0", &net.conf)));
    assert_eq!(net.leases(), vec![again.clone()], "the old lease was kept");
    assert_eq!(ports_of(&net.bridge).len(), 1);
    assert!(ping(&ns, &format!("{}.1", net.prefix)));
    ok(&cni("DEL", "ncd-1", &ns.path(), "eth0", &net.conf));
    assert!(net.leases().is_empty());
}

#[test]
fn a_claim_left_before_its_addresses_were_recorded_is_recovered_by_lease_owner() {
    if !require_root_and_tools() {
        return;
    }
    let net = Net::new("ncc", 94);
    let ns = Netns::new("ncc");
    // What an ADD that crashed right after leasing leaves: a claim without
    // addresses, for a namespace that is gone, and a lease owned by its name.
    let dir = net.lease_dir();
    assert!(std::fs::create_dir_all(dir.join("attachments")).is_ok());
    let gone = format!("/var/run/netns/{}-gone", ns.name);
    let rec = serde_json::json!({
        "containerID": "ncc-1", "ifname": "eth0",
        "hostVeth": berth_netplug::veth::host_name("ncc-1", "eth0"),
        "bridge": net.bridge, "ips": [], "ipMasq": false, "portMappings": [],
        "netns": gone, "netnsId": {"dev": 4, "ino": 1}
    });
    assert!(
        std::fs::write(
            berth_netplug::attachment::record_path(&dir, "ncc-1", "eth0"),
            rec.to_string()
        )
        .is_ok()
    );
    let stale = format!("{}.50", net.prefix);
    assert!(std::fs::write(dir.join(&stale), "ncc-1\r\neth0").is_ok());
    let ip = first_ip(&ok(&cni("ADD", "ncc-1", &ns.path(), "eth0", &net.conf)));
    assert_eq!(net.leases(), vec![ip], "the stale lease {stale} stayed");
    ok(&cni("DEL", "ncc-1", &ns.path(), "eth0", &net.conf));
    assert!(net.leases().is_empty());
}

#[test]
fn a_host_link_with_the_derived_name_whose_peer_is_elsewhere_is_left_alone() {
    if !require_root_and_tools() {
        return;
    }
    let net = Net::new("nch", 95);
    let (ns, other) = (Netns::new("nch"), Netns::new("nco"));
    let host = berth_netplug::veth::host_name("nch-1", "eth0");
    // Someone else's veth pair under the name ADD would derive, its peer in
    // another namespace, and no record of ours.
    let made = Command::new("ip")
        .args(["link", "add", &host, "type", "veth", "peer", "name", "x0"])
        .args(["netns", &other.name])
        .status()
        .is_ok_and(|s| s.success());
    assert!(made);
    struct DelLink(String);
    impl Drop for DelLink {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["link", "del", &self.0]).status();
        }
    }
    let _cleanup = DelLink(host.clone());
    let e = err(&cni("ADD", "nch-1", &ns.path(), "eth0", &net.conf), 102);
    assert!(
        e["details"].as_str().unwrap_or_default().contains(&host),
        "{e}"
    );
    assert!(link_exists(&host), "the foreign link was deleted");
    assert!(other.exec(&["ip", "link", "show", "x0"]).status.success());
    assert!(net.leases().is_empty(), "a failed ADD left a lease");
    assert!(record(&net, "nch-1", "eth0").is_none());
    // DEL without a record does not take it either.
    ok(&cni("DEL", "nch-1", &ns.path(), "eth0", &net.conf));
    assert!(link_exists(&host), "DEL deleted the foreign link");
}

#[test]
fn del_for_another_netns_still_recovers_a_stale_attachment() {
    if !require_root_and_tools() {
        return;
    }
    let mut net = Net::new("ncl", 97);
    net.conf["ipMasq"] = true.into();
    let (a, b) = (Netns::new("nla"), Netns::new("nlb"));
    let ip = first_ip(&ok(&cni("ADD", "ncl-1", &a.path(), "eth0", &net.conf)));
    a.delete();
    let gone = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !ports_of(&net.bridge).is_empty() && std::time::Instant::now() < gone {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Nothing of the recorded attachment lives: a DEL of its name, even
    // for another netns, removes what it left.
    ok(&cni("DEL", "ncl-1", &b.path(), "eth0", &net.conf));
    assert!(net.leases().is_empty(), "lease of {ip} left");
    assert!(!masq_has(&net, &ip));
    assert!(record(&net, "ncl-1", "eth0").is_none());
}

#[test]
fn attachments_whose_names_joined_alike_both_work_and_del_of_one_leaves_the_other() {
    if !require_root_and_tools() {
        return;
    }
    // (ncu_e, x0) and (ncu, e_x0) joined with '_' are both "ncu_e_x0": they
    // once shared one record, so the second ADD found the first's.
    let mut net = Net::new("ncu", 99);
    net.conf["ipMasq"] = true.into();
    let (a, b) = (Netns::new("nua"), Netns::new("nub"));
    let ip_a = first_ip(&ok(&cni("ADD", "ncu_e", &a.path(), "x0", &net.conf)));
    let ip_b = first_ip(&ok(&cni("ADD", "ncu", &b.path(), "e_x0", &net.conf)));
    let gw = format!("{}.1", net.prefix);
    let host_a = berth_netplug::veth::host_name("ncu_e", "x0");
    assert_eq!(ports_of(&net.bridge).len(), 2);
    assert_eq!(lease_owner(&net, &ip_a), "ncu_e\r\nx0");
    assert_eq!(lease_owner(&net, &ip_b), "ncu\r\ne_x0");
    let rec_a = record(&net, "ncu_e", "x0");
    assert_eq!(rec_a.map(|r| r["netns"].clone()), Some(a.path().into()));
    let rec_b = record(&net, "ncu", "e_x0");
    assert_eq!(rec_b.map(|r| r["netns"].clone()), Some(b.path().into()));
    assert!(ping(&b, &gw));

    ok(&cni("DEL", "ncu", &b.path(), "e_x0", &net.conf));
    assert!(record(&net, "ncu", "e_x0").is_none());
    assert!(!masq_has(&net, &ip_b));
    // A's attachment is untouched.
    assert_eq!(ports_of(&net.bridge), vec![host_a.clone()]);
    assert_eq!(net.leases(), vec![ip_a.clone()]);
    assert!(masq_has(&net, &ip_a));
    assert!(record(&net, "ncu_e", "x0").is_some());
    let in_a = a.exec(&["ip", "-4", "-o", "addr", "show", "x0"]);
    assert!(String::from_utf8_lossy(&in_a.stdout).contains(&format!("{ip_a}/24")));
    assert!(ping(&a, &gw), "A lost its network with B's DEL");

    ok(&cni("DEL", "ncu_e", &a.path(), "x0", &net.conf));
    assert!(net.leases().is_empty() && ports_of(&net.bridge).is_empty());
}

#[test]
fn an_attachment_recorded_before_its_netns_was_kept_is_the_same_one_in_its_own_netns() {
    if !require_root_and_tools() {
        return;
    }
    let net = Net::new("nco", 100);
    let ns = Netns::new("noa");
    let first = first_ip(&ok(&cni("ADD", "nco-1", &ns.path(), "eth0", &net.conf)));
    let old = make_old_record(&net, "nco-1", "eth0");
    // The container renamed its end: the pair lives, eth0 is free again,
    // and the runtime adds eth0 anew.
    let renamed = ns.exec(&["ip", "link", "set", "eth0", "name", "eth9"]);
    assert!(renamed.status.success());
    let again = first_ip(&ok(&cni("ADD", "nco-1", &ns.path(), "eth0", &net.conf)));
    // What the old record named was replaced, not kept beside the new one.
    assert_eq!(
        net.leases(),
        vec![again.clone()],
        "the lease of {first} stayed"
    );
    assert_eq!(ports_of(&net.bridge).len(), 1);
    assert!(!ns.exec(&["ip", "link", "show", "eth9"]).status.success());
    assert!(ping(&ns, &format!("{}.1", net.prefix)));
    assert!(!old.exists(), "the old-named record stayed");
    let rec = record(&net, "nco-1", "eth0");
    assert_eq!(rec.map(|r| r["netns"].clone()), Some(ns.path().into()));
    ok(&cni("DEL", "nco-1", &ns.path(), "eth0", &net.conf));
    assert!(net.leases().is_empty() && ports_of(&net.bridge).is_empty());
}

#[test]
fn an_attachment_recorded_before_its_netns_was_kept_survives_add_and_del_from_another_netns() {
    if !require_root_and_tools() {
        return;
    }
    let mut net = Net::new("ncv", 101);
    net.conf["ipMasq"] = true.into();
    let (a, b) = (Netns::new("nva"), Netns::new("nvb"));
    let res = ok(&cni("ADD", "ncv-1", &a.path(), "eth0", &net.conf));
    let ip = first_ip(&res);
    let old = make_old_record(&net, "ncv-1", "eth0");
    let host = berth_netplug::veth::host_name("ncv-1", "eth0");
    let intact = |when: &str| {
        assert_eq!(ports_of(&net.bridge), vec![host.clone()], "{when}");
        assert_eq!(net.leases(), vec![ip.clone()], "{when}");
        assert!(masq_has(&net, &ip), "{when}: masquerade element gone");
        assert!(addr_in(&a, &ip), "{when}: {ip} gone from eth0 in A");
        assert!(old.exists(), "{when}: the old record was removed");
    };
    err(&cni("ADD", "ncv-1", &b.path(), "eth0", &net.conf), 104);
    intact("after the refused ADD");
    ok(&cni("DEL", "ncv-1", &b.path(), "eth0", &net.conf));
    intact("after DEL for B");
    let mut conf = net.conf.clone();
    conf["prevResult"] = res;
    ok(&cni("CHECK", "ncv-1", &a.path(), "eth0", &conf));
    err(&cni("CHECK", "ncv-1", &b.path(), "eth0", &conf), 103);
    ok(&cni("DEL", "ncv-1", &a.path(), "eth0", &net.conf));
    assert!(net.leases().is_empty() && ports_of(&net.bridge).is_empty());
    assert!(!masq_has(&net, &ip));
    assert!(!old.exists(), "DEL left the old-named record");
}
