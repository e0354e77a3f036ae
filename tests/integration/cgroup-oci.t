#!/bin/bash
# linux.resources end to end through hangar-oci on this host's cgroup
# hierarchies (v1 on a hybrid/legacy host, v2 on a unified one): limits land
# in the container's cgroup, update/pause/resume/events/ps/kill --all act on
# it, an OOM is counted, a refused value names resource and file, and delete
# leaves no cgroup behind.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root to create cgroups"
[ -x "$OCI" ] || skip_all "$OCI is not built"
command -v jq >/dev/null || skip_all "jq is not installed"

root=${HANGAR_CGROUP_ROOT:-/sys/fs/cgroup}
if [ -f "$root/cgroup.controllers" ]; then
	v=2
	for c in memory pids cpu; do
		grep -qw "$c" "$root/cgroup.controllers" || skip_all "cgroup2 without the $c controller"
	done
else
	v=1
	for c in memory pids cpu freezer; do
		[ -d "$root/$c" ] || skip_all "cgroup v1 controller $c is not mounted at $root/$c"
	done
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
		awk -F: -v p="$cgpath" '$2 ~ /^(cpu|cpuacct|cpuset|memory|devices|freezer|blkio|pids)(,|$)/ {
			n++; if ($3 != p) bad = 1 } END { exit bad || n == 0 }' <<<"$cg"
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
if [ $v = 2 ]; then
	grep -qx "0::$cgpath" /proc/$pid/cgroup; ok $? "init is in $cgpath"
	is "$(cat "$(cgfile memory memory.max)")" 67108864 "memory.max"
	is "$(cat "$(cgfile pids pids.max)")" 32 "pids.max"
	is "$(cat "$(cgfile cpu cpu.max)")" "50000 100000" "cpu.max"
	is "$(cat "$(cgfile cpu cpu.weight)")" 20 "cpu.weight from shares 512"
else
	in_cgroup_everywhere $pid
	ok $? "init is in $cgpath in every hierarchy"
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

oci pause c1; ok $? "pause"
if [ $v = 2 ]; then
	grep -qx 'frozen 1' "$(cgfile x cgroup.events)"; ok $? "cgroup.events says frozen"
else
	is "$(cat "$(cgfile freezer freezer.state)")" FROZEN "freezer.state FROZEN"
fi
is "$(oci state c1 | jq -r .status)" paused "state paused"
oci resume c1; ok $? "resume"
is "$(oci state c1 | jq -r .status)" running "state running"

# An OOM inside the container: tail keeps the whole newline-free stream.
oci exec c1 sh -c 'tail /dev/zero' 2>/dev/null
is $? 137 "memory hog in the container is OOM-killed (137)"
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

done_testing
