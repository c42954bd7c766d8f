//! ipMasq: a container reaches a namespace outside its network only through
//! masquerade, since that "outside" has no route back to the container subnet.

mod common;

use std::process::{Command, Stdio};

use common::*;

/// A host-side link, deleted on drop.
struct Link(String);

impl Drop for Link {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).status();
    }
}

/// Kills the listener if the test fails half way.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ip(args: &[&str]) {
    let ok = Command::new("ip")
        .args(args)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ip {args:?} failed");
}

#[test]
fn masquerade_lets_a_container_reach_a_host_that_cannot_route_back() {
    if !require_root_and_tools() {
        return;
    }
    let mut net = Net::new("mq", 80);
    net.conf["ipMasq"] = true.into();
    net.conf["isDefaultGateway"] = true.into();
    // The "outside": its own netns on a host link, 10.123.81.0/24, and no
    // route to the container subnet.
    let outside = Netns::new("mqo");
    let host_end = Link(unique("bmq", "o"));
    ip(&[
        "link",
        "add",
        &host_end.0,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        &outside.name,
    ]);
    ip(&["addr", "add", "10.123.81.1/24", "dev", &host_end.0]);
    ip(&["link", "set", &host_end.0, "up"]);
    for args in [
        &["ip", "addr", "add", "10.123.81.2/24", "dev", "eth0"][..],
        &["ip", "link", "set", "eth0", "up"],
        &["ip", "link", "set", "lo", "up"],
    ] {
        assert!(outside.exec(args).status.success(), "{args:?}");
    }
    let _listener = match Command::new("ip")
        .args([
            "netns",
            "exec",
            &outside.name,
            "/bin/busybox",
            "nc",
            "-ll",
            "-p",
            "9000",
            "-e",
            "echo",
            "masq-ok",
        ])
        .stdout(Stdio::null())
        .spawn()
    {
        Ok(c) => Child(c),
        Err(e) => panic!("starting nc: {e}"),
    };
    let connect = |ns: &Netns| {
        // Bounded: a few tries of 2 s each while the listener starts.
        for _ in 0..10 {
            let out = ns.exec(&["/bin/busybox", "nc", "-w", "2", "10.123.81.2", "9000"]);
            if String::from_utf8_lossy(&out.stdout).contains("masq-ok") {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        false
    };

    let masked = Netns::new("mqm");
    ok(&cni("ADD", "mq-masked", &masked.path(), "eth0", &net.conf));
    assert!(connect(&masked), "masqueraded container got no answer");

    // Same network, ipMasq off for this one: its address is not in the
    // masquerade set, the outside cannot answer.
    let mut plain_conf = net.conf.clone();
    plain_conf["ipMasq"] = false.into();
    let plain = Netns::new("mqp");
    ok(&cni("ADD", "mq-plain", &plain.path(), "eth0", &plain_conf));
    let out = plain.exec(&["/bin/busybox", "nc", "-w", "2", "10.123.81.2", "9000"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("masq-ok"));

    ok(&cni("DEL", "mq-masked", &masked.path(), "eth0", &net.conf));
    ok(&cni("DEL", "mq-plain", &plain.path(), "eth0", &plain_conf));
}
