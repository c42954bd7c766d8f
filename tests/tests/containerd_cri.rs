//! The Kubernetes node path without a kubelet: containerd's CRI plugin with a runtime
//! handler `berth` (the runc shim with BinaryName = berth-runtime) and berth-cni as the
//! pod network, driven over containerd's socket by a CRI client (k8s-cri, tonic), the
//! calls a kubelet makes for two pods: sandbox, container, exec, status, stats, stop,
//! remove. The pods reach each other; nothing is left afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use berth_tests::containerd::Containerd;
use berth_tests::{bin, busybox_fixture, repo_root, require_root};
use hyper_util::rt::TokioIo;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::*;
use tonic::transport::{Channel, Endpoint, Uri};

const BUSYBOX: &str = "docker.io/library/berth-busybox:test";
const PAUSE: &str = "docker.io/library/berth-pause:test";

/// What this test's pods share: names unique to the test process, so parallel or
/// leftover runs never meet.
struct Net {
    /// The CNI network name (and berth-cni's nftables table `berth_<name>`).
    name: String,
    bridge: String,
    subnet_prefix: String,
    ipam_dir: PathBuf,
}

impl Net {
    fn new(dir: &Path) -> Self {
        let pid = std::process::id();
        Net {
            name: format!("berth-cri-{pid}"),
            // IFNAMSIZ: 15 characters at most.
            bridge: format!("bcri{}", pid % 100_000),
            subnet_prefix: format!("10.89.{}.", 10 + pid % 200),
            ipam_dir: dir.join("cni-ipam"),
        }
    }

    /// The CNI config dir and plugin dir containerd is pointed at: berth-cni, and the
    /// reference loopback plugin the CRI plugin always runs for the pod's `lo`.
    fn write(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let conf_dir = dir.join("cni-conf");
        let bin_dir = dir.join("cni-bin");
        std::fs::create_dir_all(&conf_dir).expect("cni conf dir");
        std::fs::create_dir_all(&bin_dir).expect("cni bin dir");
        std::os::unix::fs::symlink(bin("berth-cni"), bin_dir.join("berth-cni"))
            .expect("linking berth-cni");
        let loopback = Path::new("/usr/lib/cni/loopback");
        assert!(
            loopback.is_file(),
            "{} missing: containernetworking-plugins (scripts/install-deps.sh)",
            loopback.display()
        );
        std::os::unix::fs::symlink(loopback, bin_dir.join("loopback")).expect("linking loopback");
        // containerd 1.6's libcni speaks CNI up to 1.0.0.
        let conflist = serde_json::json!({
            "cniVersion": "1.0.0",
            "name": self.name,
            "plugins": [{
                "type": "berth-cni",
                "bridge": self.bridge,
                "isGateway": true,
                "ipMasq": false,
                "ipam": {
                    "type": "berth-ipam",
                    "ranges": [[{"subnet": format!("{}0/24", self.subnet_prefix)}]],
                    "dataDir": self.ipam_dir,
                }
            }]
        });
        std::fs::write(
            conf_dir.join("10-berth.conflist"),
            serde_json::to_vec_pretty(&conflist).expect("JSON"),
        )
        .expect("writing the conflist");
        (conf_dir, bin_dir)
    }

    /// Host ends of veths still on the bridge.
    fn bridge_ports(&self) -> String {
        let out = Command::new("ip")
            .args(["-o", "link", "show", "master", &self.bridge])
            .output()
            .expect("ip link");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Lease and attachment files berth-cni keeps under its data dir.
    fn records(&self) -> Vec<PathBuf> {
        let mut left = Vec::new();
        let mut dirs = vec![self.ipam_dir.clone()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                let name = e.file_name().to_string_lossy().into_owned();
                if p.is_dir() {
                    dirs.push(p);
                } else if name != "lock" && !name.starts_with("last_reserved_ip") {
                    left.push(p);
                }
            }
        }
        left
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        // berth-cni leaves the bridge and the network's nftables table for the next pod,
        // as the reference bridge plugin does; they are the test's to remove.
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .output();
        let _ = Command::new("nft")
            .args(["delete", "table", "inet", &format!("berth_{}", self.name)])
            .output();
    }
}

