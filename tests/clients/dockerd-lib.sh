# Sourced by the dockerd lane (tests/clients/dockerd.sh) and bench (bench/clients/dockerd.sh):
# a private dockerd whose every file, socket, mount and cgroup is its own, with berth-runtime
# added as the runtime "berth" beside dockerd's default runc.
#
#   dockerd_start BERTH_RUNTIME   starts it under a new temp dir; sets DOCKER_HOST,
#                                 DOCKER_API_VERSION, DOCKERD_DIR, DOCKERD_PID,
#                                 DOCKERD_CGROUP_PARENT; loads the fixture image as
#                                 $DOCKERD_IMAGE
#   dockerd_stop                  stops it by its PID (and its containerd, and any shim it
#                                 left), unmounts, removes its cgroups and the temp dir
#   dockerd_leftovers             prints what dockerd still holds that a removed container
#                                 should not leave: containers, runtime state, cgroups,
#                                 shims, overlay mounts (nothing when clean)
#
# dockerd 20.10 starts its own containerd in its exec root unless a system containerd
# answers at /run/containerd/containerd.sock; it runs in a private mount namespace with an
# empty /run/containerd so it never uses one, and so that its overlay mounts end with it.
# No traffic leaves the machine: no bridge, no iptables, containers run with --network none,
# and the image is loaded from the fixture, never pulled.

DOCKERD_IMAGE=berth-busybox:test
dockerd_lib_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

dockerd_start() {
    local runtime=$1
    if ! command -v dockerd >/dev/null; then
        echo "dockerd: not installed (scripts/install-deps.sh installs Debian's docker.io)" >&2
        return 1
    fi
    DOCKERD_DIR=$(mktemp -d /var/tmp/berth-dockerd.XXXXXX)
    DOCKERD_CGROUP_PARENT=/berth-test/$(basename "$DOCKERD_DIR")
    # A copy: the shared target dir may be rebuilt by a concurrent cargo while we run.
    cp "$runtime" "$DOCKERD_DIR/berth-runtime"
    echo '{}' >"$DOCKERD_DIR/daemon.json" # nothing from the host's /etc/docker
    export DOCKER_HOST="unix://$DOCKERD_DIR/docker.sock"
    # dockerd 20.10 speaks API 1.41; a newer CLI would ask for more.
    export DOCKER_API_VERSION=1.41
    local d=$DOCKERD_DIR
    unshare -m --propagation private -- sh -c '
        if [ -d /run/containerd ]; then mount -t tmpfs -o mode=0711 berth-dockerd /run/containerd; fi
        exec "$@"' sh \
        dockerd --config-file "$d/daemon.json" --data-root "$d/data" --exec-root "$d/exec" \
        --pidfile "$d/dockerd.pid" -H "$DOCKER_HOST" \
        --iptables=false --ip6tables=false --ip-masq=false --bridge=none \
        --exec-opt native.cgroupdriver=cgroupfs --cgroup-parent "$DOCKERD_CGROUP_PARENT" \
        --add-runtime "berth=$d/berth-runtime" >"$d/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    local i
    for i in $(seq 300); do
        docker version >/dev/null 2>&1 && break
        if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
            echo "dockerd: exited while starting; its log:" >&2
            tail -20 "$d/dockerd.log" >&2
            return 1
        fi
        sleep 0.1
    done
    if ! docker version >/dev/null 2>&1; then
        echo "dockerd: no answer on $DOCKER_HOST after 30 s; its log:" >&2
        tail -20 "$d/dockerd.log" >&2
        return 1
    fi
    dockerd_load_fixture
}

