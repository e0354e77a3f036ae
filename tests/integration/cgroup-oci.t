#!/bin/bash
# linux.resources end to end through hangar-oci on this host's cgroup
# hierarchies (v1 on a hybrid/legacy host, v2 on a unified one): limits land
# in the container's cgroup, update/pause/resume/events/ps/kill --all act on
# it, an OOM is counted, a refused value names resource and file, and delete
# leaves no cgroup behind.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root to create cgroups"
[ -x "$OCI" ] || fail_all "$OCI is not built"
command -v jq >/dev/null || fail_all "jq is not installed (scripts/install-deps --test)"

# In the qemu guest (tests/vm/cgroup-oci.t) every controller exists: a
# missing one there is a broken harness, so it fails instead of skipping.
missing_controller() {
	if [ "${HANGAR_IN_VM:-}" = 1 ]; then
		echo "not ok 1 - $* (inside the test VM, where it must be present)"
		echo "1..1"
		exit 1
	fi
	skip_all "$*"
}
root=${HANGAR_CGROUP_ROOT:-/sys/fs/cgroup}
if [ -f "$root/cgroup.controllers" ]; then
	v=2
	for c in memory pids cpu cpuset io; do
		grep -qw "$c" "$root/cgroup.controllers" || missing_controller "cgroup2 without the $c controller"
	done
else
	v=1
	for c in memory pids cpu cpuacct cpuset blkio freezer devices; do
		[ -d "$root/$c" ] || missing_controller "cgroup v1 controller $c is not mounted at $root/$c"
	done
fi
# The mode hangar-oci should detect, from /proc/mounts rather than its own
# probe; tests/vm/cgroup-legacy.sh also names it in HANGAR_TEST_CGROUP_MODE.
if [ $v = 2 ]; then
	want_mode=unified
elif awk -v d="$root/unified" '$2 == d && $3 == "cgroup2" { f = 1 } END { exit !f }' /proc/mounts; then
	want_mode=hybrid
else
	want_mode=legacy
fi
if [ -n "${HANGAR_TEST_CGROUP_MODE:-}" ] && [ "$want_mode" != "$HANGAR_TEST_CGROUP_MODE" ]; then
	echo "not ok 1 - /proc/mounts says cgroup mode $want_mode, the caller expects $HANGAR_TEST_CGROUP_MODE"
	echo "1..1"
	exit 1
fi
parent=hangar-itest-$$-$RANDOM
cgpath=/$parent/c1

