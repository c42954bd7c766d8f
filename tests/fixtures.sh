#!/usr/bin/env bash
# Builds berth's test fixtures from Debian packages, idempotently, into a git-ignored cache:
#   $BERTH_FIXTURES (default: <repo>/.fixtures)
#     busybox/rootfs/        busybox-static plus its applet links, /etc/passwd, /etc/group
#     busybox/config.json    an OCI bundle config for it (root.path "rootfs")
#     busybox/rootfs.tar     the rootfs as a tarball (for `podman import`)
#     busybox/oci-image.tar  an OCI image layout of it, ref berth-busybox:test (for `ctr import`)
#     busybox/pause-image.tar  the same layer as ref berth-pause:test, whose command blocks
#                            (`sleep infinity`): a pod sandbox image for containerd's CRI
#     busybox/docker-archive.tar  the busybox image as `docker save` writes it (skopeo's
#                            docker-archive: manifest.json, <hex>.json config, <hex>.tar
#                            layers), RepoTags busybox:latest
#     busybox/docker25-archive.tar  the busybox image as docker 25+ saves it: manifest.json
#                            (RepoTags busybox:docker25) over an OCI layout's blobs/sha256
#     busybox/two-layer-archive.tar  a docker-archive (skopeo) of berth-two-layer:latest: the
#                            busybox layer plus a second one (umoci repack) adding
#                            /etc/berth-second-layer and deleting /home/user (a whiteout),
#                            Cmd `cat /etc/berth-second-layer`; its base layer is
#                            byte-identical to busybox's
# The code under test never builds its own inputs: tests only read what this script made.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out=${BERTH_FIXTURES:-$repo/.fixtures}
busybox=/bin/busybox

if [ ! -x "$busybox" ]; then
    echo "fixtures: $busybox missing; install Debian's busybox-static" >&2
    exit 1
fi

stamp="$out/busybox/.stamp"
want="$(sha256sum "$busybox" | cut -d' ' -f1) $(sha256sum "$0" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "fixtures: busybox bundle up to date in $out/busybox"
    exit 0
fi

mkdir -p "$out"
tmp=$(mktemp -d "$out/.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root="$tmp/busybox/rootfs"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home/user,run,var/tmp}
chmod 1777 "$root/tmp" "$root/var/tmp"
cp "$busybox" "$root/bin/busybox"
# Every applet as a link at its usual place, as a busybox image has them.
for applet in $("$busybox" --list-full); do
    [ "$applet" = bin/busybox ] && continue
    mkdir -p "$root/$(dirname "$applet")"
    ln -sf /bin/busybox "$root/$applet"
done
cat > "$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$root/etc/group" <<'G'
root:x:0:
user:x:1000:
tty:x:5:
nogroup:x:65534:
G
chown 1000:1000 "$root/home/user"
echo "berth-fixture" > "$root/etc/hostname"

cat > "$tmp/busybox/config.json" <<'J'
{
  "ociVersion": "1.2.0",
  "process": {
    "terminal": false,
    "user": { "uid": 0, "gid": 0 },
    "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER","CAP_MKNOD","CAP_NET_RAW","CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT","CAP_KILL","CAP_AUDIT_WRITE"],
      "effective": ["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER","CAP_MKNOD","CAP_NET_RAW","CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT","CAP_KILL","CAP_AUDIT_WRITE"],
      "permitted": ["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER","CAP_MKNOD","CAP_NET_RAW","CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT","CAP_KILL","CAP_AUDIT_WRITE"]
    },
    "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }],
    "noNewPrivileges": true
  },
  "root": { "path": "rootfs", "readonly": false },
  "hostname": "berth",
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc" },
    { "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid","strictatime","mode=755","size=65536k"] },
    { "destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620","gid=5"] },
    { "destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid","noexec","nodev","mode=1777","size=65536k"] },
    { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid","noexec","nodev"] },
    { "destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid","noexec","nodev","ro"] },
    { "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid","noexec","nodev","relatime","ro"] }
  ],
  "linux": {
    "namespaces": [
      { "type": "pid" }, { "type": "network" }, { "type": "ipc" }, { "type": "uts" }, { "type": "mount" }, { "type": "cgroup" }
    ],
    "maskedPaths": ["/proc/acpi","/proc/asound","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/sys/firmware","/proc/scsi"],
    "readonlyPaths": ["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]
  }
}
J

tar -C "$root" -cf "$tmp/busybox/rootfs.tar" .

