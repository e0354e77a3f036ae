#!/bin/bash
# Rootless limits under a delegated cgroup v2 subtree (this hybrid host has
# none): tests/vm/rootless-v2.sh in the qemu guest, where a user gets a
# subtree delegated like systemd's user@.service and runs hangar-oci with
# memory and pids limits that must bite.
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP" || exit 1
HANGAR_VM_TOOLS="${HANGAR_VM_TOOLS:-} setpriv" exec "$TOP/tests/vm/run-in-vm" tests/vm/rootless-v2.sh
