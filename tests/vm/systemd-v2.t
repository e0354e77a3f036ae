#!/bin/bash
# systemd under `hangar create --init` on a pure cgroup v2 host (the qemu
# guest, cgroup2 with nsdelegate): boots the bookworm image that
# tests/integration/hangar-systemd.t caches, extracted here and copied into
# the guest, and runs tests/vm/systemd-v2.sh there.  Without that cached
# tarball it is built first with `hangar image debootstrap` (network).
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP" || exit 1
BUILD=${BUILD:-$TOP/build}
cache=${HANGAR_TEST_CACHE:-/var/cache/hangar}/debootstrap-bookworm-systemd-dbus.tar
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 77; }
work=$(mktemp -d /tmp/hangar-vm-systemd.XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ ! -s "$cache" ]; then
	command -v debootstrap >/dev/null ||
		{ echo "not ok 1 - debootstrap is not installed (scripts/install-deps --test)"; echo "1..1"; exit 1; }
	out=$(HANGAR_ROOT=$work/store HANGAR_RUN=$work/run "$BUILD/hangar" image debootstrap deb 2>&1)
	if [ $? != 0 ]; then
		if [[ "$out" =~ Failed\ getting\ release|[Cc]ouldn.t\ download|[Tt]emporary\ failure|[Cc]ould\ not\ resolve ]]; then
			echo "1..0 # SKIP debootstrap cannot fetch packages: $out"
			exit 77
		fi
		echo "not ok 1 - image debootstrap: $out"
		echo "1..1"
		exit 1
	fi
	mkdir -p "$(dirname "$cache")"
	tar -C "$work/store/images/deb/rootfs" --numeric-owner --xattrs --xattrs-include='*' -cf "$cache.tmp.$$" . &&
		mv "$cache.tmp.$$" "$cache"
	rm -rf "$work/store" "$work/run"
fi
# Without apt's caches and the documentation: the initramfs is copied twice
# under TCG (about 1 s per 10 MiB).
mkdir "$work/image" && tar -C "$work/image" --numeric-owner -xpf "$cache" --exclude='./var/cache/apt/*' \
	--exclude='./var/lib/apt/lists/*' --exclude='./usr/share/doc/*' --exclude='./usr/share/man/*' \
	--exclude='./usr/share/locale/*' --exclude='./usr/share/info/*' || {
	echo "not ok 1 - extract $cache"
	echo "1..1"
	exit 1
}
# The image travels in the initramfs: 1 GiB is not enough for it, its
# overlay and a booting systemd.
export HANGAR_VM_DIRS="${HANGAR_VM_DIRS:-} $work/image" HANGAR_SD_IMAGE_DIR=$work/image
export HANGAR_VM_MEM=${HANGAR_VM_MEM:-2048}
"$TOP/tests/vm/run-in-vm" tests/vm/systemd-v2.sh
