#!/bin/bash
# tests/integration/cgroup-oci.t (linux.resources through hangar-oci) inside
# the qemu guest, where it exercises the cgroup v2 back-end, the BPF device
# filter of the default device list included.
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP" || exit 1
exec "$TOP/tests/vm/run-in-vm" tests/integration/cgroup-oci.t