# cgfile CONTROLLER FILE: the file of container c1 in the controller's hierarchy.
cgfile() { if [ $v = 2 ]; then echo "$root$cgpath/$2"; else echo "$root/$1$cgpath/$2"; fi; }
leftovers() {
	if [ $v = 2 ]; then ls -d "$root/$parent" 2>/dev/null; else ls -d "$root"/*/"$parent" 2>/dev/null; fi
}
at_exit 'for d in $(leftovers); do find "$d" -depth -type d -exec rmdir {} \; ; done'

B=$TEST_TMP/b
# PID is in $cgpath: on v2 the one line, on v1 in each controller's
# hierarchy (the init and exec'd processes move themselves in on v1).
# A pid that is gone by now (the init's `sleep 1`) passes.
in_cgroup_everywhere() {
	local cg
	cg=$(cat /proc/$1/cgroup 2>/dev/null) || return 0
	if [ $v = 2 ]; then
		grep -qx "0::$cgpath" <<<"$cg"
	else
		# Each of these controllers, co-mounted (cpu,cpuacct) or not, has
		# a line with the container's path.
		awk -F: -v p="$cgpath" 'BEGIN { split("cpu cpuacct cpuset memory devices freezer blkio pids", want, " ") }
			$3 == p { n = split($2, cs, ","); for (i = 1; i <= n; i++) got[cs[i]] = 1 }
			END { for (k in want) if (!(want[k] in got)) exit 1 }' <<<"$cg"
	fi
}

make_bundle "$B" sh -c 'while :; do sleep 1; done'
cfg_edit "$B" ".linux.cgroupsPath = \"$cgpath\" |
	.linux.resources.memory = {limit: 67108864} |
	.linux.resources.pids = {limit: 32} |
	.linux.resources.cpu = {shares: 512, quota: 50000, period: 100000}"

# The container inherits stdio: a command substitution would wait for it.
oci run -d --bundle "$B" c1 >"$TEST_TMP/run.out" 2>&1
ok $? "run -d with memory/pids/cpu limits ($(cat "$TEST_TMP/run.out"))"
pid=$(oci state c1 | jq -r .pid)
is "$(jq -r '.cgroup | fromjson | .mode' "$OCI_ROOT/c1/state.json")" "$want_mode" \
	"cgroup mode detected as $want_mode (recorded in state.json)"
if [ $v = 2 ]; then
	grep -qx "0::$cgpath" /proc/$pid/cgroup; ok $? "init is in $cgpath"
	is "$(cat "$(cgfile memory memory.max)")" 67108864 "memory.max"
	is "$(cat "$(cgfile pids pids.max)")" 32 "pids.max"
	is "$(cat "$(cgfile cpu cpu.max)")" "50000 100000" "cpu.max"
	is "$(cat "$(cgfile cpu cpu.weight)")" 20 "cpu.weight from shares 512"
else
	in_cgroup_everywhere $pid
	ok $? "init is in $cgpath in every hierarchy"
	# docs/cgroups.md: named hierarchies are not joined, and in hybrid
	# mode the container stays out of the unified hierarchy.
	if grep -q '^[0-9]*:name=systemd:' /proc/$pid/cgroup; then
		! grep -q "^[0-9]*:name=systemd:$cgpath\$" /proc/$pid/cgroup
		ok $? "init is not placed in the name=systemd hierarchy"
	fi
	if [ $want_mode = hybrid ]; then
		! grep -qx "0::$cgpath" /proc/$pid/cgroup
		ok $? "hybrid: init is not placed in the unified hierarchy"
	fi
	is "$(cat "$(cgfile memory memory.limit_in_bytes)")" 67108864 "memory.limit_in_bytes"
	is "$(cat "$(cgfile pids pids.max)")" 32 "pids.max"
	is "$(cat "$(cgfile cpu cpu.cfs_quota_us)")" 50000 "cpu.cfs_quota_us"
	is "$(cat "$(cgfile cpu cpu.shares)")" 512 "cpu.shares"
fi

oci update --memory 134217728 --pids-limit 64 c1; ok $? "update --memory 128M --pids-limit 64"
if [ $v = 2 ]; then mem=$(cat "$(cgfile memory memory.max)"); else mem=$(cat "$(cgfile memory memory.limit_in_bytes)"); fi
is "$mem" 134217728 "memory limit updated live"
is "$(cat "$(cgfile pids pids.max)")" 64 "pids limit updated live"
echo '{"cpu": {"quota": 20000}}' >"$TEST_TMP/res.json"
oci update -r "$TEST_TMP/res.json" c1; ok $? "update -r resources.json"
if [ $v = 2 ]; then q=$(cut -d' ' -f1 "$(cgfile cpu cpu.max)"); else q=$(cat "$(cgfile cpu cpu.cfs_quota_us)"); fi
is "$q" 20000 "cpu quota updated live"

# Every update flag, checked in the cgroup files of this version.
# v2's cpu.weight is runc's shares conversion: 1 + (shares - 2) * 9999 / 262142.
oci update --cpu-shares 256 c1; ok $? "update --cpu-shares 256"
if [ $v = 2 ]; then
	is "$(cat "$(cgfile cpu cpu.weight)")" $((1 + (256 - 2) * 9999 / 262142)) "cpu.weight from shares 256"
else
	is "$(cat "$(cgfile cpu cpu.shares)")" 256 "cpu.shares"
fi
oci update --cpu-period 200000 --cpu-quota 30000 c1; ok $? "update --cpu-period 200000 --cpu-quota 30000"
if [ $v = 2 ]; then
	is "$(cat "$(cgfile cpu cpu.max)")" "30000 200000" "cpu.max"
else
	is "$(cat "$(cgfile cpu cpu.cfs_quota_us)") $(cat "$(cgfile cpu cpu.cfs_period_us)")" "30000 200000" \
		"cpu.cfs_quota_us and cpu.cfs_period_us"
fi
oci update --cpu-period 250000 c1; ok $? "update --cpu-period alone"
if [ $v = 2 ]; then
	is "$(cat "$(cgfile cpu cpu.max)")" "30000 250000" "cpu.max keeps the quota"
else
	is "$(cat "$(cgfile cpu cpu.cfs_quota_us)") $(cat "$(cgfile cpu cpu.cfs_period_us)")" "30000 250000" \
		"cpu.cfs_period_us changed, quota kept"
fi
oci update --cpuset-cpus 0 --cpuset-mems 0 c1; ok $? "update --cpuset-cpus 0 --cpuset-mems 0"
is "$(cat "$(cgfile cpuset cpuset.cpus)") $(cat "$(cgfile cpuset cpuset.mems)")" "0 0" "cpuset.cpus and cpuset.mems"
oci update --memory-reservation 33554432 c1; ok $? "update --memory-reservation 32M"
if [ $v = 2 ]; then f=memory.low; else f=memory.soft_limit_in_bytes; fi
is "$(cat "$(cgfile memory $f)")" 33554432 "$f"

# Swap alone pairs with the stored limit; a limit alone with the stored swap
# (v2's memory.swap.max is swap - limit, recomputed as runc does).
swapfile=memory.memsw.limit_in_bytes
[ $v = 2 ] && swapfile=memory.swap.max
if [ -e "$(cgfile memory $swapfile)" ]; then
	out=$(oci update --memory-swap 268435456 c1 2>&1); ok $? "update --memory-swap 256M alone ($out)"
	if [ $v = 2 ]; then want=$((268435456 - 134217728)); else want=268435456; fi
	is "$(cat "$(cgfile memory $swapfile)")" $want "$swapfile after --memory-swap alone"
	out=$(oci update --memory 201326592 c1 2>&1); ok $? "update --memory 192M alone ($out)"
	if [ $v = 2 ]; then want=$((268435456 - 201326592)); fi
	is "$(cat "$(cgfile memory $swapfile)")" $want "$swapfile recomputed after --memory alone"
	is "$(jq -c '.linux.resources.memory | [.limit, .swap]' "$OCI_ROOT/c1/config.json")" "[201326592,268435456]" \
		"stored config holds the merged limit and swap"
	oci update --memory 134217728 c1; ok $? "update --memory 128M alone (lowering)"
	if [ $v = 2 ]; then want=$((268435456 - 134217728)); fi
	is "$(cat "$(cgfile memory $swapfile)")" $want "$swapfile after lowering the limit"
	if [ $v = 2 ]; then
		is "$(cat "$(cgfile memory memory.high)")" max "memory.high back to its value after lowering"
	fi
else
	[ "${HANGAR_IN_VM:-}" = 1 ] && fail "no $swapfile inside the test VM" || skip "no swap accounting ($swapfile)"
fi

# blkio weight: v2 io.weight (runc's conversion) or io.bfq.weight; v1
# blkio.weight / blkio.bfq.weight.  A kernel whose block scheduler offers no
# weight file refuses with the file named.
# (bfq's files and io.weight print "default N", blkio.weight just N.)
if [ $v = 2 ]; then
	if [ -e "$(cgfile io io.bfq.weight)" ]; then wf=io.bfq.weight; want=300
	else wf=io.weight; want=$((1 + (300 - 10) * 9999 / 990)); fi
else
	if [ -e "$(cgfile blkio blkio.bfq.weight)" ]; then wf=blkio.bfq.weight; want=300
	elif [ -e "$(cgfile blkio blkio.weight)" ]; then wf=blkio.weight; want=300
	else wf=; fi
fi
out=$(oci update --blkio-weight 300 c1 2>&1); rc=$?
if [ -n "$wf" ]; then
	is "$rc" 0 "update --blkio-weight 300 ($out)"
	is "$(head -n1 "$(cgfile blkio $wf)" | awk '{ print $NF }')" "$want" "$wf = $want"
else
	[ $rc != 0 ]; ok $? "update --blkio-weight 300 refused: no weight file (no bfq scheduler)"
	like "$out" 'linux\.resources\.blockIO\.weight: .*blkio\.weight' "the refusal names blockIO.weight and the file"
	is "$(echo "$out" | wc -l)" 1 "the refusal is one line"
fi

# -r - reads fd 0 itself: a pipe, and a socket (where /dev/stdin is ENXIO).
echo '{"pids": {"limit": 40}}' | oci update -r - c1; ok $? "update -r - from a pipe"
is "$(cat "$(cgfile pids pids.max)")" 40 "pids.max from stdin"
out=$(echo '{"pids": {"limit": 48}}' | "$BUILD/tests/helpers/stdin-socket" "$OCI" --root "$OCI_ROOT" update -r - c1 2>&1)
ok $? "update -r - with stdin a socket ($out)"
is "$(cat "$(cgfile pids pids.max)")" 48 "pids.max from a socket stdin"

# devices in update -r are ignored (runc does the same): a deny-all here
# would otherwise also drop the default devices create allowed.
out=$(echo '{"devices": [{"allow": false, "access": "rwm"}]}' | oci update -r - c1 2>&1); ok $? "update -r with devices succeeds"
like "$out" 'devices is ignored' "update warns that devices are ignored"
oci exec c1 sh -c 'echo x >/dev/null && head -c1 /dev/zero >/dev/null'; ok $? "/dev/null and /dev/zero still work after update -r with devices"

# Lowering memory below what cannot be reclaimed (tmpfs pages, no swap) is
# refused in one line; the old limit (and memory.high) stay and nothing is
# OOM-killed.
oci exec -d --pid-file "$TEST_TMP/sleeper.pid" c1 sleep 1000 >/dev/null 2>&1
oci exec c1 dd if=/dev/zero of=/dev/shm/fill bs=1048576 count=40 2>/dev/null; ok $? "40 MiB written to the container's /dev/shm"
# The OOM-kill counter: v2 memory.events, v1 memory.oom_control.
oom_kills() {
	if [ $v = 2 ]; then f=memory.events; else f=memory.oom_control; fi
	awk '$1 == "oom_kill" { print $2 }' "$(cgfile memory $f)"
}
kills_before=$(oom_kills)
out=$(oci update --memory 16777216 c1 2>&1); rc=$?
[ $rc != 0 ]; ok $? "update --memory 16M below usage refused"
like "$out" 'memory limit 16777216 is below current usage [0-9]+' "the refusal says limit and usage ($out)"
is "$(echo "$out" | wc -l)" 1 "the refusal is one line"
if [ $v = 2 ]; then mem=$(cat "$(cgfile memory memory.max)"); else mem=$(cat "$(cgfile memory memory.limit_in_bytes)"); fi
is "$mem" 134217728 "old memory limit kept"
if [ $v = 2 ]; then is "$(cat "$(cgfile memory memory.high)")" max "memory.high unchanged"; fi
is "$(oom_kills)" "$kills_before" "no OOM kill during the refused update"

# A combined update refused for memory writes nothing: cpu quota and
# cpuset (set before memory) are put back, and config.json is unchanged.
if [ $v = 2 ]; then cpufiles="cpu.max"; memfiles="memory.max memory.high memory.swap.max"
else cpufiles="cpu.cfs_quota_us cpu.cfs_period_us"; memfiles="memory.limit_in_bytes memory.memsw.limit_in_bytes"; fi
snapshot() {
	for f in $cpufiles; do echo "$f=$(cat "$(cgfile cpu $f)")"; done
	echo "cpuset.cpus=$(cat "$(cgfile cpuset cpuset.cpus)")"
	for f in $memfiles; do [ -e "$(cgfile memory $f)" ] && echo "$f=$(cat "$(cgfile memory $f)")"; done
	echo "pids.max=$(cat "$(cgfile pids pids.max)")"
	jq -c .linux.resources "$OCI_ROOT/c1/config.json"
}
before=$(snapshot)
out=$(oci update --cpu-quota 10000 --cpu-period 100000 --cpuset-cpus 1 --pids-limit 7 --memory 16777216 c1 2>&1); rc=$?
[ $rc != 0 ]; ok $? "combined update --cpu-quota --cpuset-cpus --pids-limit --memory 16M refused"
like "$out" 'memory limit 16777216 is below current usage' "the refusal names memory ($out)"
is "$(snapshot)" "$before" "cpu, cpuset, memory and pids files and config.json exactly as before"
kill -0 "$pid" && kill -0 "$(cat "$TEST_TMP/sleeper.pid")"; ok $? "init and exec'd sleeper alive"

# checkBeforeUpdate (runc): refuse on usage alone, without reclaiming.
out=$(echo '{"memory": {"limit": 33554432, "checkBeforeUpdate": true}}' | oci update -r - c1 2>&1)
[ $? != 0 ]; ok $? "checkBeforeUpdate: a limit below usage is refused"
like "$out" 'checkBeforeUpdate: memory limit 33554432 is below current usage' "the refusal names checkBeforeUpdate ($out)"
if [ $v = 2 ]; then mem=$(cat "$(cgfile memory memory.max)"); else mem=$(cat "$(cgfile memory memory.limit_in_bytes)"); fi
is "$mem" 134217728 "old memory limit kept after the checkBeforeUpdate refusal"
oci exec c1 rm -f /dev/shm/fill
out=$(echo '{"memory": {"limit": 100663296, "checkBeforeUpdate": true}}' | oci update -r - c1 2>&1)
ok $? "checkBeforeUpdate: a limit above usage is accepted ($out)"
oci update --memory 134217728 c1; ok $? "limit back to 128M"

# pids.max stops a fork loop: 100 background sleeps under a limit of 16
# (the init, its sleep and the exec'd sleeper count too).
oci update --pids-limit 16 c1; ok $? "update --pids-limit 16"
pids_max_events() { awk '$1 == "max" { print $2 }' "$(cgfile pids pids.events)"; }
max_before=$(pids_max_events)
oci exec c1 sh -c 'i=0; while [ $i -lt 100 ]; do sleep 300 & i=$((i + 1)); done' >"$TEST_TMP/fork.out" 2>&1
rc=$?
cur=$(cat "$(cgfile pids pids.current)")
[ $rc != 0 ] && [ "$cur" -le 16 ]; ok $? "fork loop fails at pids.max (rc $rc, pids.current $cur)"
[ "$(pids_max_events)" -gt "$max_before" ]; ok $? "pids.events counts the refused forks ($max_before -> $(pids_max_events))"
oci update --pids-limit 64 c1; ok $? "update --pids-limit 64"
oci exec c1 sh -c 'sleep 300 & sleep 300 & true'; ok $? "forks work again after raising the limit"
oci exec c1 sh -c 'killall sleep 2>/dev/null; true'

# pause really stops the processes: a counter loop stands still while
# paused and moves again after resume.
oci exec -d c1 sh -c 'i=0; while :; do i=$((i + 1)); echo $i >/cnt.tmp; mv /cnt.tmp /cnt; done' >/dev/null 2>&1
wait_for "[ -s '$B/rootfs/cnt' ]" 100; ok $? "counter loop runs"
oci pause c1; ok $? "pause"
if [ $v = 2 ]; then
	grep -qx 'frozen 1' "$(cgfile x cgroup.events)"; ok $? "cgroup.events says frozen"
else
	is "$(cat "$(cgfile freezer freezer.state)")" FROZEN "freezer.state FROZEN"
fi
is "$(oci state c1 | jq -r .status)" paused "state paused"
c0=$(cat "$B/rootfs/cnt"); sleep 1; c1v=$(cat "$B/rootfs/cnt")
is "$c1v" "$c0" "counter stands still while paused"
oci resume c1; ok $? "resume"
is "$(oci state c1 | jq -r .status)" running "state running"
wait_for "[ \"\$(cat '$B/rootfs/cnt')\" -gt '$c1v' ]" 100; ok $? "counter moves again after resume"

# events --interval: a stats line per interval.
timeout 3.5 "$OCI" --root "$OCI_ROOT" events --interval 1s c1 >"$TEST_TMP/ev1.out" 2>&1
n=$(jq -r 'select(.type == "stats") | .type' "$TEST_TMP/ev1.out" | wc -l)
[ "$n" -ge 2 ]; ok $? "events --interval 1s printed $n stats lines in 3.5 s"

# events streams an oom line when a memory hog is OOM-killed.
"$OCI" --root "$OCI_ROOT" events --interval 60s c1 >"$TEST_TMP/ev2.out" 2>&1 &
evpid=$!
at_exit "kill $evpid"
wait_for "grep -q stats '$TEST_TMP/ev2.out'" 100
# An OOM inside the container: tail keeps the whole newline-free stream.
oci exec c1 sh -c 'tail /dev/zero' 2>/dev/null
is $? 137 "memory hog in the container is OOM-killed (137)"
wait_for "grep -q '\"type\":\"oom\"' '$TEST_TMP/ev2.out'" 50; ok $? "events printed an oom line"
kill $evpid 2>/dev/null; wait $evpid 2>/dev/null
stats=$(oci events --stats c1 2>&1); ok $? "events --stats"
is "$(echo "$stats" | jq -r .type)" stats "events type is stats"
is "$(echo "$stats" | jq -r .data.memory.usage.limit)" 134217728 "stats memory limit"
[ "$(echo "$stats" | jq -r .data.memory.usage.failcnt)" -gt 0 ]; ok $? "stats memory failcnt counts the OOM"
[ "$(echo "$stats" | jq -r '.data.pids.current // 0')" -ge 1 ]; ok $? "stats pids.current"
[ "$(echo "$stats" | jq -r '.data.cpu.usage.total // 0')" -gt 0 ]; ok $? "stats cpu usage"
if [ $v = 2 ]; then raw_key=anon; else raw_key=total_rss; fi
echo "$stats" | jq -e ".data.memory.raw.$raw_key != null" >/dev/null; ok $? "stats memory.raw carries memory.stat ($raw_key)"

oci exec -d c1 sleep 100 >/dev/null 2>&1; oci exec -d c1 sleep 100 >/dev/null 2>&1
wait_for "[ \$(oci ps --format json c1 | jq length) -ge 3 ]"; ok $? "ps lists init and two exec'd processes"
bad=
for p in $pid $(oci ps --format json c1 | jq -r '.[]'); do in_cgroup_everywhere $p || bad="$bad $p"; done
[ -z "$bad" ] && [ -e /proc/$pid ]; ok $? "init and exec'd processes are in $cgpath in every hierarchy (${bad:-all})"
oci kill --all c1 KILL; ok $? "kill --all"
wait_for "[ \"\$(oci state c1 | jq -r .status)\" = stopped ]"; ok $? "container stopped"
oci delete c1; ok $? "delete"
[ -z "$(leftovers)" ]; ok $? "no cgroup left below /$parent ($(leftovers | tr '\n' ' '))"

# A tiny memory limit does not kill the runtime's own init (runc #1980:
# Docker's minimum became 6 MiB; crun starts under 512 KiB): the init moves
# into the cgroup before it touches much memory.
cfg_edit "$B" '.process.args = ["sh", "-c", "echo small"] | .linux.resources = {memory: {limit: 524288}}'
out=$(oci run --bundle "$B" tiny 2>&1); rc=$?
is "$rc $out" "0 small" "a container starts and runs under a 512 KiB memory limit"
oci delete --force tiny >/dev/null 2>&1

# A value the kernel refuses: clear error, nothing left behind.
cfg_edit "$B" '.linux.resources = {cpu: {cpus: "99"}}'
oci run -d --bundle "$B" c2 >"$TEST_TMP/run2.out" 2>&1; [ $? != 0 ]; ok $? "run with cpus 99 fails"
err=$(cat "$TEST_TMP/run2.out")
like "$err" 'linux\.resources\.cpu\.cpus: .*write 99 to cpuset\.cpus' "error names the resource and the file"
oci delete --force c2 >/dev/null 2>&1
[ -z "$(leftovers)" ]; ok $? "failed create left no cgroup"

# --systemd-cgroup where systemd is not the init system (this host, the VM
# guests): refused before anything is made: one line naming the flag and the
# reason, no state directory, no cgroup.
cfg_edit "$B" ".process.args = [\"sleep\", \"100\"] | .linux.cgroupsPath = \"/$parent/sd1\" | .linux.resources = {pids: {limit: 8}}"
if [ ! -d /run/systemd/system ]; then
	for verb in run create; do
		capture "$OCI" --root "$OCI_ROOT" --systemd-cgroup $verb --bundle "$B" sd1; rc=$?
		[ $rc != 0 ]; ok $? "--systemd-cgroup $verb fails (rc $rc)"
		like "$out" '^hangar-oci: .*--systemd-cgroup: systemd is not the init system here' \
			"--systemd-cgroup $verb: the error names the flag and the reason ($out)"
		is "$(echo "$out" | wc -l)" 1 "--systemd-cgroup $verb: the error is one line"
		[ ! -e "$OCI_ROOT/sd1" ] && [ -z "$(leftovers)" ]
		ok $? "--systemd-cgroup $verb: no state directory and no cgroup left"
	done
fi
# Where systemd is the init system (sd_booted: /run/systemd/system, given
# here in a mount namespace of the test's own): cgroupsPath must be
# slice:prefix:name, and the scope is made through cgroupfs.
sdslice=hgisd${$}x$RANDOM.slice
at_exit 'for d in $(ls -d "$root/$sdslice" "$root"/*/"$sdslice" 2>/dev/null); do find "$d" -depth -type d -exec rmdir {} \; ; done'
as_systemd_host() {
	unshare -m sh -c 'mount --make-rprivate / && mount -t tmpfs hgsd /run && mkdir -p /run/systemd/system && exec "$@"' sh "$@"
}
capture as_systemd_host "$OCI" --root "$OCI_ROOT" --systemd-cgroup run -d --bundle "$B" sd1; rc=$?
[ $rc != 0 ]; ok $? "--systemd-cgroup with an absolute cgroupsPath fails where systemd is init (rc $rc)"
like "$out" 'linux\.cgroupsPath: with --systemd-cgroup it must be "slice:prefix:name"' "and says the form it needs ($out)"
[ ! -e "$OCI_ROOT/sd1" ] && [ -z "$(leftovers)" ]; ok $? "nothing left by the refusal"
cfg_edit "$B" ".linux.cgroupsPath = \"$sdslice:hangar:sd2\""
as_systemd_host "$OCI" --root "$OCI_ROOT" --systemd-cgroup run -d --bundle "$B" sd2 >"$TEST_TMP/sd2.out" 2>&1 </dev/null
ok $? "--systemd-cgroup run -d with $sdslice:hangar:sd2 ($(cat "$TEST_TMP/sd2.out"))"
sdpid=$(oci state sd2 | jq -r .pid)
grep -qE "^[0-9]+:([^:]*,)?pids(,[^:]*)?:/$sdslice/hangar-sd2.scope\$|^0::/$sdslice/hangar-sd2.scope\$" /proc/$sdpid/cgroup
ok $? "the init is in /$sdslice/hangar-sd2.scope"
oci delete --force sd2 >/dev/null 2>&1; ok $? "delete"
[ -z "$(ls -d "$root/$sdslice" "$root"/*/"$sdslice" 2>/dev/null)" ]; ok $? "delete removed the scope and the slice"