fn cri_config(dir: &Path, net: &Net) -> String {
    let (conf_dir, bin_dir) = net.write(dir);
    format!(
        r#"
[plugins."io.containerd.grpc.v1.cri"]
  disable_apparmor = true
  enable_selinux = false
  sandbox_image = "{PAUSE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  netns_mounts_under_state_dir = true
  # The sandbox asks for oom_score_adj -998; lowering it needs CAP_SYS_RESOURCE, which
  # this machine's root lacks (runc fails the same way): containerd clamps it to its own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{bin_dir}"
    conf_dir = "{conf_dir}"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    # A table of runtimes replaces the default one (runc): berth is the only handler.
    default_runtime_name = "berth"
{handler}
"#,
        bin_dir = bin_dir.display(),
        conf_dir = conf_dir.display(),
        handler = berth_handler(dir),
    )
}

/// The `berth` runtime handler exactly as deploy/ ships it (the file users install), with
/// the built binary in place of the installed one and the test's own state root.
fn berth_handler(dir: &Path) -> String {
    let snippet = repo_root().join("deploy/containerd/berth-runtime.toml");
    let text = std::fs::read_to_string(&snippet).expect("deploy/containerd/berth-runtime.toml");
    let installed = "BinaryName = \"/usr/local/bin/berth-runtime\"";
    assert!(
        text.contains(installed),
        "{} names no {installed}",
        snippet.display()
    );
    text.lines()
        // the test's config says `version = 2` once, at its top
        .filter(|line| line.trim() != "version = 2")
        .collect::<Vec<_>>()
        .join("\n")
        .replace(
            installed,
            &format!(
                "BinaryName = \"{}\"\n    Root = \"{}\"",
                bin("berth-runtime").display(),
                runtime_root(dir).display()
            ),
        )
}

/// berth-runtime's state root, given to the shim as its `Root` option.
fn runtime_root(dir: &Path) -> PathBuf {
    dir.join("berth-state")
}

async fn connect(socket: PathBuf) -> Channel {
    Endpoint::try_from("http://[::]")
        .expect("endpoint")
        // A wedged containerd fails the test instead of hanging it.
        .timeout(Duration::from_secs(60))
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            async move {
                Ok::<_, std::io::Error>(TokioIo::new(
                    tokio::net::UnixStream::connect(socket).await?,
                ))
            }
        }))
        .await
        .expect("connecting to containerd's socket")
}

/// Polls `f` every 100 ms until it says true (returns true) or `limit` passes (false).
async fn wait_for<F: std::future::Future<Output = bool>>(
    limit: Duration,
    mut f: impl FnMut() -> F,
) -> bool {
    let deadline = Instant::now() + limit;
    while !f().await {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    true
}

/// Where the shim points berth-runtime's `--root`: its `Root` option plus the namespace.
fn runtime_state_dir(dir: &Path) -> PathBuf {
    runtime_root(dir).join("k8s.io")
}

/// `berth-runtime state` of a container the shim created: proof it ran on berth.
fn berth_state(dir: &Path, id: &str) -> serde_json::Value {
    let out = Command::new(bin("berth-runtime"))
        .arg("--root")
        .arg(runtime_state_dir(dir))
        .args(["state", id])
        .output()
        .expect("berth-runtime state");
    assert!(
        out.status.success(),
        "berth-runtime state {id}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("state JSON")
}

/// The pods' cgroup parents `/berth/<tag>/<pod>`: made by berth-runtime for the first
/// container of each pod (a kubelet makes them itself) and removed here on drop, as a
/// kubelet does when the pod is gone, also when the test failed half way.
struct PodCgroups {
    tag: String,
}

impl Drop for PodCgroups {
    fn drop(&mut self) {
        for p in cgroups_below(&self.tag) {
            let _ = std::fs::remove_dir(p);
        }
        for h in std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = std::fs::remove_dir(h.path().join("berth").join(&self.tag));
        }
    }
}

/// Every cgroup directory below `/berth/<tag>` on any hierarchy, deepest first.
fn cgroups_below(tag: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for h in std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
    {
        let mut dirs = vec![h.path().join("berth").join(tag)];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    dirs.push(e.path());
                    found.push(e.path());
                }
            }
        }
    }
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found
}

struct Pod {
    id: String,
    config: PodSandboxConfig,
    ip: String,
}

