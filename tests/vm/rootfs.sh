#!/bin/bash
# Guest side of tests/vm/rootfs.t: the rootfs unit tests on a pure cgroup v2
# host (the cgroup2 mount layout) and on the guest's older kernel (overlayfs
# without "lowerdir+", idmapped mounts on tmpfs refused with a clear error).
# Prints one TAP stream; exits with the number of failures.
set -u
BUILD=${BUILD:-$TOP/build}
. "$(dirname "$0")/guest-tap.sh"
echo "# guest kernel $(uname -r)"
grep -q '^cgroup2 /sys/fs/cgroup cgroup2 ' /proc/mounts
if [ $? = 0 ]; then emit ok "cgroup2 mounted at /sys/fs/cgroup"; else emit not-ok "cgroup2 mounted at /sys/fs/cgroup"; fi

run_tap test_rootfs "$BUILD/tests/unit/test_rootfs"
run_tap test_rootfs_overlay "$BUILD/tests/unit/test_rootfs_overlay"
finish
