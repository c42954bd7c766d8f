//! Port mappings and masquerade through nftables.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// Kills the listener if the test fails half way.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_host_port_reaches_nc_in_one_netns_from_another() {
    if !require_root_and_tools() {
        return;
    }
    let mut net = Net::new("pm", 20);
    net.conf["ipMasq"] = true.into();
    let server = Netns::new("pms");
    let client = Netns::new("pmc");
    let mut server_conf = net.conf.clone();
    let host_port = 20000 + (std::process::id() % 20000) as u16;
    let gw = format!("{}.1", net.prefix);
    // One mapping on every host address, one on the gateway address only.
    server_conf["runtimeConfig"] = json!({
        "portMappings": [
            {"hostPort": host_port, "containerPort": 8080, "protocol": "tcp"},
            {"hostPort": host_port + 1, "containerPort": 8080, "protocol": "tcp", "hostIP": gw},
        ]
    });
    ok(&cni(
        "ADD",
        "pm-server",
        &server.path(),
        "eth0",
        &server_conf,
    ));
    ok(&cni("ADD", "pm-client", &client.path(), "eth0", &net.conf));
    let _listener = match Command::new("ip")
        .args([
            "netns",
            "exec",
            &server.name,
            "/bin/busybox",
            "nc",
            "-ll",
            "-p",
            "8080",
            "-e",
            "echo",
            "hello-through-the-host-port",
        ])
        .stdout(Stdio::null())
        .spawn()
    {
        Ok(c) => Child(c),
        Err(e) => panic!("starting nc: {e}"),
    };
    for port in [host_port, host_port + 1] {
        let port = port.to_string();
        // Retry until the listener is up (bounded: 5 s).
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut got = String::new();
        while Instant::now() < deadline {
            let out = client.exec(&["/bin/busybox", "nc", "-w", "2", &gw, &port]);
            got = String::from_utf8_lossy(&out.stdout).to_string();
            if got.contains("hello") {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            got.contains("hello-through-the-host-port"),
            "port {port}: got {got:?}"
        );
    }
    // A second container cannot take the same host port.
    let other = Netns::new("pmo");
    err(
        &cni("ADD", "pm-other", &other.path(), "eth0", &server_conf),
        102,
    );
    assert_eq!(net.leases().len(), 2);

    ok(&cni(
        "DEL",
        "pm-server",
        &server.path(),
        "eth0",
        &server_conf,
    ));
    let table = berth_netplug::nft::table_name(&net.name);
    let port = host_port.to_string();
    let listing = Command::new("nft")
        .args(["list", "table", "inet", &table])
        .output();
    let listing = listing
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    assert!(
        !listing.contains(&format!("tcp . {port} :")),
        "mapping left after DEL: {listing}"
    );
    ok(&cni("DEL", "pm-client", &client.path(), "eth0", &net.conf));
}