# A systemd-style "slice:prefix:name" cgroupsPath without --systemd-cgroup
# goes through cgroupfs (docs/cgroups.md): slice expanded, prefix-name.scope,
# and delete removes the scope and the slice it made.
slice=hgitest${$}x$RANDOM.slice
at_exit 'for d in $(ls -d "$root/$slice" "$root"/*/"$slice" 2>/dev/null); do find "$d" -depth -type d -exec rmdir {} \; ; done'
cfg_edit "$B" ".linux.cgroupsPath = \"$slice:hangar:sl1\""
oci run -d --bundle "$B" sl1 >"$TEST_TMP/sl1.out" 2>&1; ok $? "run -d with cgroupsPath $slice:hangar:sl1 ($(cat "$TEST_TMP/sl1.out"))"
slpid=$(oci state sl1 | jq -r .pid)
grep -qE "^[0-9]+:([^:]*,)?pids(,[^:]*)?:/$slice/hangar-sl1.scope\$|^0::/$slice/hangar-sl1.scope\$" /proc/$slpid/cgroup
ok $? "init is in /$slice/hangar-sl1.scope"
is "$(cat "$(if [ $v = 2 ]; then echo "$root"; else echo "$root/pids"; fi)/$slice/hangar-sl1.scope/pids.max")" 8 \
	"pids.max set in the scope"
