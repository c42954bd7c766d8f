//! The known runc escapes, each really attempted against a real container; every test
//! passes only because the escape failed. SECURITY.md maps each test to its CVE.

use std::fs;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use berth_tests::{Runtime, TestBundle, cgroup_dirs_named, require_root, rootfs_copy, unique_id};
use serde_json::json;

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("running sha256sum");
    assert!(out.status.success(), "sha256sum {}", path.display());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A copy of the runtime binary in a temp dir, so that a failed test can only ever
/// destroy the copy, never the build.
fn runtime_copy(dir: &Path) -> PathBuf {
    let copy = dir.join("berth-runtime");
    fs::copy(&Runtime::new().bin, &copy).expect("copying the runtime binary");
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).expect("chmod copy");
    copy
}

fn out_str(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn wait_for_file(path: &Path, limit: Duration) -> Option<String> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(s) = fs::read_to_string(path)
            && s.ends_with('\n')
        {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Mount points of the host (the test's mount namespace), for "nothing was mounted on
/// the host" checks: (mount point, root) pairs.
fn host_mounts() -> Vec<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .expect("mountinfo")
        .lines()
        .map(|l| {
            l.split_whitespace()
                .skip(3)
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// New host mounts whose mount point is `/`, under `/etc`, or under `dir`.
fn new_host_mounts(before: &[String], dir: &Path) -> Vec<String> {
    let dir = dir.display().to_string();
    host_mounts()
        .into_iter()
        .filter(|m| !before.contains(m))
        .filter(|m| {
            let point = m.split(' ').nth(1).unwrap_or_default();
            point == "/" || point.starts_with("/etc") || point.starts_with(&dir)
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// CVE-2019-5736: overwriting the runtime binary through /proc/self/exe
// ---------------------------------------------------------------------------------

/// The attacker (container A) waits for a process in its pid namespace that runs the
/// runtime binary, opens `/proc/<pid>/exe`, lets it go, waits until it exited (so no
/// ETXTBSY protects the file any more) and then opens the held fd for writing through
/// `/proc/self/fd/3`, truncating and writing the binary if it can.
const ATTACKER: &str = r#"
pid=
i=0
while [ $i -lt 600 ] && [ -z "$pid" ] && [ ! -e /attack/victim-done ]; do
  for p in /proc/[0-9]*; do
    if [ "$(head -c 14 $p/cmdline 2>/dev/null)" = /proc/self/exe ]; then pid=${p#/proc/}; break; fi
  done
  i=$((i+1)); [ -n "$pid" ] || sleep 0.05
done
if [ -z "$pid" ]; then echo victim-not-found > /attack/result; cat /attack/fifo > /dev/null; exit 1; fi
readlink /proc/$pid/exe > /attack/exe-link 2>&1
if ! ( exec 3</proc/$pid/exe ) 2>/attack/open-err; then
  cat /attack/fifo > /dev/null &
  echo open-refused > /attack/result; exit 0
fi
exec 3</proc/$pid/exe
cat /attack/fifo > /attack/victim-log &
while [ "$(head -c 14 /proc/$pid/cmdline 2>/dev/null)" = /proc/self/exe ]; do sleep 0.05; done
if ( echo PWNED > /proc/self/fd/3 ) 2>/attack/write-err; then echo write-succeeded; else echo write-refused; fi > /attack/result
"#;

#[test]
fn runtime_binary_cannot_be_overwritten_through_proc_self_exe() {
    if !require_root() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut rt = Runtime::new();
    rt.bin = runtime_copy(tmp.path());
    let before = sha256(&rt.bin);

    let attack = tmp.path().join("attack");
    fs::create_dir(&attack).expect("attack dir");
    // The image's entrypoint: executing it makes the init's execve run the runtime binary
    // itself as the container process. `--root` swallows the script path, the container's
    // args then make the runtime block on opening a fifo as its log: the attacker gets
    // all the time it wants.
    fs::write(attack.join("evil"), "#!/proc/self/exe --root\n").expect("evil script");
    fs::set_permissions(attack.join("evil"), fs::Permissions::from_mode(0o755)).expect("chmod");
    nix::unistd::mkfifo(
        &attack.join("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o666),
    )
    .expect("mkfifo");
    let bind = json!({"destination": "/attack", "type": "bind", "source": attack.display().to_string(),
                      "options": ["rbind", "rw"]});
    // Its own rootfs: the /attack mount point must not be created in the shared fixture.
    let rootfs = json!(rootfs_copy(tmp.path()).display().to_string());

    let a_id = unique_id("cve5736-attacker");
    let mut a = TestBundle::busybox(&["sh", "-c", ATTACKER]);
    a.edit(|c| {
        c["root"]["path"] = rootfs.clone();
        c["mounts"]
            .as_array_mut()
            .expect("mounts")
            .push(bind.clone());
    });
    rt.ok(&["run", "--detach", "--bundle", a.path_str(), &a_id]);
    let a_pid = rt.state(&a_id)["pid"].as_i64().expect("attacker pid");

    let b_id = unique_id("cve5736-victim");
    let mut b = TestBundle::busybox(&["/attack/evil", "--log", "/attack/fifo", "list"]);
    b.edit(|c| {
        c["root"]["path"] = rootfs.clone();
        c["mounts"]
            .as_array_mut()
            .expect("mounts")
            .push(bind.clone());
        let ns = c["linux"]["namespaces"].as_array_mut().expect("namespaces");
        ns.retain(|n| n["type"] != "pid");
        ns.push(json!({"type": "pid", "path": format!("/proc/{a_pid}/ns/pid")}));
    });
    let victim = rt.run(&["run", "--bundle", b.path_str(), &b_id]);
    fs::write(attack.join("victim-done"), "").expect("marker");

    let result = wait_for_file(&attack.join("result"), Duration::from_secs(30));
    let after = sha256(&rt.bin);
    let note = |f: &str| fs::read_to_string(attack.join(f)).unwrap_or_default();
    let (v_out, v_err) = out_str(&victim);
    let ctx = format!(
        "result {result:?}; exe link {:?}; open err {:?}; write err {:?}; victim stdout {v_out:?} stderr {v_err:?}",
        note("exe-link"),
        note("open-err"),
        note("write-err"),
    );
    assert_eq!(after, before, "the runtime binary was modified: {ctx}");
    let result = result.unwrap_or_else(|| panic!("the attacker never finished: {ctx}"));
    match result.trim() {
        // The runtime ran as the container process, the attacker held its binary open and
        // the write through the magic link failed: the read-only view did its job.
        "write-refused" => assert!(note("write-err").contains("Read-only file system"), "{ctx}"),
        "open-refused" => {}
        // Linux 6.x (seen on 6.18) refuses to follow /proc/self/exe as an interpreter when
        // the executable lies outside the process's root: the trick never starts.
        "victim-not-found" => {
            assert!(
                v_err.contains("exec /attack/evil") && v_err.contains("no such file or directory"),
                "{ctx}"
            )
        }
        other => panic!("the attack got through ({other}): {ctx}"),
    }
}

/// The strongest attacker: host root holds `/proc/<init>/exe` of a container's init,
/// waits until the runtime is gone (no ETXTBSY any more) and reopens it for writing, as
/// the 2019 exploit did. The runtime ran from a read-only view of its binary: EROFS.
#[test]
fn runtime_binary_behind_proc_exe_is_a_read_only_view() {
    if !require_root() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut rt = Runtime::new();
    rt.bin = runtime_copy(tmp.path());
    let before = sha256(&rt.bin);
    let id = unique_id("exe-view");
    let b = TestBundle::busybox(&["true"]);
    rt.ok(&["create", "--bundle", b.path_str(), &id]);
    let pid = rt.state(&id)["pid"].as_i64().expect("init pid");
    let held = nix::fcntl::open(
        format!("/proc/{pid}/exe").as_str(),
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .expect("host root opens the init's exe");
    rt.ok(&["delete", "--force", &id]);
    let reopen = format!("/proc/self/fd/{}", held.as_raw_fd());
    let err = fs::OpenOptions::new()
        .write(true)
        .open(&reopen)
        .expect_err("write open of the runtime binary");
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
    let err = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&reopen)
        .expect_err("truncating open");
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
    assert_eq!(sha256(&rt.bin), before);
}

/// The runtime's init is not dumpable: a container process sharing its pid namespace
/// cannot open `/proc/<init>/exe` while the init waits for `start`.
#[test]
fn container_cannot_open_the_waiting_inits_exe() {
    if !require_root() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut rt = Runtime::new();
    rt.bin = runtime_copy(tmp.path());
    let before = sha256(&rt.bin);
    let attack = tmp.path().join("attack");
    fs::create_dir(&attack).expect("attack dir");
    let bind = json!({"destination": "/attack", "type": "bind", "source": attack.display().to_string(),
                      "options": ["rbind", "rw"]});
    // Its own rootfs: the /attack mount point must not be created in the shared fixture.
    let rootfs = json!(rootfs_copy(tmp.path()).display().to_string());
    let script = r#"
pid=
i=0
while [ $i -lt 600 ] && [ -z "$pid" ]; do
  for p in /proc/[0-9]*; do
    case "$(head -c 300 $p/cmdline 2>/dev/null | tr '\0' ' ')" in
      */berth-runtime\ *create*) pid=${p#/proc/}; break;;
    esac
  done
  i=$((i+1)); [ -n "$pid" ] || sleep 0.05
done
[ -n "$pid" ] || { echo victim-not-found > /attack/result; exit 1; }
if ( exec 3</proc/$pid/exe ) 2>/attack/open-err; then echo opened; else echo open-refused; fi > /attack/result
# Stay: this is pid 1 of the victim's pid namespace, whose exit would kill the victim's
# init while its create may still be running.
exec sleep 60
"#;
    let a_id = unique_id("init-probe-attacker");
    let mut a = TestBundle::busybox(&["sh", "-c", script]);
    a.edit(|c| {
        c["root"]["path"] = rootfs.clone();
        c["mounts"]
            .as_array_mut()
            .expect("mounts")
            .push(bind.clone());
    });
    rt.ok(&["run", "--detach", "--bundle", a.path_str(), &a_id]);
    let a_pid = rt.state(&a_id)["pid"].as_i64().expect("attacker pid");

    let b_id = unique_id("init-probe-victim");
    let mut b = TestBundle::busybox(&["true"]);
    b.edit(|c| {
        let ns = c["linux"]["namespaces"].as_array_mut().expect("namespaces");
        ns.retain(|n| n["type"] != "pid");
        ns.push(json!({"type": "pid", "path": format!("/proc/{a_pid}/ns/pid")}));
    });
    rt.ok(&["create", "--bundle", b.path_str(), &b_id]);
    let result = wait_for_file(&attack.join("result"), Duration::from_secs(30));
    rt.ok(&["delete", "--force", &b_id]);
    rt.ok(&["delete", "--force", &a_id]);
    let err = fs::read_to_string(attack.join("open-err")).unwrap_or_default();
    assert_eq!(
        result.as_deref(),
        Some("open-refused\n"),
        "open error: {err}"
    );
    assert!(err.contains("Permission denied"), "{err}");
    assert_eq!(sha256(&rt.bin), before);
}

// ---------------------------------------------------------------------------------
// CVE-2024-21626: host fds and a cwd through /proc/self/fd
// ---------------------------------------------------------------------------------

/// Run the runtime with `extra` files placed at the given fd numbers of the runtime
/// process (as a caller leaking fds would), stdout/stderr captured in files.
fn run_with_fds(rt: &Runtime, args: &[&str], extra: &[(RawFd, fs::File)]) -> Output {
    let mut out = tempfile::tempfile().expect("stdout file");
    let mut err = tempfile::tempfile().expect("stderr file");
    let mut cmd = rt.cmd();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup"))
        .stderr(err.try_clone().expect("dup"));
    let pairs: Vec<(RawFd, RawFd)> = extra.iter().map(|(n, f)| (*n, f.as_raw_fd())).collect();
    // Parked copies go to fixed numbers from 200 on, out of the way of every target (a
    // source may sit on another pair's target number).
    let parked: Vec<(RawFd, RawFd, RawFd)> = pairs
        .iter()
        .enumerate()
        .map(|(i, &(target, src))| (target, src, 200 + i as RawFd))
        .collect();
    // SAFETY: between fork and exec only dup2 runs (async-signal-safe, no allocation: the
    // table was built before the fork); the source fds stay open in the parent meanwhile.
    unsafe {
        cmd.pre_exec(move || {
            for &(_, src, park) in &parked {
                if libc::dup2(src, park) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            for &(target, _, park) in &parked {
                if libc::dup2(park, target) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(park);
            }
            Ok(())
        });
    }
    let status = cmd.status().expect("spawning berth-runtime");
    use std::io::{Read, Seek};
    let read_back = |f: &mut fs::File| {
        let mut v = Vec::new();
        f.seek(std::io::SeekFrom::Start(0)).expect("seek");
        f.read_to_end(&mut v).expect("read");
        v
    };
    Output {
        status,
        stdout: read_back(&mut out),
        stderr: read_back(&mut err),
    }
}

#[test]
fn no_host_fd_reaches_the_container_process() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    // ls lists its own directory fd too: the lowest free one, 3.
    let b = TestBundle::busybox(&["ls", "/proc/self/fd"]);
    // A directory of the host and a file, at fds a careless caller might leak.
    let leaked = vec![
        (7, fs::File::open("/").expect("open /")),
        (
            8,
            fs::File::open("/etc/hostname").expect("open /etc/hostname"),
        ),
    ];
    let out = run_with_fds(
        &rt,
        &["run", "--bundle", b.path_str(), &unique_id("fds")],
        &leaked,
    );
    let (stdout, stderr) = out_str(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert_eq!(
        stdout.split_whitespace().collect::<Vec<_>>(),
        ["0", "1", "2", "3"],
        "fds in the container"
    );
}

#[test]
fn preserve_fds_passes_exactly_that_many() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let (f3, f4) = (tmp.path().join("three"), tmp.path().join("four"));
    fs::write(&f3, "third\n").expect("write");
    fs::write(&f4, "fourth\n").expect("write");
    let passed = || {
        vec![
            (3, fs::File::open(&f3).expect("open")),
            (4, fs::File::open(&f4).expect("open")),
            (5, fs::File::open("/").expect("open /")),
        ]
    };
    let args = |b: &TestBundle, id: &str| {
        ["run", "--preserve-fds", "2", "--bundle", b.path_str(), id].map(String::from)
    };
    // 3 and 4 passed, 5 not; ls's own directory fd is then 5.
    let b = TestBundle::busybox(&["ls", "/proc/self/fd"]);
    let a = args(&b, &unique_id("preserve"));
    let out = run_with_fds(&rt, &a.each_ref().map(String::as_str), &passed());
    let (stdout, stderr) = out_str(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert_eq!(
        stdout.split_whitespace().collect::<Vec<_>>(),
        ["0", "1", "2", "3", "4", "5"]
    );
    let b = TestBundle::busybox(&["sh", "-c", "cat <&3; cat <&4"]);
    let a = args(&b, &unique_id("preserve"));
    let out = run_with_fds(&rt, &a.each_ref().map(String::as_str), &passed());
    let (stdout, stderr) = out_str(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert_eq!(stdout, "third\nfourth\n");
}

#[test]
fn cwd_through_proc_self_fd_fails_cleanly() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    for cwd in ["/proc/self/fd/7", "/proc/self/cwd", "/proc/1/root"] {
        let id = unique_id("cwd-escape");
        let mut b = TestBundle::busybox(&["sh", "-c", "ls /; pwd"]);
        b.edit(|c| c["process"]["cwd"] = json!(cwd));
        let leaked = vec![(7, fs::File::open("/").expect("open /"))];
        let out = run_with_fds(&rt, &["run", "--bundle", b.path_str(), &id], &leaked);
        let (stdout, stderr) = out_str(&out);
        assert!(
            !out.status.success(),
            "cwd {cwd} was accepted; stdout: {stdout}"
        );
        assert!(stdout.is_empty(), "the container process ran: {stdout}");
        assert!(stderr.contains("cwd"), "cwd {cwd}: unclear error: {stderr}");
        assert!(!rt.root.path().join(&id).exists(), "state dir left behind");
        assert!(cgroup_dirs_named(&id).is_empty(), "cgroup left behind");
    }
}

// ---------------------------------------------------------------------------------
// CVE-2025-31133 / CVE-2025-52565: /dev/null, /dev/console, /dev/ptmx as symlinks
// ---------------------------------------------------------------------------------

struct HostVictim {
    path: PathBuf,
    content: &'static str,
}

impl HostVictim {
    fn new(dir: &Path, name: &str) -> Self {
        let path = dir.join(name);
        fs::write(&path, "host secret\n").expect("victim file");
        Self {
            path,
            content: "host secret\n",
        }
    }

    fn assert_untouched(&self) {
        assert_eq!(
            fs::read_to_string(&self.path).expect("victim"),
            self.content,
            "{} changed",
            self.path.display()
        );
        let mounts = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        assert!(
            !mounts.contains(&self.path.display().to_string()),
            "something is mounted on {}",
            self.path.display()
        );
    }
}

/// The image ships `/dev/null`, `/dev/console` and `/dev/ptmx` as symlinks to host files.
/// With the usual tmpfs on /dev they are never seen; without it the runtime replaces
/// them with real nodes; either way masking uses a real 1:3 device and the host files
/// stay as they were (the container writes to each).
#[test]
fn dev_symlinks_in_the_image_are_replaced_not_followed() {
    if !require_root() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let rootfs = rootfs_copy(tmp.path());
    let victims: Vec<HostVictim> = ["null-victim", "console-victim", "ptmx-victim"]
        .iter()
        .map(|n| HostVictim::new(tmp.path(), n))
        .collect();
    for (name, v) in ["null", "console", "ptmx"].iter().zip(&victims) {
        symlink(&v.path, rootfs.join("dev").join(name)).expect("planting symlink");
    }
    let rt = Runtime::new();
    let script = "echo pwned > /dev/null; echo pwned > /dev/console 2>/dev/null; \
                  echo pwned > /dev/ptmx 2>/dev/null; stat -c '%F %t:%T' /dev/null; wc -c < /proc/timer_list";
    for tmpfs_dev in [true, false] {
        let mut b = TestBundle::busybox(&["sh", "-c", script]);
        b.edit(|c| {
            c["root"]["path"] = json!(rootfs.display().to_string());
            if !tmpfs_dev {
                c["mounts"]
                    .as_array_mut()
                    .expect("mounts")
                    .retain(|m| m["destination"] != "/dev");
            }
        });
        let out = rt.run(&["run", "--bundle", b.path_str(), &unique_id("devnull")]);
        let (stdout, stderr) = out_str(&out);
        assert!(out.status.success(), "tmpfs /dev {tmpfs_dev}: {stderr}");
        assert_eq!(
            stdout, "character special file 1:3\n0\n",
            "tmpfs /dev {tmpfs_dev}"
        );
        for v in &victims {
            v.assert_untouched();
        }
    }
}

/// `/dev` bound from a directory the container controls (a volume), whose `null` is a
/// symlink to a host file or a plain file: masking must refuse to use it.
#[test]
fn masking_refuses_a_dev_null_that_is_not_the_null_device() {
    if !require_root() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let victim = HostVictim::new(tmp.path(), "core_pattern");
    let rt = Runtime::new();
    for kind in ["symlink", "file"] {
        let dev = tempfile::tempdir_in(tmp.path()).expect("dev dir");
        match kind {
            "symlink" => symlink(&victim.path, dev.path().join("null")).expect("symlink"),
            _ => fs::write(dev.path().join("null"), "").expect("file"),
        }
        let id = unique_id("devnull-bound");
        let mut b = TestBundle::busybox(&["true"]);
        b.edit(|c| {
            let mounts = c["mounts"].as_array_mut().expect("mounts");
            mounts.retain(|m| !m["destination"].as_str().unwrap_or_default().starts_with("/dev"));
            mounts.push(json!({"destination": "/dev", "type": "bind", "source": dev.path().display().to_string(),
                               "options": ["rbind", "rw"]}));
        });
        let out = rt.run(&["run", "--bundle", b.path_str(), &id]);
        let (_, stderr) = out_str(&out);
        assert!(
            !out.status.success(),
            "{kind} /dev/null was used for masking"
        );
        assert!(
            stderr.contains("/dev/null"),
            "{kind}: unclear error: {stderr}"
        );
        assert!(!rt.root.path().join(&id).exists(), "state dir left behind");
        assert!(cgroup_dirs_named(&id).is_empty(), "cgroup left behind");
        victim.assert_untouched();
    }
}

// ---------------------------------------------------------------------------------
// Symlinked mount destinations (CVE-2021-30465 class)
// ---------------------------------------------------------------------------------

/// The image's `/proc` is a symlink to `/`: mounting proc must not land on the host's
/// root; it lands inside the rootfs or is refused, and the host gains no mount.
#[test]
fn proc_symlinked_to_root_is_contained() {
    if !require_root() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let rootfs = rootfs_copy(tmp.path());
    fs::remove_dir(rootfs.join("proc")).expect("rmdir proc");
    symlink("/", rootfs.join("proc")).expect("proc -> /");
    let before = host_mounts();
    let rt = Runtime::new();
    let id = unique_id("proc-symlink");
    let mut b = TestBundle::busybox(&["sh", "-c", "echo ran"]);
    b.edit(|c| c["root"]["path"] = json!(rootfs.display().to_string()));
    let out = rt.run(&["run", "--bundle", b.path_str(), &id]);
    let (stdout, stderr) = out_str(&out);
    assert!(
        !out.status.success(),
        "proc on a symlink was accepted: {stdout}"
    );
    assert!(stderr.contains("/proc"), "unclear error: {stderr}");
    assert!(
        new_host_mounts(&before, tmp.path()).is_empty(),
        "{:?}",
        new_host_mounts(&before, tmp.path())
    );
    assert!(
        fs::symlink_metadata(rootfs.join("proc"))
            .expect("proc")
            .file_type()
            .is_symlink()
    );
    assert!(!rt.root.path().join(&id).exists(), "state dir left behind");
    assert!(cgroup_dirs_named(&id).is_empty(), "cgroup left behind");
}

/// A bind destination through `/mnt/x -> /etc` (absolute) or `../../../etc` (relative):
/// the bind lands on the container's own `/etc`, never the host's.
#[test]
fn bind_destination_through_a_symlink_stays_in_the_rootfs() {
    if !require_root() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let rootfs = rootfs_copy(tmp.path());
    fs::create_dir_all(rootfs.join("mnt")).expect("mnt");
    symlink("/etc", rootfs.join("mnt/abs")).expect("abs symlink");
    symlink("../../../../../etc", rootfs.join("mnt/rel")).expect("rel symlink");
    let marker_name = format!("berth-escape-marker-{}", std::process::id());
    let src = tmp.path().join("volume");
    fs::create_dir(&src).expect("volume");
    fs::write(src.join(&marker_name), "from the volume\n").expect("marker");
    let rt = Runtime::new();
    for link in ["/mnt/abs", "/mnt/rel"] {
        let before = host_mounts();
        let mut b = TestBundle::busybox(&["sh", "-c", &format!("cat /etc/{marker_name}")]);
        b.edit(|c| {
            c["root"]["path"] = json!(rootfs.display().to_string());
            c["mounts"].as_array_mut().expect("mounts").push(json!({
                "destination": link, "type": "bind", "source": src.display().to_string(), "options": ["rbind", "ro"]}));
        });
        let out = rt.run(&["run", "--bundle", b.path_str(), &unique_id("bind-symlink")]);
        let (stdout, stderr) = out_str(&out);
        assert!(out.status.success(), "{link}: {stderr}");
        assert_eq!(
            stdout, "from the volume\n",
            "{link}: the bind did not land on the container's /etc"
        );
        assert!(
            !Path::new("/etc").join(&marker_name).exists(),
            "{link}: the bind reached the host's /etc"
        );
        assert!(
            new_host_mounts(&before, tmp.path()).is_empty(),
            "{link}: {:?}",
            new_host_mounts(&before, tmp.path())
        );
    }
    // The image's /etc itself is untouched: the bind was on top of it in the container only.
    assert!(!rootfs.join("etc").join(&marker_name).exists());
}

/// CVE-2025-52565: the image's `/dev/console` is a symlink to a host file and the
/// container has a terminal. The runtime must bind the pty over a fresh file, never over
/// (or through) the symlink; the container writes to /dev/console and the host file
/// stays as it was.
#[test]
fn dev_console_symlink_is_replaced_by_the_pty() {
    if !require_root() {
        return;
    }
    use std::io::Read;
    let tmp = tempfile::tempdir().expect("tempdir");
    let rootfs = rootfs_copy(tmp.path());
    let victim = HostVictim::new(tmp.path(), "console-victim");
    symlink(&victim.path, rootfs.join("dev/console")).expect("planting symlink");
    let rt = Runtime::new();
    let id = unique_id("console-symlink");
    let sock = tmp.path().join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind console socket");
    let mut b = TestBundle::busybox(&[
        "sh",
        "-c",
        "stat -c '%F' /dev/console; echo pwned > /dev/console; readlink /dev/ptmx",
    ]);
    b.edit(|c| {
        c["root"]["path"] = json!(rootfs.display().to_string());
        c["process"]["terminal"] = json!(true);
        // The image's own /dev, so the planted symlink is really there.
        c["mounts"]
            .as_array_mut()
            .expect("mounts")
            .retain(|m| m["destination"] != "/dev");
    });
    let receiver = std::thread::spawn(move || berth_tests::receive_pty_master(&listener).0);
    let sock_str = sock.to_str().expect("utf-8");
    rt.ok(&[
        "create",
        "--bundle",
        b.path_str(),
        "--console-socket",
        sock_str,
        &id,
    ]);
    let master = receiver.join().expect("receiver thread");
    rt.ok(&["start", &id]);
    let mut out = Vec::new();
    let mut f = fs::File::from(master);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 1024];
    while Instant::now() < deadline {
        match f.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    rt.ok(&["delete", "--force", &id]);
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("character special file"),
        "/dev/console is not the pty: {text:?}"
    );
    assert!(
        text.contains("pwned"),
        "the write did not reach the pty: {text:?}"
    );
    assert!(
        text.contains("pts/ptmx"),
        "/dev/ptmx is not the devpts one: {text:?}"
    );
    victim.assert_untouched();
    assert!(fs::symlink_metadata(rootfs.join("dev/console")).is_ok());
}

/// A mount namespace joined by path that is the runtime's own would get the container's
/// root set up in it: `/` made rslave, mounts on the image, pivot_root, all done to the
/// host. Refused before anything happens. The runtime runs in a private mount namespace
/// of its own here, so that a regression can only damage that one.
#[test]
fn joining_the_runtimes_own_mount_namespace_is_refused() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let mut b = TestBundle::busybox(&["true"]);
    b.edit(|c| {
        for ns in c["linux"]["namespaces"].as_array_mut().expect("namespaces") {
            if ns["type"] == "mount" {
                ns["path"] = json!("/proc/self/ns/mnt");
            }
        }
    });
    let id = unique_id("host-mntns");
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private"])
        .arg(&rt.bin)
        .arg("--root")
        .arg(rt.root.path())
        .args(["create", "--bundle", b.path_str(), &id])
        .stdin(Stdio::null())
        .output()
        .expect("running the runtime under unshare");
    let (_, err) = out_str(&out);
    assert!(!out.status.success(), "create succeeded: {err}");
    assert!(
        err.contains("is the runtime's own"),
        "unexpected error: {err}"
    );
    assert!(!rt.root.path().join(&id).exists(), "state dir left behind");
}
