//! A real client: podman with its CNI backend runs a container on a berth-cni
//! network and the container gets its address from berth.
//!
//! Needs podman and runc (Debian packages). Set BERTH_TEST_SKIP_PODMAN=1 to
//! skip on a machine without them; CI installs them.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

/// podman with its own storage and config under a tempdir.
struct Podman<'a> {
    dir: &'a Path,
}

impl Podman<'_> {
    fn run(&self, args: &[&str]) -> Output {
        let d = self.dir;
        let out = Command::new("podman")
            .env("CONTAINERS_CONF", d.join("containers.conf"))
            .arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("runroot"))
            .args(["--storage-driver", "vfs"])
            .args(args)
            .output();
        match out {
            Ok(o) => o,
            Err(e) => panic!("running podman {args:?}: {e}"),
        }
    }
}

impl Drop for Podman<'_> {
    fn drop(&mut self) {
        // Containers are run with --rm; this catches a test that failed
        // half way. The tempdir holding the storage goes with the test.
        let _ = self.run(&["rm", "-af", "-t", "0"]);
    }
}

/// A rootfs tarball holding busybox and its applet links.
fn busybox_tarball(dir: &Path) -> std::path::PathBuf {
    let rootfs = dir.join("rootfs");
    let bin = rootfs.join("bin");
    assert!(std::fs::create_dir_all(&bin).is_ok());
    assert!(std::fs::copy("/bin/busybox", bin.join("busybox")).is_ok());
    let list = Command::new("/bin/busybox").arg("--list").output();
    let list = list
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    for applet in list.lines().filter(|a| *a != "busybox" && !a.is_empty()) {
        let _ = std::os::unix::fs::symlink("busybox", bin.join(applet));
    }
    let tar = dir.join("rootfs.tar");
    let ok = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "building the busybox tarball");
    tar
}

#[test]
fn podman_runs_a_container_that_gets_its_address_from_berth() {
    if !require_root_and_tools() {
        return;
    }
    if Command::new("podman").arg("--version").output().is_err() {
        if std::env::var("BERTH_TEST_SKIP_PODMAN").as_deref() == Ok("1") {
            eprintln!("skipping: podman not installed (BERTH_TEST_SKIP_PODMAN=1)");
            return;
        }
        panic!(
            "podman is not installed: apt-get install -y podman runc (or BERTH_TEST_SKIP_PODMAN=1)"
        );
    }
    let net = Net::new("pod", 60);
    let dir = net.data.path().join("podman");
    let plugins = dir.join("plugins");
    let netd = dir.join("net.d");
    assert!(std::fs::create_dir_all(&plugins).is_ok() && std::fs::create_dir_all(&netd).is_ok());
    assert!(std::os::unix::fs::symlink(PLUGIN, plugins.join("berth-cni")).is_ok());
    // crun refuses this host's hybrid cgroup layout; runc copes.
    let runtime = if Path::new("/usr/sbin/runc").exists() {
        "runc"
    } else {
        "crun"
    };
    let conf = format!(
        "[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nruntime = \"{runtime}\"\n\
         [network]\nnetwork_backend = \"cni\"\ncni_plugin_dirs = [{:?}]\nnetwork_config_dir = {:?}\n",
        plugins.display().to_string(),
        netd.display().to_string()
    );
    assert!(std::fs::write(dir.join("containers.conf"), conf).is_ok());
    let mut plugin = net.conf.clone();
    if let Some(o) = plugin.as_object_mut() {
        o.remove("cniVersion");
        o.remove("name");
    }
    // Without the capability podman would not pass `-p` to the plugin.
    plugin["capabilities"] = serde_json::json!({"portMappings": true});
    let conflist = serde_json::json!({
        "cniVersion": "1.0.0",
        "name": net.name,
        "plugins": [plugin],
    });
    assert!(std::fs::write(netd.join("berth.conflist"), conflist.to_string()).is_ok());

    let podman = Podman { dir: &dir };
    let tar = busybox_tarball(&dir);
    let out = podman.run(&[
        "import",
        "--change",
        "ENV PATH=/bin",
        &tar.to_string_lossy(),
        "localhost/berth-busybox:test",
    ]);
    assert!(
        out.status.success(),
        "podman import: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = podman.run(&[
        "run",
        "--rm",
        "--network",
        &net.name,
        "--ulimit",
        "nofile=20000:20000",
        "--ulimit",
        "nproc=32768:32768",
        "localhost/berth-busybox:test",
        "ip",
        "-4",
        "addr",
        "show",
        "eth0",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "podman run: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("inet {}.", net.prefix)),
        "no berth address in {stdout}"
    );
    // --rm made podman call DEL: the lease and the veth are gone.
    assert!(net.leases().is_empty(), "leases left: {:?}", net.leases());
    assert!(ports_of(&net.bridge).is_empty());

    // A published port (podman passes `-p` as runtimeConfig.portMappings),
    // reached from another namespace through the gateway address.
    let host_port = 40000 + (std::process::id() % 20000) as u16;
    let publish = format!("{host_port}:8080");
    let out = podman.run(&[
        "run",
        "-d",
        "--network",
        &net.name,
        "-p",
        &publish,
        "--ulimit",
        "nofile=20000:20000",
        "--ulimit",
        "nproc=32768:32768",
        "localhost/berth-busybox:test",
        "nc",
        "-ll",
        "-p",
        "8080",
        "-e",
        "echo",
        "through-podman-port",
    ]);
    assert!(
        out.status.success(),
        "podman run -d: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let client = Netns::new("podc");
    ok(&cni("ADD", "pod-client", &client.path(), "eth0", &net.conf));
    let gw = format!("{}.1", net.prefix);
    let port = host_port.to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut got = String::new();
    while std::time::Instant::now() < deadline && !got.contains("through-podman-port") {
        let out = client.exec(&["/bin/busybox", "nc", "-w", "2", &gw, &port]);
        got = String::from_utf8_lossy(&out.stdout).to_string();
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(got.contains("through-podman-port"), "got {got:?}");
    ok(&cni("DEL", "pod-client", &client.path(), "eth0", &net.conf));
    let out = podman.run(&["rm", "-f", "-t", "0", &id]);
    assert!(
        out.status.success(),
        "podman rm: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(net.leases().is_empty(), "leases left: {:?}", net.leases());
    assert!(ports_of(&net.bridge).is_empty());
    let _ = podman.run(&["rmi", "-f", "localhost/berth-busybox:test"]);
}
