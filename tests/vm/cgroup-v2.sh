#!/bin/bash
# Guest side of tests/vm/cgroup-v2.t: runs inside the qemu guest (pure cgroup
# v2 at /sys/fs/cgroup, every controller enabled in the root) and runs the
# cgroup unit tests there, where the v2 limit checks (memory.max + OOM,
# memory.reclaim before lowering, cpu.max, pids.max, cpuset, io.max on a
# loop device, PSI, cgroup.kill, the BPF device filter) are not skipped.
# Prints one TAP stream; exits with the number of failures.
set -u
BUILD=${BUILD:-$TOP/build}
. "$(dirname "$0")/guest-tap.sh"

grep -q '^cgroup2 /sys/fs/cgroup cgroup2 ' /proc/mounts
if [ $? = 0 ]; then emit ok "cgroup2 mounted at /sys/fs/cgroup"; else emit not-ok "cgroup2 mounted at /sys/fs/cgroup"; fi

# memory.reclaim can only drop page cache of a block-backed filesystem (the
# guest's root is a tmpfs): give the test an ext4 on the virtio disk.
disk_dir=/mnt/cgroup-test-disk
mkdir -p "$disk_dir"
if [ -b /dev/vda ] && mke2fs -q -F /dev/vda >/dev/null 2>&1 && mount -t ext4 /dev/vda "$disk_dir"; then
	export HANGAR_TEST_DISK_DIR=$disk_dir
	emit ok "ext4 on /dev/vda for the page-cache reclaim test"
else
	# This script only runs in the guest, where the disk is part of the
	# harness: without it the reclaim test would not run.
	emit not-ok "ext4 on /dev/vda for the page-cache reclaim test"
fi

run_tap test_cgroup_v2 "$BUILD/tests/unit/test_cgroup_v2"
run_tap test_cgroup_convert "$BUILD/tests/unit/test_cgroup_convert"
grep -q " $disk_dir " /proc/mounts && umount "$disk_dir"
finish
