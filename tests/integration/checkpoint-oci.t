#!/bin/bash
# hangar-oci checkpoint/restore through CRIU: state survives (a counter kept
# only in memory continues, the log written through an fd opened before the
# dump has no gap, the socketpair to the child still answers, the pids inside
# are the same), chains of round trips, --leave-running, a container with
# limits, restore under another id.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "checkpoint/restore needs root"

# The workload, static so it runs in the busybox root.
WORKLOAD=$TEST_TMP/ckpt-workload
${CC:-cc} -static -O2 -o "$WORKLOAD" "$TOP/tests/helpers/ckpt-workload.c" || { fail "build ckpt-workload"; done_testing; exit 1; }

# workload_bundle DIR DATA: the workload writes into DATA, bound at /data.
workload_bundle() {
	local dir=$1 data=$2
	make_bundle "$dir" /bin/ckpt-workload /data || return 1
	cp "$WORKLOAD" "$dir/rootfs/bin/ckpt-workload"
	mkdir -p "$data" "$dir/rootfs/data"
	cfg_edit "$dir" ".mounts += [{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"$data\",\"options\":[\"rbind\",\"rw\"]}]"
}

counter() { awk '{print $1}' "$1/state" 2>/dev/null || echo 0; }
status_of() { awk '{print $4}' "$1/state" 2>/dev/null; }
inner_pids() { awk '{print $2, $3}' "$1/state" 2>/dev/null; }
# The log has every value from 1 to its last line, once, in order.
log_continuous() { awk 'NR != $1 { bad = 1 } END { exit bad || NR == 0 }' "$1/log"; }
# cgroup_dir PID CONTROLLER: the host directory of PID's cgroup for a v1
# controller, or the v2 directory.
cgroup_dir() {
	local pid=$1 ctrl=$2 line
	line=$(grep -E "^[0-9]+:([^:]*,)?$ctrl(,[^:]*)?:" "/proc/$pid/cgroup")
	if [ -n "$line" ]; then echo "/sys/fs/cgroup/$ctrl${line##*:}"; else echo "/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$pid/cgroup")"; fi
}
no_cgroup_named() { ! ls -d /sys/fs/cgroup/*/hangar/"$1" /sys/fs/cgroup/hangar/"$1" >/dev/null 2>&1; }

# ---- one container, three round trips -------------------------------------
B=$TEST_TMP/b1
D=$TEST_TMP/data1
workload_bundle "$B" "$D"
oci run -d --bundle "$B" c1 </dev/null >/dev/null 2>"$TEST_TMP/run.err"; ok $? "run the workload ($(cat "$TEST_TMP/run.err"))"
wait_for "[ \$(counter $D) -ge 5 ]"; ok $? "workload counts"
pids_before=$(inner_pids "$D")
pid1=$(oci state c1 | jq -r .pid)

oci checkpoint --image-path "$TEST_TMP/img1" c1 2>"$TEST_TMP/err"; ok $? "checkpoint ($(cat "$TEST_TMP/err"))"
[ -s "$TEST_TMP/img1/hangar-checkpoint.json" ] && [ -s "$TEST_TMP/img1/config.json" ]; ok $? "image has the manifest and the config"
oci state c1 >/dev/null 2>&1; [ $? != 0 ]; ok $? "the checkpointed container is gone"
[ ! -d "/proc/$pid1" ] || ! grep -q ckpt-workload "/proc/$pid1/cmdline" 2>/dev/null; ok $? "its init is gone"
no_cgroup_named c1; ok $? "its cgroup is gone"
at_dump=$(counter "$D")
sleep 0.3
is "$(counter "$D")" "$at_dump" "nothing runs between checkpoint and restore"

for round in 1 2 3; do
	img=$TEST_TMP/img$round
	if [ "$round" -gt 1 ]; then
		oci checkpoint --image-path "$img" c1 2>"$TEST_TMP/err"; ok $? "round $round: checkpoint again ($(cat "$TEST_TMP/err"))"
		at_dump=$(counter "$D")
	fi
	oci restore -d --image-path "$img" --bundle "$B" c1 </dev/null >/dev/null 2>"$TEST_TMP/err"
	ok $? "round $round: restore ($(cat "$TEST_TMP/err"))"
	is "$(oci state c1 | jq -r .status)" running "round $round: state says running"
	wait_for "[ \$(counter $D) -ge $((at_dump + 5)) ]"; ok $? "round $round: the counter continues from $at_dump (now $(counter "$D"))"
	is "$(status_of "$D")" ok "round $round: the socketpair and memory checks pass"
	is "$(inner_pids "$D")" "$pids_before" "round $round: pids inside are the same ($pids_before)"
	log_continuous "$D"; ok $? "round $round: the log written through the old fd has no gap or restart"
	pid=$(oci state c1 | jq -r .pid)
	is "$(awk '/^NSpid:/ {print $NF}' "/proc/$pid/status")" 1 "round $round: the restored init is pid 1 of a new pid namespace"
	grep -q " /data " "/proc/$pid/mountinfo"; ok $? "round $round: the bind mount is back"
done

# ---- --leave-running -------------------------------------------------------
oci checkpoint --leave-running --image-path "$TEST_TMP/img-lr" c1 2>"$TEST_TMP/err"; ok $? "checkpoint --leave-running ($(cat "$TEST_TMP/err"))"
is "$(oci state c1 | jq -r .status)" running "the container keeps running"
before=$(counter "$D")
wait_for "[ \$(counter $D) -ge $((before + 3)) ]"; ok $? "and keeps counting"
oci delete --force c1; ok $? "delete the original"
oci restore -d --image-path "$TEST_TMP/img-lr" --bundle "$B" c1b </dev/null >/dev/null 2>"$TEST_TMP/err"
ok $? "restore the --leave-running image as another id ($(cat "$TEST_TMP/err"))"
log_jumps() { awk 'NR > 1 && $1 != p + 1 { print p "->" $1 } { p = $1 }' "$1/log"; }
wait_for "[ -n \"\$(log_jumps $D)\" ] && [ \$(tail -n1 $D/log) -gt \$(log_jumps $D | head -n1 | cut -d'>' -f2) ]"
jumps=$(log_jumps "$D")
like "$jumps" '^[0-9]+->[0-9]+$' "the log shows exactly one jump back to the dumped state ($jumps)"
from=${jumps%->*}; to=${jumps#*->}
[ -n "$to" ] && [ "$to" -gt 1 ] && [ "$to" -le "$from" ]; ok $? "restored counter resumes from the dump, not from 1 ($jumps)"
oci delete --force c1b

# ---- limits follow the restored container ----------------------------------
B2=$TEST_TMP/b2
D2=$TEST_TMP/data2
workload_bundle "$B2" "$D2"
cfg_edit "$B2" '.linux.resources.memory = {"limit": 268435456} | .linux.resources.pids = {"limit": 64} | .linux.resources.cpu = {"shares": 512}'
oci run -d --bundle "$B2" lim </dev/null >/dev/null 2>&1; ok $? "run a container with limits"
wait_for "[ \$(counter $D2) -ge 3 ]"
oci checkpoint --image-path "$TEST_TMP/img-lim" lim 2>"$TEST_TMP/err"; ok $? "checkpoint it ($(cat "$TEST_TMP/err"))"
oci restore -d --image-path "$TEST_TMP/img-lim" --bundle "$B2" lim2 </dev/null >/dev/null 2>"$TEST_TMP/err"
ok $? "restore it as lim2 ($(cat "$TEST_TMP/err"))"
pid=$(oci state lim2 | jq -r .pid)
mem=$(cgroup_dir "$pid" memory); pids=$(cgroup_dir "$pid" pids); cpu=$(cgroup_dir "$pid" cpu)
like "$mem" '/hangar/lim2$' "the restored init sits in the runtime's new cgroup ($mem)"
if [ -f "$mem/memory.limit_in_bytes" ]; then
	is "$(cat "$mem/memory.limit_in_bytes")" 268435456 "memory limit applies after restore (v1)"
	is "$(cat "$cpu/cpu.shares")" 512 "cpu shares apply after restore (v1)"
else
	is "$(cat "$mem/memory.max")" 268435456 "memory limit applies after restore (v2)"
	is "$(cat "$cpu/cpu.weight")" 20 "cpu weight applies after restore (v2)"
fi
is "$(cat "$pids/pids.max")" 64 "pids limit applies after restore"
grep -qx "$pid" "$pids/cgroup.procs"; ok $? "the init is listed in the cgroup"
wait_for "[ \$(counter $D2) -ge 6 ]"; ok $? "the restored workload runs"
no_cgroup_named lim; ok $? "no cgroup of the old id is left"
oci delete --force lim2; ok $? "delete the restored container"
no_cgroup_named lim2; ok $? "delete removes the restored cgroup"

# ---- a read-only root stays read-only --------------------------------------
B5=$TEST_TMP/b5
D5=$TEST_TMP/data5
workload_bundle "$B5" "$D5"
cfg_edit "$B5" '.root.readonly = true'
oci run -d --bundle "$B5" ro </dev/null >/dev/null 2>&1; ok $? "run with a read-only root"
wait_for "[ \$(counter $D5) -ge 3 ]"
oci exec ro touch /written-before 2>/dev/null; [ $? != 0 ]; ok $? "the root is read-only before"
oci checkpoint --image-path "$TEST_TMP/img-ro" ro 2>"$TEST_TMP/err"; ok $? "checkpoint ($(cat "$TEST_TMP/err"))"
oci restore -d --image-path "$TEST_TMP/img-ro" --bundle "$B5" ro </dev/null >/dev/null 2>"$TEST_TMP/err"; ok $? "restore ($(cat "$TEST_TMP/err"))"
oci exec ro touch /written-after 2>/dev/null; [ $? != 0 ]; ok $? "the root is still read-only after restore"
[ ! -e "$B5/rootfs/written-after" ]; ok $? "nothing was written into the root"
wait_for "[ \$(counter $D5) -ge 6 ]"; ok $? "the workload runs (its bind mount is writable)"
oci delete --force ro

# ---- foreground restore: waits for the init and returns its exit status ------
B4=$TEST_TMP/b4
make_bundle "$B4" sh -c 'n=0; while [ $n -lt 30 ]; do n=$((n+1)); echo $n > /tmp/counter; sleep 0.1; done; exit 7'
oci run -d --bundle "$B4" fg </dev/null >/dev/null 2>&1
wait_for "[ \$(cat $B4/rootfs/tmp/counter 2>/dev/null || echo 0) -ge 5 ]"
oci checkpoint --image-path "$TEST_TMP/img-fg" fg 2>"$TEST_TMP/err"; ok $? "checkpoint a container that exits 7 after 30 ticks ($(cat "$TEST_TMP/err"))"
at=$(cat "$B4/rootfs/tmp/counter")
oci restore --image-path "$TEST_TMP/img-fg" --bundle "$B4" fg </dev/null >/dev/null 2>"$TEST_TMP/err"
is $? 7 "a foreground restore waits and returns the restored init's exit status"
is "$(cat "$B4/rootfs/tmp/counter")" 30 "the loop ran to its end from $at"
[ ! -e "$OCI_ROOT/fg" ]; ok $? "and the container is deleted afterwards, as with run"

# ---- memory through a criu page server (what migration tools use) ------------
CRIU=${HANGAR_CRIU:-/opt/hangar/criu/bin/criu}
mkdir -p "$TEST_TMP/ps-pages"
port=$((20000 + $$ % 20000))
"$CRIU" page-server --images-dir "$TEST_TMP/ps-pages" --address 127.0.0.1 --port "$port" -d \
	--pidfile "$TEST_TMP/ps.pid" -o "$TEST_TMP/ps-pages/page-server.log" >/dev/null 2>&1
ok $? "a criu page server listens on 127.0.0.1:$port"
at_exit "kill \$(cat $TEST_TMP/ps.pid)"
oci run -d --bundle "$B2" pgs </dev/null >/dev/null 2>&1
wait_for "[ \$(counter $D2) -ge 3 ]"
oci checkpoint --page-server "127.0.0.1:$port" --image-path "$TEST_TMP/img-ps" pgs 2>"$TEST_TMP/err"
ok $? "checkpoint --page-server ($(cat "$TEST_TMP/err"))"
ls "$TEST_TMP/ps-pages"/pages-*.img >/dev/null 2>&1 && ! ls "$TEST_TMP/img-ps"/pages-*.img >/dev/null 2>&1
ok $? "the memory went to the page server, not into the image directory"
cp "$TEST_TMP/ps-pages"/pages-*.img "$TEST_TMP/ps-pages"/pagemap-*.img "$TEST_TMP/img-ps/"
at=$(counter "$D2")
oci restore -d --image-path "$TEST_TMP/img-ps" --bundle "$B2" pgs </dev/null >/dev/null 2>"$TEST_TMP/err"
ok $? "restore from the images and the served pages ($(cat "$TEST_TMP/err"))"
wait_for "[ \$(counter $D2) -ge $((at + 3)) ]"; ok $? "the workload continues from $at"
is "$(awk '{print $4}' "$D2/state")" ok "its memory checksum holds"
oci delete --force pgs

# ---- a paused container stays paused; a joined network namespace --------------
B3=$TEST_TMP/b3
D3=$TEST_TMP/data3
workload_bundle "$B3" "$D3"
NETNS=hgck-$$
ip netns add "$NETNS" && at_exit "ip netns del $NETNS"
cfg_edit "$B3" "(.linux.namespaces[] | select(.type == \"network\")) .path = \"/run/netns/$NETNS\""
oci run -d --bundle "$B3" pn </dev/null >/dev/null 2>&1; ok $? "run a container in a joined network namespace"
wait_for "[ \$(counter $D3) -ge 3 ]"
oci pause pn; ok $? "pause it"
oci checkpoint --leave-running --image-path "$TEST_TMP/img-pn" pn 2>"$TEST_TMP/err"; ok $? "checkpoint --leave-running while paused ($(cat "$TEST_TMP/err"))"
is "$(oci state pn | jq -r .status)" paused "it is still paused"
is "$(jq -r .external_netns "$TEST_TMP/img-pn/hangar-checkpoint.json")" true "the joined namespace is recorded as external"
oci delete --force pn
oci restore -d --image-path "$TEST_TMP/img-pn" --bundle "$B3" pn2 </dev/null >/dev/null 2>"$TEST_TMP/err"; ok $? "restore it ($(cat "$TEST_TMP/err"))"
pid=$(oci state pn2 | jq -r .pid)
is "$(stat -L -c %i "/proc/$pid/ns/net")" "$(stat -L -c %i "/run/netns/$NETNS")" "the restored container is back in the joined network namespace"
wait_for "[ \$(counter $D3) -ge 6 ]"; ok $? "and runs (it was dumped frozen, restored running)"
oci delete --force pn2

done_testing