# OCI image layouts (image-spec 1.0) around the same files, written by hand from the
# spec so no registry tool is needed: one gzip layer, a config, a manifest, an index.
diff_id=$(sha256sum "$tmp/busybox/rootfs.tar" | cut -d' ' -f1)
gzip -n -c "$tmp/busybox/rootfs.tar" > "$tmp/layer.tar.gz"
layer_size=$(stat -c %s "$tmp/layer.tar.gz"); layer=$(sha256sum "$tmp/layer.tar.gz" | cut -d' ' -f1)
oci_image() { # name cmd-json out.tar: the busybox layer under a config whose Cmd is cmd-json
    local name=$1 cmd=$2 out=$3 layout config config_size manifest manifest_size
    layout=$(mktemp -d "$tmp/oci.XXXXXX")
    mkdir -p "$layout/blobs/sha256"
    blob() { # file -> digest hex; moves the file into blobs/
        local hex; hex=$(sha256sum "$1" | cut -d' ' -f1)
        mv "$1" "$layout/blobs/sha256/$hex"; echo "$hex"
    }
    cp "$tmp/layer.tar.gz" "$layout/blobs/sha256/$layer"
    printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":%s,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
        "$cmd" "$diff_id" > "$tmp/config.json"
    config_size=$(stat -c %s "$tmp/config.json"); config=$(blob "$tmp/config.json")
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
        "$config" "$config_size" "$layer" "$layer_size" > "$tmp/manifest.json"
    manifest_size=$(stat -c %s "$tmp/manifest.json"); manifest=$(blob "$tmp/manifest.json")
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"test","io.containerd.image.name":"docker.io/library/%s:test"}}]}' \
        "$manifest" "$manifest_size" "$name" > "$layout/index.json"
    echo '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"
    tar -C "$layout" -cf "$out" oci-layout index.json blobs
}
oci_image berth-busybox '["sh"]' "$tmp/busybox/oci-image.tar"
# A CRI sandbox runs its image's own command and expects it to block until the pod is
# stopped (containerd kills it with SIGKILL): the part Kubernetes' pause image plays.
oci_image berth-pause '["sleep","infinity"]' "$tmp/busybox/pause-image.tar"

# docker-archive tarballs, written by skopeo and umoci (not by berth's code).
skopeo --insecure-policy copy -q "oci-archive:$tmp/busybox/oci-image.tar:test" \
    "docker-archive:$tmp/busybox/docker-archive.tar:busybox:latest"
docker25="$tmp/docker25"
mkdir -p "$docker25"
tar -C "$docker25" -xf "$tmp/busybox/oci-image.tar"
python3 - "$docker25" <<'PY'
import json, sys
d = sys.argv[1]
hex_of = lambda digest: digest.split(":", 1)[1]
index = json.load(open(f"{d}/index.json"))
manifest = json.load(open(f"{d}/blobs/sha256/{hex_of(index['manifests'][0]['digest'])}"))
json.dump([{"Config": "blobs/sha256/" + hex_of(manifest["config"]["digest"]),
            "RepoTags": ["busybox:docker25"],
            "Layers": ["blobs/sha256/" + hex_of(l["digest"]) for l in manifest["layers"]]}],
          open(f"{d}/manifest.json", "w"))
PY
tar -C "$docker25" -cf "$tmp/busybox/docker25-archive.tar" manifest.json oci-layout index.json blobs
two="$tmp/two-layer"
mkdir -p "$two"
tar -C "$two" -xf "$tmp/busybox/oci-image.tar"
umoci unpack --image "$two:test" "$tmp/two-bundle" >/dev/null
echo "second layer" > "$tmp/two-bundle/rootfs/etc/berth-second-layer"
# A deletion, so the second layer carries a whiteout (home/.wh.user).
rm -rf "$tmp/two-bundle/rootfs/home/user"
umoci repack --image "$two:two" "$tmp/two-bundle"
umoci config --image "$two:two" --config.cmd cat --config.cmd /etc/berth-second-layer
skopeo --insecure-policy copy -q "oci:$two:two" \
    "docker-archive:$tmp/busybox/two-layer-archive.tar:berth-two-layer:latest"
rm -rf "$tmp/two-bundle" "$two" "$docker25"
echo "$want" > "$tmp/busybox/.stamp"
mkdir -p "$out"
rm -rf "$out/busybox"
mv "$tmp/busybox" "$out/busybox"
echo "fixtures: busybox bundle built in $out/busybox"
