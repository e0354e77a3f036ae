#!/bin/bash
# The rootfs unit tests in the qemu guest: pure cgroup v2 (the cgroup2 mount
# of the container, with and without a cgroup namespace) and an older kernel
# (overlayfs fallback without "lowerdir+").  Runs tests/vm/rootfs.sh there.
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP" || exit 1
exec "$TOP/tests/vm/run-in-vm" tests/vm/rootfs.sh
