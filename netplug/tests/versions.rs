//! VERSION and results in the version the runtime asked for.

mod common;

use common::*;
use serde_json::json;

#[test]
fn version_lists_the_supported_versions() {
    let out = cni_raw(&[("CNI_COMMAND", "VERSION")], br#"{"cniVersion":"1.0.0"}"#);
    let v = ok(&out);
    assert_eq!(v["cniVersion"], "1.0.0");
    assert_eq!(v["supportedVersions"], json!(["0.4.0", "1.0.0", "1.1.0"]));
}

#[test]
fn add_answers_in_0_4_0_1_0_0_and_1_1_0() {
    if !require_root_and_tools() {
        return;
    }
    let mut net = Net::new("ver", 40);
    for (i, version) in ["0.4.0", "1.0.0", "1.1.0"].iter().enumerate() {
        net.conf["cniVersion"] = (*version).into();
        let ns = Netns::new(&format!("v{i}"));
        let id = format!("ver-{i}");
        let res = ok(&cni("ADD", &id, &ns.path(), "eth0", &net.conf));
        assert_eq!(res["cniVersion"], *version);
        let has_version = res["ips"][0].get("version").is_some();
        assert_eq!(has_version, *version == "0.4.0", "{res}");
        let mut conf = net.conf.clone();
        conf["prevResult"] = res;
        ok(&cni("CHECK", &id, &ns.path(), "eth0", &conf));
        ok(&cni("DEL", &id, &ns.path(), "eth0", &net.conf));
    }
}

#[test]
fn an_unknown_version_is_refused_with_code_1() {
    if !require_root_and_tools() {
        return;
    }
    let mut net = Net::new("unk", 41);
    net.conf["cniVersion"] = "0.3.1".into();
    let ns = Netns::new("unk");
    let e = err(&cni("ADD", "unk-1", &ns.path(), "eth0", &net.conf), 1);
    assert!(e["details"].as_str().unwrap_or_default().contains("0.3.1"));
    assert!(net.leases().is_empty());
}