async fn run_pod(rt: &mut RuntimeServiceClient<Channel>, dir: &Path, tag: &str, name: &str) -> Pod {
    let config = PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.to_owned(),
            uid: format!("{tag}-{name}"),
            namespace: "berth-test".to_owned(),
            attempt: 0,
        }),
        hostname: name.to_owned(),
        log_directory: dir.join("logs").join(name).display().to_string(),
        linux: Some(LinuxPodSandboxConfig {
            // A kubelet with the cgroupfs driver puts each pod under a parent of its own.
            cgroup_parent: format!("/berth/{tag}/{name}"),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = rt
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: "berth".to_owned(),
        })
        .await
        .unwrap_or_else(|e| panic!("RunPodSandbox {name}: {e}"))
        .into_inner()
        .pod_sandbox_id;
    let status = rt
        .pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: id.clone(),
            verbose: false,
        })
        .await
        .expect("PodSandboxStatus")
        .into_inner()
        .status
        .expect("sandbox status");
    assert_eq!(
        status.state,
        PodSandboxState::SandboxReady as i32,
        "{status:?}"
    );
    let ip = status.network.map(|n| n.ip).unwrap_or_default();
    Pod { id, config, ip }
}

async fn run_container(
    rt: &mut RuntimeServiceClient<Channel>,
    pod: &Pod,
    name: &str,
    script: &str,
) -> String {
    let id = rt
        .create_container(CreateContainerRequest {
            pod_sandbox_id: pod.id.clone(),
            config: Some(ContainerConfig {
                metadata: Some(ContainerMetadata {
                    name: name.to_owned(),
                    attempt: 0,
                }),
                image: Some(ImageSpec {
                    image: BUSYBOX.to_owned(),
                    ..Default::default()
                }),
                command: vec!["sh".into(), "-c".into(), script.into()],
                log_path: format!("{name}.log"),
                ..Default::default()
            }),
            sandbox_config: Some(pod.config.clone()),
        })
        .await
        .unwrap_or_else(|e| panic!("CreateContainer {name}: {e}"))
        .into_inner()
        .container_id;
    rt.start_container(StartContainerRequest {
        container_id: id.clone(),
    })
    .await
    .unwrap_or_else(|e| panic!("StartContainer {name}: {e}"));
    id
}

async fn container_status(rt: &mut RuntimeServiceClient<Channel>, id: &str) -> ContainerStatus {
    rt.container_status(ContainerStatusRequest {
        container_id: id.to_owned(),
        verbose: false,
    })
    .await
    .expect("ContainerStatus")
    .into_inner()
    .status
    .expect("container status")
}

async fn exec(rt: &mut RuntimeServiceClient<Channel>, id: &str, cmd: &[&str]) -> ExecSyncResponse {
    rt.exec_sync(ExecSyncRequest {
        container_id: id.to_owned(),
        cmd: cmd.iter().map(|s| s.to_string()).collect(),
        timeout: 10,
    })
    .await
    .unwrap_or_else(|e| panic!("ExecSync {cmd:?}: {e}"))
    .into_inner()
}

/// Stops a container with `timeout` seconds of grace; returns how long it took.
async fn stop(rt: &mut RuntimeServiceClient<Channel>, id: &str, timeout: i64) -> Duration {
    let t = Instant::now();
    rt.stop_container(StopContainerRequest {
        container_id: id.to_owned(),
        timeout,
    })
    .await
    .expect("StopContainer");
    t.elapsed()
}

fn read_u64(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .trim()
        .parse()
        .expect("a number")
}

