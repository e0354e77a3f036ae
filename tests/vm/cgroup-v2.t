#!/bin/bash
# The cgroup v2 back-end against a real cgroup2 hierarchy with every
# controller: boots the qemu test guest once and runs tests/vm/cgroup-v2.sh
# (test_cgroup_v2 + test_cgroup_convert) in it.  This hybrid host's own
# cgroup2 mount has no controllers, so the limit checks only run here.
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP" || exit 1
exec "$TOP/tests/vm/run-in-vm" tests/vm/cgroup-v2.sh
