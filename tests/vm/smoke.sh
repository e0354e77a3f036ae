#!/bin/bash
# Guest side of tests/vm/smoke.t: runs as root inside the qemu guest started by
# tests/vm/run-in-vm and proves the guest is fit for the cgroup v2 tests.
# Template for other tests/vm/*.sh: print TAP, exit with the failure count.
set -u
. "$(dirname "$0")/guest-tap.sh"

echo "1..15"
cg=/sys/fs/cgroup

grep -qE '^cgroup2 /sys/fs/cgroup cgroup2 [^ ]*nsdelegate[^ ]*memory_recursiveprot' /proc/mounts
ok $? "cgroup2 is mounted at $cg with nsdelegate,memory_recursiveprot"

for c in cpu memory io pids; do
	grep -qw "$c" "$cg/cgroup.controllers" && grep -qw "$c" "$cg/cgroup.subtree_control"
	ok $? "controller $c is available and enabled for children"
done

# A child cgroup takes limits, and a process moved into it is accounted there.
child=$cg/smoke.$$
mkdir "$child"
vda_dev=$(cat /sys/block/vda/dev 2>/dev/null)
{
	echo 33554432 >"$child/memory.max" &&
		echo 16 >"$child/pids.max" &&
		echo "50000 100000" >"$child/cpu.max" &&
		echo "$vda_dev rbps=1048576" >"$child/io.max" &&
		[ "$(cat "$child/memory.max")" = 33554432 ] &&
		[ "$(cat "$child/pids.max")" = 16 ] &&
		[ "$(cat "$child/cpu.max")" = "50000 100000" ] &&
		grep -q "^$vda_dev rbps=1048576 " "$child/io.max"
} 2>&1
ok $? "memory.max, pids.max, cpu.max and io.max on /dev/vda ($vda_dev) can be set on a child"

sleep 30 &
sleeper=$!
echo "$sleeper" >"$child/cgroup.procs"
grep -qx "$sleeper" "$child/cgroup.procs" && [ "$(cat "$child/pids.current")" = 1 ]
ok $? "a process moved into the child shows in cgroup.procs and pids.current"

# pids.max takes effect: with a limit of 1, the member cannot fork.  busybox
# sh rather than bash, which retries a failed fork for seconds.
echo 1 >"$child/pids.max"
/bin/busybox sh -c "echo \$\$ >$child/cgroup.procs; /bin/true || exit 1; exit 0" 2>/dev/null
[ $? != 0 ] && grep -q '^max [1-9]' "$child/pids.events"
ok $? "pids.max=1 stops a member from forking and counts it in pids.events"
kill "$sleeper"
wait "$sleeper" 2>/dev/null
rmdir "$child"
ok $? "the emptied child cgroup can be removed"

[ -b /dev/vda ] && [ "$(blockdev --getsize64 /dev/vda)" = 67108864 ]
ok $? "the 64 MiB virtio disk is /dev/vda"

rootfs=/tmp/smoke-root
"$TOP/scripts/mkrootfs-busybox" "$rootfs" && [ "$(chroot "$rootfs" /bin/sh -c 'echo $((6 * 7))')" = 42 ]
ok $? "scripts/mkrootfs-busybox builds a busybox root that runs"

# The root is a tmpfs, not the initramfs rootfs, so pivot_root works as in a
# container runtime.
unshare -m sh -c "mount --bind $rootfs $rootfs && cd $rootfs && mkdir -p .old &&
	pivot_root . .old && umount -l /.old && [ -x /bin/busybox ] && [ ! -e /proc/mounts ]"
ok $? "pivot_root into the busybox root works in a new mount namespace"

mkdir -p /tmp/ov/lower /tmp/ov/upper /tmp/ov/work /tmp/ov/merged
echo lower >/tmp/ov/lower/file
mount -t overlay overlay -o lowerdir=/tmp/ov/lower,upperdir=/tmp/ov/upper,workdir=/tmp/ov/work /tmp/ov/merged &&
	echo upper >/tmp/ov/merged/file && [ "$(cat /tmp/ov/lower/file)" = lower ] &&
	[ "$(cat /tmp/ov/upper/file)" = upper ]
ok $? "overlayfs mounts and copies up"
umount /tmp/ov/merged 2>/dev/null

# Host-built dynamic binaries find their libraries at the host's paths.
[ "$(stat -c %a /)" = 755 ] && "$BUILD/tests/helpers/subreaper" /bin/true && jq -n '1 + 1' >/dev/null
ok $? "/ is mode 755, and \$BUILD/tests/helpers/subreaper and jq run with their shared libraries"

if [ -x "$BUILD/hangar-oci" ]; then
	"$BUILD/hangar-oci" --version
	ok $? "\$BUILD/hangar-oci --version runs in the guest"
else
	ok 1 "\$BUILD/hangar-oci --version runs in the guest: $BUILD/hangar-oci is not built"
fi

exit "$failures"
