//! deploy/cni/10-berth.conflist is one berth-cni accepts: its plugin entry, passed as a
//! runtime passes it (with `cniVersion`, `name` and the `portMappings` its capabilities
//! ask for), adds and deletes a container's network in a real netns.

mod common;

use common::*;
use serde_json::{Value, json};

fn deploy_conflist() -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/cni/10-berth.conflist");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

#[test]
fn deploy_conflist_adds_and_deletes_with_port_mappings() {
    if !require_root_and_tools() {
        return;
    }
    let list = deploy_conflist();
    let plugins = list["plugins"].as_array().expect("plugins is a list");
    assert_eq!(
        plugins.len(),
        1,
        "one plugin: berth-cni does port mappings itself"
    );
    let mut conf = plugins[0].clone();
    assert_eq!(conf["type"], "berth-cni");
    assert_eq!(
        conf["capabilities"]["portMappings"], true,
        "the runtime passes port mappings only for this capability"
    );
    // The host-wide names are the test's own (bridge, network and so nftables table,
    // subnet, lease dir), so nothing of a real berth network on this host is touched;
    // every other key is the file's.
    let net = Net::new("dep", 98);
    conf["cniVersion"] = list["cniVersion"].clone();
    conf["name"] = net.conf["name"].clone();
    conf["bridge"] = net.conf["bridge"].clone();
    conf["ipam"]["ranges"] = net.conf["ipam"]["ranges"].clone();
    conf["ipam"]["dataDir"] = net.conf["ipam"]["dataDir"].clone();
    let host_port = 20000 + (std::process::id() % 20000) as u16;
    conf["runtimeConfig"] = json!({
        "portMappings": [{"hostPort": host_port, "containerPort": 80, "protocol": "tcp"}]
    });
    let ns = Netns::new("dep");

    let result = ok(&cni("ADD", "deploy-1", &ns.path(), "eth0", &conf));
    let ip = first_ip(&result);
    assert!(
        ip.starts_with(&format!("{}.", net.prefix)),
        "address {ip} in {result}"
    );
    let addr = ns.exec(&["ip", "-o", "-4", "addr", "show", "eth0"]);
    assert!(
        String::from_utf8_lossy(&addr.stdout).contains(&ip),
        "eth0 in the netns has {ip}: {}",
        String::from_utf8_lossy(&addr.stdout)
    );
    let table = std::process::Command::new("nft")
        .args([
            "list",
            "table",
            "inet",
            &berth_netplug::nft::table_name(&net.name),
        ])
        .output()
        .expect("running nft");
    let rules = String::from_utf8_lossy(&table.stdout);
    // The mapping's element, not just the number: names in the table carry the
    // test's pid, which the port is derived from.
    let element = format!("tcp . {host_port} : {ip} . 80");
    assert!(
        rules.contains(&element),
        "port {host_port} -> {ip}:80 in the network's table: {rules}"
    );

    ok(&cni("DEL", "deploy-1", &ns.path(), "eth0", &conf));
    assert!(
        net.leases().is_empty(),
        "leases after DEL: {:?}",
        net.leases()
    );
    let table = std::process::Command::new("nft")
        .args([
            "list",
            "table",
            "inet",
            &berth_netplug::nft::table_name(&net.name),
        ])
        .output()
        .expect("running nft");
    let rules = String::from_utf8_lossy(&table.stdout);
    assert!(
        !rules.contains(&format!(". {host_port} :")),
        "port mapping left after DEL: {rules}"
    );
}
