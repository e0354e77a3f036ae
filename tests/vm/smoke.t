#!/bin/bash
# Boots the qemu test guest once and runs tests/vm/smoke.sh in it: cgroup2
# controllers, the virtio disk, a busybox container root, pivot_root, overlayfs
# and $BUILD/hangar-oci.  Copy this file for a new VM test:
#   exec "$TOP/tests/vm/run-in-vm" tests/vm/NAME.sh
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP" || exit 1
exec "$TOP/tests/vm/run-in-vm" tests/vm/smoke.sh
