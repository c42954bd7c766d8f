//! Many plugin processes at once, and a network that runs out of addresses.

mod common;

use std::collections::HashSet;

use common::*;

#[test]
fn two_hundred_concurrent_adds_get_distinct_addresses() {
    if !require_root_and_tools() {
        return;
    }
    const N: usize = 200;
    let net = Net::new("many", 10);
    let nss: Vec<Netns> = (0..N).map(|i| Netns::new(&format!("m{i}-"))).collect();
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = nss
            .iter()
            .enumerate()
            .map(|(i, ns)| {
                let conf = &net.conf;
                s.spawn(move || cni("ADD", &format!("many-{i}"), &ns.path(), "eth0", conf))
            })
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    let mut ips = HashSet::new();
    for r in &results {
        let Ok(out) = r else {
            panic!("thread panicked")
        };
        ips.insert(first_ip(&ok(out)));
    }
    assert_eq!(ips.len(), N, "addresses are not distinct");
    assert_eq!(net.leases().len(), N);
    std::thread::scope(|s| {
        for (i, ns) in nss.iter().enumerate() {
            let conf = &net.conf;
            s.spawn(move || ok(&cni("DEL", &format!("many-{i}"), &ns.path(), "eth0", conf)));
        }
    });
    assert!(net.leases().is_empty());
    assert!(ports_of(&net.bridge).is_empty());
}

#[test]
fn range_exhaustion_gives_a_clear_error_and_no_leftovers() {
    if !require_root_and_tools() {
        return;
    }
    let mut net = Net::new("full", 11);
    net.conf["ipam"]["ranges"][0][0]["rangeStart"] = format!("{}.10", net.prefix).into();
    net.conf["ipam"]["ranges"][0][0]["rangeEnd"] = format!("{}.11", net.prefix).into();
    let ns = Netns::new("full");
    ok(&cni("ADD", "full-1", &ns.path(), "eth0", &net.conf));
    ok(&cni("ADD", "full-2", &ns.path(), "eth1", &net.conf));
    let e = err(&cni("ADD", "full-3", &ns.path(), "eth2", &net.conf), 101);
    assert!(
        e["msg"]
            .as_str()
            .unwrap_or_default()
            .contains("no IP addresses available"),
        "{e}"
    );
    assert_eq!(net.leases().len(), 2);
    assert_eq!(ports_of(&net.bridge).len(), 2);
    assert!(!ns.exec(&["ip", "link", "show", "eth2"]).status.success());
    ok(&cni("DEL", "full-1", &ns.path(), "eth0", &net.conf));
    ok(&cni("DEL", "full-2", &ns.path(), "eth1", &net.conf));
}
