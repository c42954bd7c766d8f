//! The engine's way in: ADD, CHECK and DEL called in process.

mod common;

use berth_netplug::{Command, Invocation, Outcome, run};
use common::*;

fn invocation(command: Command, id: &str, netns: &str) -> Invocation {
    Invocation {
        command,
        container_id: id.into(),
        netns: netns.into(),
        ifname: "eth0".into(),
        args: Vec::new(),
        path: Vec::new(),
    }
}

#[test]
fn add_check_and_del_work_in_process() {
    if !require_root_and_tools() {
        return;
    }
    let net = Net::new("lib", 70);
    let ns = Netns::new("lib");
    let stdin = net.conf.to_string();
    let own_netns = || std::fs::read_link("/proc/thread-self/ns/net").ok();
    let before = own_netns();
    let result = match run(
        &invocation(Command::Add, "lib-1", &ns.path()),
        stdin.as_bytes(),
    ) {
        Ok(Outcome::Print(v)) => v,
        other => panic!("ADD: {other:?}"),
    };
    assert!(first_ip(&result).starts_with(&net.prefix));
    // The calling thread is back in its own namespace.
    assert_eq!(own_netns(), before);
    assert!(ping(&ns, &format!("{}.1", net.prefix)));
    let mut conf = net.conf.clone();
    conf["prevResult"] = result;
    let check = run(
        &invocation(Command::Check, "lib-1", &ns.path()),
        conf.to_string().as_bytes(),
    );
    assert!(matches!(check, Ok(Outcome::Silent)), "{check:?}");
    // The library deletes synchronously: the veth is gone when DEL returns.
    let del = run(
        &invocation(Command::Del, "lib-1", &ns.path()),
        stdin.as_bytes(),
    );
    assert!(matches!(del, Ok(Outcome::Silent)), "{del:?}");
    assert!(ports_of(&net.bridge).is_empty());
    assert!(net.leases().is_empty());
    // Errors come back typed, with their CNI code.
    let e = run(
        &invocation(Command::Add, "lib-2", "/nonexistent/netns"),
        stdin.as_bytes(),
    )
    .err();
    assert_eq!(e.map(|e| e.code().as_u32()), Some(3));
}
