#!/bin/bash
# The legacy host mode (cgroup v1 hierarchies only, no cgroup2 anywhere, as on
# an older distro): boots the qemu test guest with HANGAR_VM_CGROUP=legacy and
# runs tests/vm/cgroup-legacy.sh in it (test_cgroup_v1 and
# tests/integration/cgroup-oci.t).  This hybrid host always has cgroup2 at
# /sys/fs/cgroup/unified, so the legacy probe result is only seen here.
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP" || exit 1
export HANGAR_VM_CGROUP=legacy
exec "$TOP/tests/vm/run-in-vm" tests/vm/cgroup-legacy.sh
