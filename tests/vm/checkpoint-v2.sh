#!/bin/bash
# Guest side of tests/vm/checkpoint-v2.t: hangar-oci checkpoint/restore on a
# pure cgroup v2 host (this machine's own cgroup2 mount has no controllers):
# criu freezes through cgroup.freeze, the restore lands in the cgroup the
# runtime made under a new id with its limits, and repeated freezes work
# (criu #1034).  Prints TAP; exits with the number of failures.
set -u
BUILD=${BUILD:-$TOP/build}
OCI=$BUILD/hangar-oci
. "$(dirname "$0")/guest-tap.sh"
is() { if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3"; echo "#   got '$1', expected '$2'"; fi; }
wait_for() { local i; for i in $(seq "${2:-100}"); do eval "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
echo "# guest kernel $(uname -r)"
grep -q '^cgroup2 /sys/fs/cgroup cgroup2 ' /proc/mounts; ok $? "cgroup2 mounted at /sys/fs/cgroup"
criu=${HANGAR_CRIU:-/opt/hangar/criu/bin/criu}
"$criu" check >/tmp/criu-check.log 2>&1; rc=$?
ok $rc "criu check passes in the guest"
[ $rc = 0 ] || sed 's/^/#   /' /tmp/criu-check.log | tail -n 5

tmp=$(mktemp -d /tmp/ckv2.XXXXXX)
root=$tmp/state
oci() { "$OCI" --root "$root" "$@"; }
b=$tmp/bundle
mkdir -p "$b"
"$TOP/scripts/mkrootfs-busybox" "$b/rootfs" >/dev/null
(cd "$b" && "$OCI" spec)
# The guest's cloud kernel fails criu's netns link dump (netlink EINVAL):
# this test is about cgroup v2, so the container keeps the host's network.
jq '.process.terminal = false | .root.readonly = false
    | .linux.namespaces |= map(select(.type != "network"))
    | .process.args = ["sh", "-c", "n=0; while :; do n=$((n+1)); echo $n > /tmp/counter; sleep 0.1; done"]
    | .linux.resources.memory = {"limit": 67108864} | .linux.resources.pids = {"limit": 32}' \
	"$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"
counter() { cat "$b/rootfs/tmp/counter" 2>/dev/null || echo 0; }

oci run -d --bundle "$b" v2a </dev/null >/dev/null 2>"$tmp/err"; ok $? "run ($(cat "$tmp/err"))"
wait_for "[ \$(counter) -ge 3 ]"; ok $? "the loop counts"
oci checkpoint --image-path "$tmp/img1" v2a 2>"$tmp/err"; rc=$?
ok $rc "checkpoint through cgroup.freeze ($(cat "$tmp/err"))"
[ $rc = 0 ] || grep -B3 -E "Error|Warn" "$tmp/img1/dump.log" | tail -n 25 | sed 's/^/#   /' 
[ ! -d /sys/fs/cgroup/hangar/v2a ]; ok $? "the checkpointed container's cgroup is gone"
at=$(counter)
oci restore -d --image-path "$tmp/img1" --bundle "$b" v2b </dev/null >/dev/null 2>"$tmp/err"; ok $? "restore as v2b ($(cat "$tmp/err"))"
pid=$(oci state v2b | jq -r .pid)
is "$(sed -n 's/^0:://p' "/proc/$pid/cgroup")" /hangar/v2b "the init sits in the runtime's new cgroup"
is "$(cat /sys/fs/cgroup/hangar/v2b/memory.max)" 67108864 "memory.max applies after restore"
is "$(cat /sys/fs/cgroup/hangar/v2b/pids.max)" 32 "pids.max applies after restore"
is "$(cat /sys/fs/cgroup/hangar/v2b/cgroup.freeze)" 0 "the cgroup is not left frozen"
wait_for "[ \$(counter) -ge $((at + 3)) ]"; ok $? "the loop continues from $at"
# Repeated freezes of the same cgroup2 (criu #1034).
for round in 1 2; do
	oci checkpoint --leave-running --image-path "$tmp/lr$round" v2b 2>"$tmp/err"
	ok $? "checkpoint --leave-running, round $round ($(cat "$tmp/err"))"
	is "$(cat /sys/fs/cgroup/hangar/v2b/cgroup.freeze)" 0 "round $round: thawed afterwards"
	c=$(counter)
	wait_for "[ \$(counter) -gt $c ]"; ok $? "round $round: still counting"
done
oci pause v2b
oci checkpoint --leave-running --image-path "$tmp/paused" v2b 2>"$tmp/err"; ok $? "checkpoint of a paused container ($(cat "$tmp/err"))"
is "$(oci state v2b | jq -r .status)" paused "it stays paused"
oci resume v2b
oci checkpoint --image-path "$tmp/img2" v2b 2>"$tmp/err"; ok $? "checkpoint again ($(cat "$tmp/err"))"
oci restore -d --image-path "$tmp/img2" --bundle "$b" v2b </dev/null >/dev/null 2>"$tmp/err"; ok $? "restore under the same id ($(cat "$tmp/err"))"
c=$(counter)
wait_for "[ \$(counter) -gt $c ]"; ok $? "the second restore runs"
oci delete --force v2b; ok $? "delete"
[ ! -d /sys/fs/cgroup/hangar/v2b ]; ok $? "delete removes the restored cgroup"
rm -rf "$tmp"
finish
