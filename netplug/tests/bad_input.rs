//! Bad input: the spec's error object and code, no panic, nothing left behind.

mod common;

use common::*;

fn assert_nothing_left(net: &Net, ns: &Netns) {
    assert!(net.leases().is_empty(), "leases left: {:?}", net.leases());
    assert!(ports_of(&net.bridge).is_empty());
    assert!(!ns.exec(&["ip", "link", "show", "eth0"]).status.success());
}

#[test]
fn invalid_json_is_code_6() {
    let out = cni_raw(
        &[
            ("CNI_COMMAND", "ADD"),
            ("CNI_CONTAINERID", "bad-json"),
            ("CNI_NETNS", "/var/run/netns/none"),
            ("CNI_IFNAME", "eth0"),
            ("CNI_PATH", "/usr/lib/cni"),
        ],
        b"{not json",
    );
    err(&out, 6);
}

#[test]
fn missing_environment_variables_are_code_4() {
    err(&cni_raw(&[], b"{}"), 4);
    let conf =
        br#"{"cniVersion":"1.1.0","name":"x","type":"berth-cni","ipam":{"subnet":"10.9.9.0/24"}}"#;
    let e = err(
        &cni_raw(&[("CNI_COMMAND", "ADD"), ("CNI_CONTAINERID", "c")], conf),
        4,
    );
    assert!(
        e["details"]
            .as_str()
            .unwrap_or_default()
            .contains("CNI_NETNS"),
        "{e}"
    );
    err(&cni_raw(&[("CNI_COMMAND", "FROB")], conf), 4);
}

#[test]
fn a_subnet_that_does_not_parse_is_code_7() {
    if !require_root_and_tools() {
        return;
    }
    let mut net = Net::new("sub", 50);
    net.conf["ipam"]["ranges"] = serde_json::json!([[{"subnet": "10.123.300.0/24"}]]);
    let ns = Netns::new("sub");
    let e = err(&cni("ADD", "sub-1", &ns.path(), "eth0", &net.conf), 7);
    assert!(
        e["details"]
            .as_str()
            .unwrap_or_default()
            .contains("10.123.300.0/24"),
        "{e}"
    );
    assert_nothing_left(&net, &ns);
    assert!(!link_exists(&net.bridge));
}

#[test]
fn a_netns_path_that_is_not_a_netns_is_code_4_and_a_missing_one_code_3() {
    if !require_root_and_tools() {
        return;
    }
    let net = Net::new("nns", 51);
    let ns = Netns::new("nns");
    let file = net.data.path().join("not-a-netns");
    assert!(std::fs::write(&file, "").is_ok());
    let e = err(
        &cni("ADD", "nns-1", &file.to_string_lossy(), "eth0", &net.conf),
        4,
    );
    assert!(
        e["details"]
            .as_str()
            .unwrap_or_default()
            .contains("CNI_NETNS"),
        "{e}"
    );
    // A namespace, but not a network one.
    err(
        &cni("ADD", "nns-1", "/proc/self/ns/mnt", "eth0", &net.conf),
        4,
    );
    err(
        &cni(
            "ADD",
            "nns-1",
            "/var/run/netns/berth-does-not-exist",
            "eth0",
            &net.conf,
        ),
        3,
    );
    assert_nothing_left(&net, &ns);
}

#[test]
fn hostile_container_ids_are_refused() {
    let conf =
        br#"{"cniVersion":"1.1.0","name":"x","type":"berth-cni","ipam":{"subnet":"10.9.9.0/24"}}"#;
    let out = cni_raw(
        &[
            ("CNI_COMMAND", "DEL"),
            ("CNI_CONTAINERID", "../../etc"),
            ("CNI_IFNAME", "eth0"),
            ("CNI_PATH", "/usr/lib/cni"),
        ],
        conf,
    );
    err(&out, 4);
}
