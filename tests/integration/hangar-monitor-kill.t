#!/bin/bash
# hangar without a daemon: kill -9 the monitor (and then the whole tree);
# list must show the truth from the live processes and destroy must leave
# nothing (cgroup, mounts, OCI state, monitor files).
HANGAR_TEST_PRIVATE_NET=1
. "$(dirname "$0")/lib.sh"
hangar_store
field() { hg list --format json | jq -r --arg n "$1" ".[] | select(.name == \$n) | .$2"; }
cg_gone() { # cg_gone NAME: the instance's cgroup exists in no hierarchy
	local cg=$1 d
	for d in /sys/fs/cgroup /sys/fs/cgroup/*; do [ -d "$d$cg" ] && return 1; done
	return 0
}

hg create orphan --network none -- sh -c 'exec sleep 1000' >/dev/null
hg start orphan
mon=$(field orphan monitor_pid)
init=$(field orphan pid)
ok "$([ -n "$mon" ] && [ "$mon" != null ] && kill -0 "$mon"; echo $?)" "monitor runs (pid $mon)"
is "$(cat /proc/$mon/comm)" hangar-monitor "the monitor names itself"
ppid=$(awk '{print $4}' /proc/$mon/stat)
ok "$([ "$(cat /proc/$ppid/comm)" != hangar ]; echo $?)" "double fork: the monitor was re-parented away from hangar (parent: $(cat /proc/$ppid/comm))"
ok "$([ "$(ps -o sid= -p "$mon" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')" ]; echo $?)" "the monitor is in a session of its own (setsid)"
cg=$(jq -r '.linux.cgroupsPath' "$HANGAR_ROOT/instances/orphan/config.json")

kill -9 "$mon"
wait_for "! kill -0 $mon" 50
is "$(field orphan state)" ORPHANED "monitor killed: list says ORPHANED"
ok "$(kill -0 "$init"; echo $?)" "the init still runs"
is "$(hg exec orphan -- echo still-here 2>&1 | tr -d '\r')" still-here "exec still works in an orphaned instance"
out=$(hg console orphan 2>&1 </dev/null)
ok "$([ $? = 4 ] && [[ "$out" == *"lost its monitor"* ]]; echo $?)" "console of an orphan explains why there is none: $out"
out=$(hg start orphan 2>&1)
ok "$([ $? = 4 ] && [[ "$out" == *"without its monitor"* ]]; echo $?)" "start refuses an orphan: $out"
out=$(hg destroy --force orphan 2>&1)
ok $? "destroy --force an orphan ($out)"
ok "$(! kill -0 "$init" 2>/dev/null; echo $?)" "its init is gone"
ok "$(cg_gone "$cg"; echo $?)" "its cgroup is gone"
ok "$(! grep -q "$TEST_TMP" /proc/self/mountinfo; echo $?)" "its overlay is unmounted"
ok "$([ -z "$(ls -A "$HANGAR_RUN/oci")" ] && [ ! -e "$HANGAR_RUN/instances/orphan" ]; echo $?)" "no OCI state or monitor files left"

# Both the monitor and the init die (host tree killed -9).
hg create dead --network none -- sh -c 'exec sleep 1000' >/dev/null
hg start dead
mon=$(field dead monitor_pid)
init=$(field dead pid)
kill -9 "$mon" "$init"
wait_for "! kill -0 $init 2>/dev/null && ! kill -0 $mon 2>/dev/null" 50
is "$(field dead state)" STOPPED "monitor and init killed: list says STOPPED"
ok "$(! grep -q " $HANGAR_ROOT/instances/dead/rootfs " /proc/self/mountinfo; echo $?)" "list's cleanup pass unmounted the dead run's overlay"
ok "$([ ! -e "$HANGAR_RUN/oci/dead" ]; echo $?)" "list's cleanup pass deleted the dead OCI container"
out=$(hg start dead 2>&1)
ok $? "a dead instance starts again ($out)"
is "$(field dead state)" RUNNING "RUNNING again"
cg=$(jq -r '.linux.cgroupsPath' "$HANGAR_ROOT/instances/dead/config.json")
hg destroy --force dead
ok "$(cg_gone "$cg" && ! grep -q "$TEST_TMP" /proc/self/mountinfo && [ -z "$(ls -A "$HANGAR_RUN/oci")" ]; echo $?)" "destroy leaves nothing"
# The previous run's exit status never passes for a later run's.
hg create stale --network none -- sh -c '[ -e /ran ] && exec sleep 1000; touch /ran; exit 3' >/dev/null
hg start stale
wait_for "[ \"\$(field stale state)\" = STOPPED ]" 100
is "$(field stale exit_code)" 3 "first run exits 3 and list says so"
hg start stale
ok "$([ ! -e "$HANGAR_ROOT/instances/stale/status.json" ]; echo $?)" "start removes the last run's status.json"
is "$(field stale exit_code)" null "a running instance shows no exit code (not the last run's 3)"
mon=$(field stale monitor_pid)
init=$(field stale pid)
kill -9 "$mon" "$init"
wait_for "! kill -0 $init 2>/dev/null && ! kill -0 $mon 2>/dev/null" 50
is "$(field stale exit_code)" 255 "monitor and init killed -9: exit code 255 (unknown), not the last run's 3"
is "$(hg info stale --format json 2>/dev/null | jq -r .exit_code)" 255 "info agrees"
# An orphan's init exiting on its own is not recorded by anyone either.
hg start stale
mon=$(field stale monitor_pid)
init=$(field stale pid)
kill -9 "$mon"
wait_for "! kill -0 $mon 2>/dev/null" 50
is "$(field stale state)" ORPHANED "second run orphaned"
kill -9 "$init"
wait_for "! kill -0 $init 2>/dev/null" 50
is "$(field stale exit_code)" 255 "an orphan's init that dies unreaped: exit code 255"
# stop of an ORPHANED instance records 255.
hg start stale
mon=$(field stale monitor_pid)
kill -9 "$mon"
wait_for "! kill -0 $mon 2>/dev/null" 50
is "$(field stale state)" ORPHANED "third run orphaned"
hg stop --timeout 1 stale
ok $? "stop an orphan"
is "$(jq -r .exit_code "$HANGAR_ROOT/instances/stale/status.json")" 255 "stop of an orphan records 255 in status.json"
is "$(field stale exit_code)" 255 "and list shows 255"

# SIGTERM to the monitor (host shutdown) shuts the instance down cleanly.
hg create termed --init --network none >/dev/null
hg start termed
mon=$(field termed monitor_pid)
wait_for "grep -q 'busybox init started' '$HANGAR_ROOT/instances/termed/log'" 50
kill -TERM "$mon"
wait_for "! kill -0 $mon 2>/dev/null" 150
ok $? "SIGTERM: the monitor finishes"
is "$(field termed state)" STOPPED "SIGTERM: the instance is STOPPED (not ORPHANED)"
is "$(field termed exit_code)" 0 "SIGTERM: busybox init powered off cleanly (exit 0)"
grep -q 'shutting down' "$HANGAR_ROOT/instances/termed/log"
ok $? "SIGTERM: init ran its shutdown entries"

# A monitor that hangs (SIGSTOP) does not make stop hang forever.
hg create frozen --network none -- sh -c 'exec sleep 1000' >/dev/null
hg start frozen
mon=$(field frozen monitor_pid)
kill -STOP "$mon"
t0=$(date +%s)
out=$(hg stop --timeout 1 frozen 2>&1)
rc=$?
t1=$(date +%s)
ok "$([ $rc = 0 ] && [ $((t1 - t0)) -le 30 ]; echo $?)" "stop with a frozen monitor finishes ($((t1 - t0))s, $out)"
ok "$(! kill -0 "$mon" 2>/dev/null; echo $?)" "the hung monitor was killed"
is "$(field frozen state)" STOPPED "STOPPED afterwards"
ok "$(! grep -q " $HANGAR_ROOT/instances/frozen/rootfs " /proc/self/mountinfo && [ ! -e "$HANGAR_RUN/oci/frozen" ]; echo $?)" "and cleaned up"
done_testing
