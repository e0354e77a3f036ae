#!/bin/bash
# What an operator sees of a running instance: `stats` refreshing live
# (docker stats' default), `list`'s uptime moving, and what create's
# --cpuset, --env and --hostname put into the instance; stats counting the
# instance's block I/O.
HANGAR_TEST_PRIVATE_NET=1
. "$(dirname "$0")/lib.sh"
hangar_store
# cgfile NAME CONTROLLER V1FILE V2FILE: the instance's cgroup file on this host.
cgfile() {
	local cg
	cg=$(jq -r '.linux.cgroupsPath' "$HANGAR_ROOT/instances/$1/config.json")
	if [ -d "/sys/fs/cgroup/$2" ]; then echo "/sys/fs/cgroup/$2$cg/$3"; else echo "/sys/fs/cgroup$cg/$4"; fi
}
ncpu=$(nproc)
last_cpu=$((ncpu - 1))

out=$(hg create obs --network none --cpuset "$last_cpu" --env GREETING=hello-env --env EMPTY= \
	--hostname obs-host.example -- sh -c 'exec sleep 1000' 2>&1)
ok $? "create obs with --cpuset $last_cpu --env --hostname ($out)"
hg start obs
ok $? "start obs"

# --- create's settings, seen from inside the running instance
is "$(hg exec obs -- sh -c 'echo "$GREETING"' 2>&1 | tr -d '\r')" hello-env "--env GREETING=hello-env is in an exec'd process's environment"
is "$(hg exec obs -- sh -c 'tr "\0" "\n" </proc/1/environ | grep ^GREETING=' 2>&1 | tr -d '\r')" GREETING=hello-env \
	"and in the instance's init's environment"
is "$(hg exec obs -- sh -c 'env | grep -c ^EMPTY=$' 2>&1 | tr -d '\r')" 1 "--env EMPTY= sets an empty variable"
is "$(hg exec obs -- hostname 2>&1 | tr -d '\r')" obs-host.example "--hostname is the hostname inside"
is "$(hg exec obs -- cat /proc/sys/kernel/hostname 2>&1 | tr -d '\r')" obs-host.example "(in the instance's UTS namespace)"
ok "$([ "$(hostname)" != obs-host.example ]; echo $?)" "the host's hostname is untouched ($(hostname))"
is "$(cat "$(cgfile obs cpuset cpuset.cpus cpuset.cpus)" 2>&1)" "$last_cpu" "--cpuset $last_cpu is the instance cgroup's cpuset.cpus"
is "$(hg exec obs -- sh -c 'grep ^Cpus_allowed_list /proc/1/status' 2>&1 | tr -d '\r' | awk '{print $2}')" "$last_cpu" \
	"the instance's init may run only on CPU $last_cpu"
# --- set --cpuset on the running instance
out=$(hg set obs --cpuset "0-$last_cpu" 2>&1)
ok $? "set --cpuset 0-$last_cpu live ($out)"
want=$([ "$last_cpu" = 0 ] && echo 0 || echo "0-$last_cpu")
is "$(cat "$(cgfile obs cpuset cpuset.cpus cpuset.cpus)" 2>&1)" "$want" "the instance cgroup's cpuset.cpus follows"
is "$(hg exec obs -- sh -c 'grep ^Cpus_allowed_list /proc/1/status' 2>&1 | tr -d '\r' | awk '{print $2}')" "$want" \
	"the running init may now run on CPUs $want"
is "$(jq -r '.limits.cpuset // "none"' "$HANGAR_ROOT/instances/obs/instance.json")" "$last_cpu" "without --save instance.json keeps --cpuset $last_cpu"
out=$(hg set obs --cpuset "$ncpu" 2>&1)
rc=$?
ok "$([ $rc != 0 ] && [ "$(wc -l <<<"$out")" = 1 ] && [[ "$out" == *cpuset.cpus* ]]; echo $?)" \
	"set --cpuset $ncpu (no such CPU) is refused in one line: $out"