#[tokio::test(flavor = "current_thread")]
async fn kubelet_calls_run_two_pods_on_berth_that_reach_each_other_and_leave_nothing() {
    if !require_root() {
        return;
    }
    let tag = format!("berth-cri-{}", std::process::id());
    let net_dir = tempfile::Builder::new()
        .prefix("berth-cri-net-")
        .tempdir_in("/run")
        .expect("tempdir");
    let net = Net::new(net_dir.path());
    // Dropped after containerd (declared before it), once its tasks are gone.
    let _cgroups = PodCgroups { tag: tag.clone() };
    let c = Containerd::start("k8s.io", |d| cri_config(d, &net));
    let dir = c.dir.path().to_owned();
    c.import(&busybox_fixture().join("oci-image.tar"));
    c.import(&busybox_fixture().join("pause-image.tar"));

    let channel = connect(c.socket()).await;
    let mut rt = RuntimeServiceClient::new(channel.clone());
    let images = ImageServiceClient::new(channel);
    // The CRI plugin learns of imported images from containerd's events: wait for both,
    // and for the runtime and the network (it has read the conflist) to be ready.
    for image in [BUSYBOX, PAUSE] {
        let seen = wait_for(Duration::from_secs(10), || {
            let req = ImageStatusRequest {
                image: Some(ImageSpec {
                    image: image.to_owned(),
                    ..Default::default()
                }),
                verbose: false,
            };
            let mut images = images.clone();
            async move {
                images
                    .image_status(req)
                    .await
                    .is_ok_and(|r| r.into_inner().image.is_some())
            }
        })
        .await;
        assert!(seen, "the CRI plugin never listed {image}: {}", c.log());
    }
    let status = rt
        .status(StatusRequest { verbose: false })
        .await
        .expect("Status")
        .into_inner()
        .status
        .expect("runtime status");
    assert!(
        status.conditions.iter().all(|c| c.status),
        "runtime not ready: {:?}",
        status.conditions
    );

    // Pod A: its sandbox (the pause image) runs on berth and gets an address from berth-cni.
    let a = run_pod(&mut rt, &dir, &tag, "pod-a").await;
    assert!(
        a.ip.starts_with(&net.subnet_prefix),
        "pod-a's address {:?} is not from {}0/24",
        a.ip,
        net.subnet_prefix
    );
    let state = berth_state(&dir, &a.id);
    assert_eq!(state["status"], "running", "sandbox on berth: {state}");

    // A container that exits 7 on SIGTERM: a graceful stop.
    let box_a = run_container(
        &mut rt,
        &a,
        "box",
        "echo started; trap 'exit 7' TERM; while :; do sleep 1; done",
    )
    .await;
    let s = container_status(&mut rt, &box_a).await;
    assert_eq!(s.state, ContainerState::ContainerRunning as i32, "{s:?}");
    let state = berth_state(&dir, &box_a);
    assert_eq!(state["status"], "running", "container on berth: {state}");
    let pid = state["pid"].as_i64().expect("pid in berth's state");
    assert!(
        std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p.ends_with("busybox")),
        "berth's pid {pid} is not the busybox container"
    );

    // ExecSync: output and exit code through the shim and berth-runtime exec, in the
    // pod's network namespace (the sandbox's eth0 address).
    let r = exec(
        &mut rt,
        &box_a,
        &["sh", "-c", "echo out; echo err >&2; exit 3"],
    )
    .await;
    assert_eq!(
        (r.stdout.as_slice(), r.stderr.as_slice(), r.exit_code),
        (&b"out\n"[..], &b"err\n"[..], 3)
    );
    let r = exec(&mut rt, &box_a, &["ip", "-o", "-4", "addr", "show", "eth0"]).await;
    let addrs = String::from_utf8_lossy(&r.stdout);
    assert!(
        addrs.contains(&format!("inet {}/24", a.ip)),
        "eth0 in pod-a: {addrs}"
    );

    // ContainerStats: the shim reads the cgroup berth made under the pod's parent.
    let stats = rt
        .container_stats(ContainerStatsRequest {
            container_id: box_a.clone(),
        })
        .await
        .expect("ContainerStats")
        .into_inner()
        .stats
        .expect("stats");
    let cg = format!("berth/{tag}/pod-a/{box_a}");
    let cpu = stats
        .cpu
        .and_then(|c| c.usage_core_nano_seconds)
        .expect("cpu usage")
        .value;
    let cpu_after = read_u64(
        &Path::new("/sys/fs/cgroup/cpuacct")
            .join(&cg)
            .join("cpuacct.usage"),
    );
    assert!(
        cpu > 0 && cpu <= cpu_after,
        "CRI cpu {cpu} ns vs berth's cgroup {cpu_after} ns"
    );
    let working_set = stats
        .memory
        .and_then(|m| m.working_set_bytes)
        .expect("memory working set")
        .value;
    let usage = read_u64(
        &Path::new("/sys/fs/cgroup/memory")
            .join(&cg)
            .join("memory.usage_in_bytes"),
    );
    assert!(
        working_set > 0 && working_set <= usage + (1 << 20),
        "CRI working set {working_set} B vs berth's cgroup usage {usage} B"
    );

    // Pod B, whose container ignores SIGTERM: a stop that needs its timeout.
    let b = run_pod(&mut rt, &dir, &tag, "pod-b").await;
    assert!(
        b.ip.starts_with(&net.subnet_prefix) && b.ip != a.ip,
        "{} {}",
        a.ip,
        b.ip
    );
    let box_b = run_container(
        &mut rt,
        &b,
        "box",
        "trap '' TERM; while :; do sleep 1; done",
    )
    .await;

    // The two pods reach each other over berth-cni's bridge.
    for (from, to) in [(&box_a, &b.ip), (&box_b, &a.ip)] {
        let r = exec(&mut rt, from, &["ping", "-c", "1", "-W", "3", to]).await;
        assert_eq!(
            r.exit_code,
            0,
            "ping {to}: {}{}",
            String::from_utf8_lossy(&r.stdout),
            String::from_utf8_lossy(&r.stderr)
        );
    }

    // StopContainer: a graceful exit within the grace period, and a kill after it.
    let took = stop(&mut rt, &box_a, 10).await;
    let s = container_status(&mut rt, &box_a).await;
    assert_eq!(
        (s.state, s.exit_code),
        (ContainerState::ContainerExited as i32, 7),
        "{s:?}"
    );
    assert!(
        took < Duration::from_secs(10),
        "graceful stop took {took:?}"
    );
    let took = stop(&mut rt, &box_b, 2).await;
    let s = container_status(&mut rt, &box_b).await;
    assert_eq!(
        (s.state, s.exit_code),
        (ContainerState::ContainerExited as i32, 128 + 9),
        "{s:?}"
    );
    assert!(
        took >= Duration::from_secs(2),
        "killed before its grace period: {took:?}"
    );
    let log = std::fs::read_to_string(dir.join("logs/pod-a/box.log")).unwrap_or_default();
    assert!(
        log.contains(" stdout F started"),
        "CRI log of pod-a/box: {log:?}"
    );

    for (pod, container) in [(&a, &box_a), (&b, &box_b)] {
        rt.remove_container(RemoveContainerRequest {
            container_id: container.clone(),
        })
        .await
        .expect("RemoveContainer");
        // StopPodSandbox: the pause container is killed and CNI DEL runs.
        rt.stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: pod.id.clone(),
        })
        .await
        .expect("StopPodSandbox");
        rt.remove_pod_sandbox(RemovePodSandboxRequest {
            pod_sandbox_id: pod.id.clone(),
        })
        .await
        .expect("RemovePodSandbox");
    }

    // Nothing is left: no pod, container, berth state, veth, lease, cgroup, mount, shim.
    let pods = rt
        .list_pod_sandbox(ListPodSandboxRequest { filter: None })
        .await
        .expect("ListPodSandbox")
        .into_inner()
        .items;
    assert!(pods.is_empty(), "pods left: {pods:?}");
    let containers = rt
        .list_containers(ListContainersRequest { filter: None })
        .await
        .expect("ListContainers")
        .into_inner()
        .containers;
    assert!(containers.is_empty(), "containers left: {containers:?}");
    let states: Vec<_> = std::fs::read_dir(runtime_state_dir(&dir))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(states.is_empty(), "berth state left: {states:?}");
    assert_eq!(net.bridge_ports(), "", "veths left on {}", net.bridge);
    assert!(
        net.records().is_empty(),
        "berth-cni leases left: {:?}",
        net.records()
    );
    let dir_text = dir.display().to_string();
    let gone = wait_for(Duration::from_secs(10), || {
        let dir_text = dir_text.clone();
        async move { shims_of(&dir_text).is_empty() }
    })
    .await;
    assert!(gone, "shims left: {:?}", shims_of(&dir_text));
    let mounts = c.mounts_left();
    assert!(mounts.is_empty(), "mounts left: {mounts:?}");
    // containerd's side: no lease pins anything, no container snapshot is left (only the
    // images' committed layers).
    let leases = c.ctr(&["leases", "ls", "-q"]);
    assert!(
        leases.status.success() && leases.stdout.is_empty(),
        "containerd leases left: {}",
        String::from_utf8_lossy(&leases.stdout)
    );
    let snapshots = c.ctr(&["snapshots", "ls"]);
    let snapshots = String::from_utf8_lossy(&snapshots.stdout);
    assert!(
        snapshots
            .lines()
            .skip(1)
            .all(|l| l.trim_end().ends_with("Committed")),
        "active snapshots left: {snapshots}"
    );
    // The pods' own cgroup parents are the kubelet's to remove: only they may be left.
    let left: Vec<_> = cgroups_below(&tag)
        .into_iter()
        .filter(|p| !(p.ends_with("pod-a") || p.ends_with("pod-b")))
        .collect();
    assert!(left.is_empty(), "cgroups left: {left:?}");
    drop(c);
}

/// Processes (shims) whose command line names containerd's temp dir, i.e. its socket.
fn shims_of(dir: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy() != me)
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains("containerd-shim") && c.contains(dir))
        .collect()
}