oci delete --force sl1; ok $? "delete --force"
[ -z "$(ls -d "$root/$slice" "$root"/*/"$slice" 2>/dev/null)" ]; ok $? "no $slice left in any hierarchy"

# A cgroup already in use is refused (runc: "container's cgroup is not
# empty"): a second container with the same cgroupsPath would otherwise share
# it, and its delete or failed create would SIGKILL the first's processes.
shared=/$parent/shared
cfg_edit "$B" ".process.args = [\"sleep\", \"1000\"] | .linux.cgroupsPath = \"$shared\" | .linux.resources = {pids: {limit: 20}}"
oci run -d --bundle "$B" sh1 >"$TEST_TMP/sh1.out" 2>&1; ok $? "run -d sh1 in $shared ($(cat "$TEST_TMP/sh1.out"))"
shpid=$(oci state sh1 | jq -r .pid)
cfg_edit "$B" '.linux.resources = {pids: {limit: 5}}'
capture oci run -d --bundle "$B" sh2; rc=$?
[ $rc != 0 ]; ok $? "run sh2 with the same cgroupsPath fails (rc $rc)"
like "$out" "linux\\.cgroupsPath: cgroup $shared is not empty \\([0-9]+ process" \
	"the error names the non-empty cgroup ($out)"
is "$(echo "$out" | wc -l)" 1 "the refusal is one line"
kill -0 "$shpid"; ok $? "sh1's init is still alive"
grep -qE "^[0-9]+:([^:]*,)?pids(,[^:]*)?:$shared\$|^0::$shared\$" /proc/$shpid/cgroup; ok $? "sh1's init is still in $shared"
if [ $v = 2 ]; then pf=$root$shared/pids.max; else pf=$root/pids$shared/pids.max; fi
is "$(cat "$pf")" 20 "sh1's pids.max untouched by the refused create"
[ ! -e "$OCI_ROOT/sh2" ]; ok $? "no state left for sh2"
oci delete --force sh1; ok $? "delete --force sh1"

