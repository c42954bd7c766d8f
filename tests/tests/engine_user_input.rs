//! What a user types that ends up in the store or in a container's files, end to end
//! through `berth`: a hostname that is not one RFC 1123 name is refused at create (it
//! would add lines to /etc/hosts, or fail late in sethostname(2)); a name or id that no
//! object can have (`..`, `.`, `a/b`) is "no such ...", never a path in the store.

use berth_tests::engine::Engine;
use berth_tests::require_root;

#[test]
fn a_hostname_that_is_not_one_name_is_refused_at_create() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let long = "a".repeat(70);
    for bad in [
        "a\n10.9.9.9 evil.example",
        long.as_str(),
        "a b",
        "-x",
        "a..b",
    ] {
        for verb in ["create", "run"] {
            let out = e.run(&[
                verb,
                "--network",
                "none",
                &format!("--hostname={bad}"),
                "busybox",
                "true",
            ]);
            assert_eq!(out.status.code(), Some(125), "{verb} {bad:?}: {out:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("invalid hostname"), "{verb} {bad:?}: {err}");
        }
    }
    assert!(e.all_ids().is_empty(), "a refused create left a container");
    // The longest the kernel takes, and a dotted name, reach the process and /etc/hosts.
    let max = format!("{}.{}", "a".repeat(31), "b".repeat(32));
    for good in [max.as_str(), "web-1.example"] {
        let out = e.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--hostname",
            good,
            "busybox",
            "sh",
            "-c",
            "hostname; grep -c \"$(hostname)\" /etc/hosts; wc -l < /etc/hosts",
        ]);
        assert_eq!(out, format!("{good}\n1\n7\n"), "{good}");
    }
}

#[test]
fn a_name_no_object_can_have_is_not_found_rather_than_a_store_path() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    // A named container, a volume and a network: the store's names/, volumes/ and
    // networks/ directories exist, so `..` or `.` joined to them is a directory.
    e.ok(&[
        "create",
        "--name",
        "web",
        "--network",
        "none",
        "busybox",
        "true",
    ]);
    e.ok(&["volume", "create", "vol"]);
    for bad in ["..", ".", "web/..", "../containers"] {
        for verb in [
            &["inspect", "--type", "container", bad][..],
            &["logs", bad],
            &["start", bad],
            &["rm", bad],
            &["rename", bad, "other"],
            &["exec", bad, "true"],
            &["volume", "inspect", bad],
            &["volume", "rm", bad],
            &["network", "inspect", bad],
            &["rmi", bad],
        ] {
            let out = e.run(verb);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{verb:?}: {err}");
            assert!(
                err.contains("no such") || err.contains("not found"),
                "{verb:?}: {err}"
            );
        }
    }
    assert_eq!(e.all_ids().len(), 1);
    e.ok(&["inspect", "web"]);
}
