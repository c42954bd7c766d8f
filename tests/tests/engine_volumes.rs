//! `berth run -v` and `berth volume` end to end, as root, on berth-runtime with a temp
//! store (the library-level tests are engine/tests/volumes.rs): named volumes keep data
//! across containers, binds show the host's files (read-only when asked), a new volume
//! starts with the image's content, `rm -v` takes anonymous volumes and keeps named ones.
//! Containers use `--network none`: volumes are what is tested.

use std::path::Path;

use berth_tests::engine::Engine;
use berth_tests::require_root;
use serde_json::Value;

fn volume_names(e: &Engine) -> Vec<String> {
    let mut v: Vec<String> = e
        .ok(&["volume", "ls", "-q"])
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn a_named_volume_keeps_its_data_across_containers() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "data:/data",
        "busybox",
        "sh",
        "-c",
        "echo persisted > /data/f",
    ]);
    let out = e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "data:/data",
        "busybox",
        "cat",
        "/data/f",
    ]);
    assert_eq!(out, "persisted\n");
    let ls = e.ok(&["volume", "ls"]);
    assert_eq!(ls, "DRIVER    VOLUME NAME\nlocal     data\n");
    let doc: Value = serde_json::from_str(&e.ok(&["volume", "inspect", "data"])).expect("json");
    let mountpoint = e.root().join("volumes/data/_data");
    assert_eq!(doc[0]["Mountpoint"], mountpoint.display().to_string());
    assert_eq!(
        std::fs::read_to_string(mountpoint.join("f")).expect("f"),
        "persisted\n"
    );
    assert_eq!(e.ok(&["volume", "rm", "data"]), "data\n");
    assert!(volume_names(&e).is_empty());
}

#[test]
fn a_bind_mount_shows_the_hosts_files_and_ro_refuses_writes() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let host = tempfile::tempdir().expect("tempdir");
    std::fs::write(host.path().join("from-host"), "hello from the host\n").expect("write");
    let rw = format!("{}:/mnt", host.path().display());
    let out = e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &rw,
        "busybox",
        "sh",
        "-c",
        "cat /mnt/from-host; echo back > /mnt/from-container",
    ]);
    assert_eq!(out, "hello from the host\n");
    assert_eq!(
        std::fs::read_to_string(host.path().join("from-container")).expect("read"),
        "back\n"
    );
    let ro = format!("{}:/mnt:ro", host.path().display());
    let out = e.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &ro,
        "busybox",
        "sh",
        "-c",
        "echo x > /mnt/new",
    ]);
    assert!(
        !out.status.success(),
        "a write through a read-only bind succeeded"
    );
    assert!(!host.path().join("new").exists());
    // Binds are not volumes.
    assert!(volume_names(&e).is_empty());
}

#[test]
fn a_new_volume_starts_with_the_images_content_at_its_path() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let out = e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "etc:/etc",
        "busybox",
        "sh",
        "-c",
        "grep -c root /etc/passwd; ls /etc",
    ]);
    assert!(out.starts_with("1\n"), "{out}");
    let data = e.root().join("volumes/etc/_data");
    let image_passwd = berth_tests::busybox_fixture().join("rootfs/etc/passwd");
    assert_eq!(
        std::fs::read(data.join("passwd")).expect("volume passwd"),
        std::fs::read(image_passwd).expect("image passwd")
    );
    // Filled once: what a container changes stays.
    e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "etc:/etc",
        "busybox",
        "rm",
        "/etc/group",
    ]);
    e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "etc:/etc",
        "busybox",
        "true",
    ]);
    assert!(!data.join("group").exists());
    assert!(!Path::new(&data).join("../.copyup").exists());
}

#[test]
fn rm_v_takes_the_anonymous_volumes_and_keeps_the_named_ones() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    e.ok(&[
        "run",
        "--name",
        "c1",
        "--network",
        "none",
        "-v",
        "/anon",
        "-v",
        "keep:/keep",
        "busybox",
        "sh",
        "-c",
        "echo a > /anon/f; echo k > /keep/f",
    ]);
    let vols = volume_names(&e);
    assert_eq!(vols.len(), 2, "{vols:?}");
    let anon = vols
        .iter()
        .find(|v| v.len() == 64)
        .expect("an anonymous volume")
        .clone();
    // In use by c1 (exited, not removed): refused, as docker does.
    let rm = e.run(&["volume", "rm", "keep"]);
    assert!(!rm.status.success());
    assert!(
        String::from_utf8_lossy(&rm.stderr).contains("volume is in use"),
        "{rm:?}"
    );
    e.ok(&["rm", "-v", "c1"]);
    assert_eq!(volume_names(&e), ["keep"]);
    assert!(!e.root().join("volumes").join(&anon).exists());
    assert_eq!(
        std::fs::read_to_string(e.root().join("volumes/keep/_data/f")).expect("kept"),
        "k\n"
    );
    // Without -v the anonymous volume stays, for volume prune.
    e.ok(&[
        "run",
        "--name",
        "c2",
        "--network",
        "none",
        "-v",
        "/anon2",
        "busybox",
        "true",
    ]);
    e.ok(&["rm", "c2"]);
    assert_eq!(volume_names(&e).len(), 2);
    let pruned = e.ok(&["volume", "prune", "-f"]);
    assert!(pruned.starts_with("Deleted Volumes:\n"), "{pruned}");
    assert!(pruned.contains("Total reclaimed space:"), "{pruned}");
    assert_eq!(volume_names(&e), ["keep"]);
}

#[test]
fn restart_keeps_the_anonymous_volume_and_rm_v_takes_it() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let script = "echo run >> /data/f; cat /data/f";
    e.ok(&[
        "run",
        "--name",
        "keeper",
        "--network",
        "none",
        "-v",
        "/data",
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    let first = volume_names(&e);
    assert_eq!(first.len(), 1, "{first:?}");
    e.ok(&["restart", "keeper"]);
    assert_eq!(e.ok(&["wait", "keeper"]), "0\n");
    // Docker's behaviour: the same volume, its content kept, no second one made.
    assert_eq!(volume_names(&e), first);
    assert_eq!(e.ok(&["logs", "keeper"]), "run\nrun\nrun\n");
    assert_eq!(
        std::fs::read_to_string(e.root().join("volumes").join(&first[0]).join("_data/f"))
            .expect("the volume's file"),
        "run\nrun\n"
    );
    e.ok(&["rm", "-v", "keeper"]);
    assert!(volume_names(&e).is_empty());
    assert!(!e.root().join("volumes").join(&first[0]).exists());
}
