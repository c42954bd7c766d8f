#!/usr/bin/env bash
# Builds the berth-runtime that scripts/setup.sh installs and bench/runtime/bench.sh
# measures "as installed", and prints its path on stdout (cargo's output goes to stderr).
#
# Cargo profile `runtime` (workspace Cargo.toml: the runtime and all its dependencies at
# opt-level z, fat LTO), linked static-pie: glibc and libseccomp are linked in, so the
# loader maps and relocates no shared objects at each call. Still position independent
# (ASLR). crt-static must reach only the runtime, never the build scripts and proc macros
# that cargo builds for the host, hence the explicit --target: RUSTFLAGS then apply to the
# target's artifacts alone.
#
# Static glibc and NSS: the one name lookup, the owner column of `berth-runtime list`
# (getpwuid), uses glibc's built-in files backend, which reads /etc/passwd as the dynamic
# build does; other NSS sources (LDAP, systemd's dynamic users) are not loaded, and `list`
# prints the numeric uid as it does for any uid without a name.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

target=$(rustc -vV | sed -n 's/^host: //p')
seccomp_a=$(cc -print-file-name=libseccomp.a)
if [ "$seccomp_a" = libseccomp.a ]; then
    echo "build-runtime: libseccomp.a not found (Debian: apt-get install libseccomp-dev)" >&2
    exit 1
fi

RUSTFLAGS="-C target-feature=+crt-static" \
    LIBSECCOMP_LINK_TYPE=static LIBSECCOMP_LIB_PATH="$(dirname "$seccomp_a")" \
    cargo build --profile runtime -p berth-runtime --target "$target" \
    --manifest-path "$repo/Cargo.toml" >&2

bin="${CARGO_TARGET_DIR:-$repo/target}/$target/runtime/berth-runtime"
# A dynamically linked result (crt-static ignored) would install silently slower and larger.
if ldd "$bin" >/dev/null 2>&1 && ! ldd "$bin" 2>&1 | grep -q 'statically linked'; then
    echo "build-runtime: $bin is dynamically linked, expected static-pie" >&2
    exit 1
fi
echo "$bin"