is "$(cat "$(cgfile obs cpuset cpuset.cpus cpuset.cpus)" 2>&1)" "$want" "and the live cpuset is unchanged"
hg set obs --cpuset "$last_cpu" >/dev/null 2>&1
hg create obs2 --network none --cpuset "$ncpu" -- true >/dev/null 2>&1
cg2=$(jq -r '.linux.cgroupsPath' "$HANGAR_ROOT/instances/obs2/config.json")
out=$(hg start obs2 2>&1)
rc=$?
# What the failed start left, seen before any `list` (whose cleanup pass
# would hide it).
left=
grep -q " $HANGAR_ROOT/instances/obs2/rootfs " /proc/self/mountinfo && left+=" overlay-mounted"
[ -e "$HANGAR_RUN/oci/obs2" ] && left+=" oci-state"
[ -e "$HANGAR_RUN/instances/obs2" ] && left+=" run-dir"
[ -e "$HANGAR_ROOT/instances/obs2/status.json" ] && left+=" status.json"
[ -n "$cg2" ] && [ "$cg2" != null ] || left+=" no-cgroupsPath"
for d in /sys/fs/cgroup /sys/fs/cgroup/*; do [ -d "$d$cg2" ] && left+=" cgroup:$d$cg2"; done
is "$left" "" "right after the refused start (before any list): no overlay mount, OCI state, run dir, exit status or cgroup ($cg2)"
[ $rc != 0 ] && [[ "$out" =~ "cpuset.cpus" ]] && [ "$(wc -l <<<"$out")" = 1 ] &&
	[ "$(hg list --format json | jq -r '.[] | select(.name == "obs2") | .state')" = STOPPED ]
ok $? "--cpuset $ncpu (a CPU this machine lacks) is refused by the kernel at start, in one line, left STOPPED: $out"
hg destroy --force obs2 >/dev/null 2>&1

# --- list: uptime moves
u1=$(hg list --format json | jq -r '.[] | select(.name == "obs") | .uptime')
sleep 2.2
u2=$(hg list --format json | jq -r '.[] | select(.name == "obs") | .uptime')
ok "$([[ "$u1" =~ ^[0-9]+$ ]] && [ "$u2" -ge $((u1 + 2)) ]; echo $?)" "list --format json: uptime moves with time ($u1 -> $u2 s)"
row=$(hg list | awk '$1 == "obs"')
like "$row" "^obs +RUNNING .* [0-9]+s$" "the table's UPTIME column shows seconds: $row"
up_col=$(awk '{print $NF}' <<<"$row")
sleep 1.1
up_col2=$(hg list | awk '$1 == "obs" {print $NF}')
ok "$([ "${up_col2%s}" -gt "${up_col%s}" ]; echo $?)" "the UPTIME column moves too ($up_col -> $up_col2)"
hg stop --timeout 0 obs
is "$(hg list --format json | jq -r '.[] | select(.name == "obs") | .uptime')" null "a stopped instance has no uptime (json null)"
like "$(hg list | awk '$1 == "obs"')" "STOPPED .* -$" "and '-' in the table"
hg start obs
u3=$(hg list --format json | jq -r '.[] | select(.name == "obs") | .uptime')
ok "$([ "$u3" -lt "$u2" ]; echo $?)" "uptime restarts from zero after a restart ($u3 s)"

# --- stats without --no-stream: a new frame every second until interrupted
hg exec obs -- sh -c 'while :; do :; done </dev/null >/dev/null 2>&1 &' >/dev/null 2>&1
timeout -s INT 3.6 "$HANGAR" stats obs >"$TEST_TMP/live.txt" 2>&1
rc=$?
is "$rc" 124 "live stats runs until interrupted (timeout's 124)"
frames=$(grep -c '^NAME ' "$TEST_TMP/live.txt")
ok "$([ "$frames" -ge 2 ]; echo $?)" "live stats printed $frames frames in 3.6 s (at least 2)"
is "$(grep -c '^obs ' "$TEST_TMP/live.txt")" "$frames" "each frame has a row for obs"
cpus=$(awk '$1 == "obs" {sub("%", "", $2); print int($2)}' "$TEST_TMP/live.txt" | tr '\n' ' ')
ok "$(for c in $cpus; do [ "$c" -ge 20 ] || exit 1; done; echo 0)" "each frame measures the busy loop over its own interval (cpu: $cpus)"
timeout -s INT 2.6 "$HANGAR" stats --format json obs >"$TEST_TMP/live.json" 2>&1
n=$(jq -s 'length' "$TEST_TMP/live.json" 2>&1)
ok "$([ "$n" -ge 2 ] && [ "$n" -le 3 ]; echo $?)" "live json: one array per second ($n in 2.6 s)"
is "$(jq -s -r '[.[][0].name] | unique | .[]' "$TEST_TMP/live.json" 2>&1)" obs "each array describes obs"

# --- stats counts the instance's block I/O.  The store is on a real disk
# here (the test dir is not tmpfs).  O_DIRECT: v1 blkio charges buffered
# writeback to the root cgroup, not the writer's, and reads skip the cache.
store_fs=$(stat -f -c %T "$HANGAR_ROOT")
ok "$([ "$store_fs" != tmpfs ] && [ "$store_fs" != ramfs ]; echo $?)" "the test store is on a block device ($store_fs), so writes do block I/O"
w0=$(hg stats --no-stream --format json obs | jq '.[0].io_write_bytes')
out=$(hg exec obs -- dd if=/dev/zero of=/ddtest bs=1M count=20 oflag=direct conv=fsync 2>&1)
ok $? "dd of 20 MiB with O_DIRECT inside obs ($(tr -d '\r' <<<"$out" | tail -1))"
w1=$(hg stats --no-stream --format json obs | jq '.[0].io_write_bytes')
ok "$([[ "$w0" =~ ^[0-9]+$ ]] && [[ "$w1" =~ ^[0-9]+$ ]] && [ $((w1 - w0)) -ge $((20 * 1024 * 1024)) ]; echo $?)" \
	"stats io_write_bytes grew by at least 20 MiB ($w0 -> $w1)"
r0=$(hg stats --no-stream --format json obs | jq '.[0].io_read_bytes')
out=$(hg exec obs -- dd if=/ddtest of=/dev/null bs=1M iflag=direct 2>&1)
ok $? "dd reads it back with O_DIRECT ($(tr -d '\r' <<<"$out" | tail -1))"
r1=$(hg stats --no-stream --format json obs | jq '.[0].io_read_bytes')
ok "$([[ "$r0" =~ ^[0-9]+$ ]] && [[ "$r1" =~ ^[0-9]+$ ]] && [ $((r1 - r0)) -ge $((20 * 1024 * 1024)) ]; echo $?)" \
	"stats io_read_bytes grew by at least 20 MiB ($r0 -> $r1)"
hg destroy --force obs
done_testing
