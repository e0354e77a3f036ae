#!/bin/bash
# hangar set: limits change live (and persist with --save); a memory hog
# inside a lowered limit is OOM-killed and counted; stats report it.
HANGAR_TEST_PRIVATE_NET=1
. "$(dirname "$0")/lib.sh"
hangar_store
# cgfile CONTROLLER V1FILE V2FILE: the instance's cgroup file on this host.
cgfile() {
	local cg
	cg=$(jq -r '.linux.cgroupsPath' "$HANGAR_ROOT/instances/lim/config.json")
	if [ -d "/sys/fs/cgroup/$1" ]; then echo "/sys/fs/cgroup/$1$cg/$2"; else echo "/sys/fs/cgroup$cg/$3"; fi
}
MiB=$((1024 * 1024))

hg create lim --network none --memory 256M --cpus 1 -- sh -c 'exec sleep 1000' >/dev/null
hg start lim
ok $? "start lim with --memory 256M"
mem_file=$(cgfile memory memory.limit_in_bytes memory.max)
is "$(cat "$mem_file")" $((256 * MiB)) "256M limit in the cgroup"

out=$(hg set lim --memory 48M 2>&1)
ok $? "set --memory 48M live ($out)"
is "$(cat "$mem_file")" $((48 * MiB)) "cgroup limit lowered to 48M"
is "$(jq -r '.limits.memory' "$HANGAR_ROOT/instances/lim/instance.json")" $((256 * MiB)) "without --save instance.json keeps 256M"

hg exec lim -- dd if=/dev/zero of=/dev/null bs=96M count=1 >/dev/null 2>&1
rc=$?
is "$rc" 137 "a 96M memory hog inside the 48M limit is killed (SIGKILL)"
oom=$(hg stats --no-stream --format json lim | jq -r '.[0].oom_kills')
ok "$([ "${oom:-0}" -ge 1 ]; echo $?)" "OOM kill counted in stats (oom_kills=$oom)"
is "$(hg list --format json | jq -r '.[0].state')" RUNNING "the instance itself survives"
hg exec lim -- dd if=/dev/zero of=/dev/null bs=16M count=1 >/dev/null 2>&1
ok $? "a 16M allocation fits"

# A process holding 40M (dd blocked writing into a pipe nobody reads).
hg exec lim -- sh -c 'dd if=/dev/zero bs=40M count=1 2>/dev/null | sleep 1000' >/dev/null 2>&1 &
wait_for "[ \$(cat $(cgfile memory memory.usage_in_bytes memory.current)) -gt $((40 * MiB)) ]" 100
out=$(hg set lim --memory 8M 2>&1)
rc=$?
ok "$([ $rc != 0 ] && [ "$(echo "$out" | wc -l)" = 1 ]; echo $?)" "lowering below usage is refused with one line: $out"
is "$(cat "$mem_file")" $((48 * MiB)) "the old limit stays after the refusal"

out=$(hg set lim --cpus 0.25 --pids 50 2>&1)
ok $? "set --cpus 0.25 --pids 50 ($out)"
is "$(cat "$(cgfile cpu cpu.cfs_quota_us cpu.max)" | cut -d' ' -f1)" 25000 "cpu quota 25000 per 100000"
is "$(cat "$(cgfile pids pids.max pids.max)")" 50 "pids.max 50"

st=$(hg stats --no-stream --format json lim)
is "$(jq -r '.[0].memory_limit' <<<"$st")" $((48 * MiB)) "stats: memory limit"
ok "$(jq -e '.[0].memory_usage > 0 and .[0].pids >= 2 and (.[0].cpu_percent | type) == "number"' <<<"$st" >/dev/null; echo $?)" "stats: usage, pids, cpu percent"
hg stats --no-stream lim | grep -q '^lim '
ok $? "stats table has a row for lim"

out=$(hg set lim --memory 128M --save 2>&1)
ok $? "set --memory 128M --save ($out)"
is "$(jq -r '.limits.memory' "$HANGAR_ROOT/instances/lim/instance.json")" $((128 * MiB)) "--save records the limit in instance.json"
is "$(jq -r '.linux.resources.memory.limit' "$HANGAR_ROOT/instances/lim/config.json")" $((128 * MiB)) "--save regenerates config.json"
is "$(cat "$mem_file")" $((128 * MiB)) "and applies it live"

hg stop --timeout 0 lim
out=$(hg set lim --memory 64M 2>&1)
rc=$?
ok "$([ $rc = 4 ] && [[ "$out" == *"use --save"* ]]; echo $?)" "stopped instance: set without --save refused: $out"
hg set lim --memory 64M --cpus 2 --save
ok $? "stopped instance: set --save"
hg start lim
is "$(cat "$mem_file")" $((64 * MiB)) "the saved limit applies at the next start"
is "$(cat "$(cgfile cpu cpu.cfs_quota_us cpu.max)" | cut -d' ' -f1)" 200000 "saved --cpus 2 applies at the next start"
# Block I/O limits on the first real disk.
dev=$(lsblk -dno MAJ:MIN,TYPE 2>/dev/null | awk '$2 == "disk" {print $1; exit}' | tr -d ' ')
if [ -n "$dev" ] && [ -d /sys/fs/cgroup/blkio ]; then
	out=$(hg set lim --io-max "$dev:rbps=1M,wiops=100" --io-weight 300 --save 2>&1)
	ok $? "set --io-max $dev:rbps=1M,wiops=100 --io-weight 300 ($out)"
	is "$(cat "$(cgfile blkio blkio.throttle.read_bps_device x)")" "$dev 1048576" "read bps throttle on $dev"
	is "$(cat "$(cgfile blkio blkio.throttle.write_iops_device x)")" "$dev 100" "write iops throttle on $dev"
	if [ -f "$(cgfile blkio blkio.bfq.weight x)" ]; then
		like "$(cat "$(cgfile blkio blkio.bfq.weight x)")" "300" "BFQ weight 300"
	else
		skip "no BFQ weight file on this host"
	fi
	is "$(jq -c '.limits.io_max[0] | [.rbps, .wiops]' "$HANGAR_ROOT/instances/lim/instance.json")" "[1048576,100]" "--save records the I/O limits"
else
	skip "no disk or no v1 blkio hierarchy for --io-max"
fi
# --cpus is enforced: a busy loop under --cpus 0.25 gets about a quarter CPU.
hg run -d --network none --cpus 0.25 spin -- sh -c 'while :; do :; done' >/dev/null
sleep 1
cpu=$(hg stats --no-stream --format json spin | jq -r '.[0].cpu_percent | floor')
ok "$([ "$cpu" -ge 10 ] && [ "$cpu" -le 40 ]; echo $?)" "busy loop under --cpus 0.25 uses ${cpu}% of a CPU"
hg set spin --cpus 1
sleep 1
cpu=$(hg stats --no-stream --format json spin | jq -r '.[0].cpu_percent | floor')
ok "$([ "$cpu" -ge 35 ]; echo $?)" "after set --cpus 1 it uses ${cpu}% (more than the 25% cap; the machine may be busy)"
hg destroy --force spin
out=$(hg set lim --io-weight 5000 2>&1)
rc=$?
ok "$([ $rc = 2 ]; echo $?)" "--io-weight out of range: usage error ($out)"
done_testing
