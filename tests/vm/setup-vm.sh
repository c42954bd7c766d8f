#!/bin/bash
# setup-vm.sh [DIR]  -- one-time: fetch a Debian kernel + build a busybox initramfs into DIR
# (berth's copy of shared/vm/setup-vm.sh: adds virtio_blk, for the scratch disk of vmrun.sh)
# (default: directory of this script). Needs root for apt; touches nothing outside DIR except
# installing the Debian packages below (busybox-static, cpio, kmod, python3 and the shared
# libraries qemu links; never a qemu package).
set -euo pipefail
DIR=$(realpath -m "${1:-$(dirname "$0")}"); mkdir -p "$DIR"; cd "$DIR"
# A fresh machine may have no package lists yet (apt-cache below needs them too).
apt-cache policy linux-image-amd64 2>/dev/null | grep -q 'Candidate: [0-9]' \
  || apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null
apt-get install -y --no-install-recommends --no-remove -o DPkg::Lock::Timeout=600 \
  busybox-static cpio kmod python3 >/dev/null
# qemu: the lane's own copy of Debian 12's qemu-system-x86, unpacked into DIR/qemu and
# never installed, so it cannot conflict with a qemu the machine ships (a backported
# qemu-utils 10 Breaks Debian 12's qemu-system-common). Only its shared libraries are
# installed from apt (plain libraries, no qemu package); vmrun.sh runs DIR/qemu.
QEMU_PKGS=(qemu-system-x86 qemu-system-common qemu-system-data seabios)
QVER=$(apt-cache policy qemu-system-x86 | awk '/Candidate:/{print $2}')
if [ "$(cat qemu/version 2>/dev/null)" != "$QVER" ]; then
  # the binary's own libraries (qemu-system-common's are for helpers and UI modules not used)
  mapfile -t QLIBS < <(apt-cache depends qemu-system-x86 | awk '/^  Depends: lib/{print $2}' | sort -u)
  apt-get install -y --no-install-recommends --no-remove -o DPkg::Lock::Timeout=600 "${QLIBS[@]}" >/dev/null
  rm -rf qemu qemu.dl && mkdir -p qemu.dl
  (cd qemu.dl && apt-get download -o APT::Sandbox::User=root "${QEMU_PKGS[@]}" >/dev/null)
  for deb in qemu.dl/*.deb; do dpkg-deb -x "$deb" qemu; done
  rm -rf qemu.dl
  QEMU_MODULE_DIR=$DIR/qemu/usr/lib/x86_64-linux-gnu/qemu qemu/usr/bin/qemu-system-x86_64 -accel help | grep -q tcg
  echo "$QVER" > qemu/version
fi
# Debian kernel, extracted (not installed): generic flavour has 9p, virtiofs, overlay, veth, bridge as modules
PKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
KVER=${PKG#linux-image-}
[ -d "kernel/lib/modules/$KVER" ] || {
  (cd "$DIR" && apt-get download "$PKG" 2>/dev/null)
  mkdir -p kernel && dpkg-deb -x "$DIR"/"$PKG"_*.deb kernel && rm -f "$DIR"/"$PKG"_*.deb
  /sbin/depmod -b kernel "$KVER"; }
# decompress bzImage (xz) -> ELF vmlinux with PVH note: qemu boots it directly, ~2 s faster under TCG
python3 - "kernel/boot/vmlinuz-$KVER" vmlinux <<'PY'
import lzma, sys
d = open(sys.argv[1], 'rb').read(); off = d.find(b'\xfd7zXZ\x00')
open(sys.argv[2], 'wb').write(lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(d[off:]))
PY
cp "kernel/boot/config-$KVER" config
# initramfs: busybox + needed modules (+ deps) + /init
ST=$(mktemp -d); trap 'rm -rf "$ST"' EXIT
mkdir -p "$ST"/{bin,proc,sys,dev,tmp,newroot,ctl} "$ST/lib/modules/$KVER"
cp /bin/busybox "$ST/bin/"; for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$ST/bin/$a"; done
ln -s bin "$ST/sbin"
KROOT=$DIR/kernel
for m in crc32c_generic virtio_pci virtio_mmio 9pnet_virtio 9p virtiofs virtio_console virtio_blk overlay veth bridge \
         br_netfilter tun nf_tables nft_chain_nat nft_compat; do
  /sbin/modprobe -d "$KROOT" -S "$KVER" --show-depends $m | awk '$1=="insmod"{print $2}' | while read -r f; do
    rel=${f#"$KROOT"/}; mkdir -p "$ST/$(dirname "$rel")"; cp "$f" "$ST/$rel"; done
done
cp "$KROOT/lib/modules/$KVER"/modules.{builtin,builtin.modinfo,order} "$ST/lib/modules/$KVER/"
/sbin/depmod -b "$ST" "$KVER"
cat > "$ST/init" <<'INIT'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
for m in crc32c_generic virtio_mmio 9pnet_virtio 9p virtio_console virtio_blk overlay veth bridge br_netfilter tun nf_tables; do
  modprobe -q $m; done
P9=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o $P9 ctl /ctl || { echo "VMRUN: no ctl share"; poweroff -f; }
. /ctl/env            # SHARE HOSTROOT SHARECACHE
R=
if [ "$HOSTROOT" = 1 ]; then   # root = overlay(host / read-only via 9p, tmpfs upper)
  mkdir -p /lower /rw; mount -t 9p -o $P9,ro,cache=loose hostroot /lower
  mount -t tmpfs -o mode=755 tmpfs /rw; mkdir -p /rw/u /rw/w
  mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/u,workdir=/rw/w /newroot; R=/newroot
  mount -t proc proc $R/proc; mount -t sysfs sysfs $R/sys; mount -t devtmpfs devtmpfs $R/dev
  mkdir -p $R/dev/pts $R/dev/shm; mount -t devpts devpts $R/dev/pts; mount -t tmpfs tmpfs $R/dev/shm
  mount -t tmpfs tmpfs $R/tmp; mount -t tmpfs tmpfs $R/run
fi
mount -t cgroup2 cgroup2 $R/sys/fs/cgroup          # the only cgroup mount: pure v2
mount -t bpf bpf $R/sys/fs/bpf
mkdir -p "$R$SHARE"; mount -t 9p -o $P9,cache=$SHARECACHE share "$R$SHARE" || echo "VMRUN: share mount failed"
ip link set lo up
OUT=/dev/console; ERR=/dev/console      # virtio-serial ports "out"/"err" = host stdout/stderr
for p in /sys/class/virtio-ports/*; do case "$(cat $p/name 2>/dev/null)" in
  out) OUT=/dev/${p##*/};; err) ERR=/dev/${p##*/};; esac; done
if [ -n "$R" ]; then cp /ctl/cmd.sh $R/run/vmrun-cmd.sh; chroot $R /bin/sh /run/vmrun-cmd.sh >$OUT 2>$ERR </dev/null
else sh /ctl/cmd.sh >$OUT 2>$ERR </dev/null; fi
echo $? > /ctl/rc.tmp; mv /ctl/rc.tmp /ctl/rc
sync; umount "$R$SHARE" 2>/dev/null; poweroff -f
INIT
chmod +x "$ST/init"
(cd "$ST" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 > initramfs.cpio.gz
echo "ready: $DIR/vmlinux ($KVER) $DIR/initramfs.cpio.gz ($(stat -c %s initramfs.cpio.gz) bytes)"