# `docker load` of the fixture's OCI image layout: dockerd 20.10 reads only a
# docker-archive's manifest.json, so the layout gets the one `docker save` would write
# beside its index.json (the blobs are shared).
dockerd_load_fixture() {
    local img=$DOCKERD_DIR/image
    mkdir -p "$img"
    tar -C "$img" -xf "$dockerd_lib_repo/.fixtures/busybox/oci-image.tar"
    local manifest
    manifest=$(jq -r '.manifests[0].digest | sub("sha256:"; "")' "$img/index.json")
    jq --arg tag "$DOCKERD_IMAGE" \
        '[{Config: ("blobs/sha256/" + (.config.digest | sub("sha256:"; ""))),
           RepoTags: [$tag],
           Layers: [.layers[].digest | "blobs/sha256/" + sub("sha256:"; "")]}]' \
        "$img/blobs/sha256/$manifest" >"$img/manifest.json"
    tar -C "$img" -cf "$DOCKERD_DIR/image.tar" .
    rm -rf "$img"
    docker load -i "$DOCKERD_DIR/image.tar" >/dev/null
}

# Shims of this dockerd's containerd: containerd-shim-runc-v2 processes started with its
# socket as -address (they outlive containerd by design).
dockerd_shims() {
    pgrep -f -- "-address $DOCKERD_DIR/exec/containerd/containerd.sock" || true
}

dockerd_leftovers() {
    local ids
    ids=$(docker ps -aq)
    [ -z "$ids" ] || echo "containers: $(echo $ids)"
    local state
    # berth-runtime's compiled seccomp programs (@seccomp-cache) are no container's state.
    state=$(ls "$DOCKERD_DIR"/exec/runtime-*/moby 2>/dev/null | grep -vx '@seccomp-cache')
    [ -z "$state" ] || echo "runtime state: $(echo $state)"
    local cg
    cg=$(find /sys/fs/cgroup/*/"${DOCKERD_CGROUP_PARENT#/}" -mindepth 1 -type d 2>/dev/null)
    [ -z "$cg" ] || echo "cgroups: $(echo $cg)"
    local shims
    shims=$(dockerd_shims)
    [ -z "$shims" ] || echo "shims: $(echo $shims)"
    local mounts
    mounts=$(nsenter -t "$DOCKERD_PID" -m awk -v d="$DOCKERD_DIR/data/overlay2/" \
        'index($5, d) == 1 {print $5}' /proc/self/mountinfo 2>/dev/null)
    [ -z "$mounts" ] || echo "mounts: $(echo $mounts)"
}

dockerd_stop() {
    [ -n "${DOCKERD_DIR:-}" ] || return 0
    local containerd="" pid i
    containerd=$(cat "$DOCKERD_DIR/exec/containerd/containerd.pid" 2>/dev/null || true)
    if [ -n "${DOCKERD_PID:-}" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
        docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
        kill -TERM "$DOCKERD_PID"
        # dockerd stops its containerd on the way out.
        for i in $(seq 200); do
            kill -0 "$DOCKERD_PID" 2>/dev/null || break
            sleep 0.1
        done
    fi
    # A removed container's shim exits on its own, a moment after the removal.
    for i in $(seq 30); do
        [ -n "$(dockerd_shims)" ] || break
        sleep 0.1
    done
    for pid in ${DOCKERD_PID:-} $containerd $(dockerd_shims); do
        if kill -0 "$pid" 2>/dev/null; then
            echo "dockerd: pid $pid still running after dockerd stopped; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    wait "$DOCKERD_PID" 2>/dev/null || true
    # The overlay mounts lived in dockerd's private mount namespace, gone with it; a mount
    # in the host's namespace under the temp dir would be a leak: unmount before removing.
    local m
    for m in $(awk -v d="$DOCKERD_DIR/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
        echo "dockerd: $m still mounted in the host's namespace; unmounting" >&2
        umount -l "$m" || true
    done
    local dir
    for dir in $(find /sys/fs/cgroup/*/"${DOCKERD_CGROUP_PARENT#/}" -depth -type d 2>/dev/null); do
        rmdir "$dir" 2>/dev/null || echo "dockerd: cannot remove cgroup $dir" >&2
    done
    # The shared parent goes when no one else uses it.
    rmdir /sys/fs/cgroup/*/berth-test 2>/dev/null || true
    rm -rf "$DOCKERD_DIR"
    DOCKERD_DIR=""
}