# A cgroup that exists but is empty is used; a create that fails in it
# leaves it in place (it was not made by this create), and so does delete.
pre=/$parent/pre
if [ $v = 2 ]; then
	predirs=$root$pre
else
	predirs=
	for c in memory pids cpu cpuacct cpuset blkio freezer devices; do predirs="$predirs $root/$c$pre"; done
fi
for d in $predirs; do mkdir -p "$d"; done
if [ $v = 1 ]; then
	# A new v1 cpuset cgroup starts with no cpus or mems.
	for d in "$root/cpuset/$parent" "$root/cpuset$pre"; do
		cat "$root/cpuset/cpuset.cpus" >"$d/cpuset.cpus" && cat "$root/cpuset/cpuset.mems" >"$d/cpuset.mems"
	done
fi
pre_all() { for d in $predirs; do [ -d "$d" ] || return 1; done; }
cfg_edit "$B" ".linux.cgroupsPath = \"$pre\" | .linux.resources = {cpu: {cpus: \"99\"}}"
capture oci run -d --bundle "$B" pre1; rc=$?
[ $rc != 0 ]; ok $? "run with cpus 99 in the pre-existing $pre fails ($out)"
pre_all; ok $? "the failed create left the pre-existing cgroup in place"
# Failing later (no such program): the runtime's cleanup destroys the
# cgroup manager, which must not remove (or kill in) what it did not make.
cfg_edit "$B" '.linux.resources = {pids: {limit: 9}} | .process.args = ["/hangar-no-such-program"]'
capture oci run -d --bundle "$B" pre1; rc=$?
[ $rc != 0 ]; ok $? "run of a missing program in $pre fails ($out)"
pre_all && [ ! -e "$OCI_ROOT/pre1" ]; ok $? "its cleanup left the pre-existing cgroup in place, no state"
cfg_edit "$B" '.process.args = ["sleep", "1000"]'
oci run -d --bundle "$B" pre2 >"$TEST_TMP/pre2.out" 2>&1; ok $? "run -d in the pre-existing empty $pre ($(cat "$TEST_TMP/pre2.out"))"
if [ $v = 2 ]; then pf=$root$pre/pids.max; else pf=$root/pids$pre/pids.max; fi
is "$(cat "$pf")" 9 "pids.max set in the pre-existing cgroup"
oci delete --force pre2; ok $? "delete --force pre2"
pre_all; ok $? "delete leaves a cgroup it did not make"

# A frozen one is refused: the init would stop before running anything.
if [ $v = 2 ]; then echo 1 >"$root$pre/cgroup.freeze"; else echo FROZEN >"$root/freezer$pre/freezer.state"; fi
capture oci run -d --bundle "$B" pre3; rc=$?
[ $rc != 0 ]; ok $? "run in the frozen $pre fails (rc $rc)"
like "$out" "linux\\.cgroupsPath: cgroup $pre is frozen" "the error names the frozen cgroup ($out)"
is "$(echo "$out" | wc -l)" 1 "the refusal is one line"
[ ! -e "$OCI_ROOT/pre3" ] && pre_all; ok $? "no state left, the frozen cgroup still there"
if [ $v = 2 ]; then echo 0 >"$root$pre/cgroup.freeze"; else echo THAWED >"$root/freezer$pre/freezer.state"; fi
for d in $predirs; do rmdir "$d" "$(dirname "$d")" 2>/dev/null; done
[ -z "$(leftovers)" ]; ok $? "no cgroup left below /$parent ($(leftovers | tr '\n' ' '))"

done_testing
