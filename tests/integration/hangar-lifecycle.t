#!/bin/bash
# hangar: create / start / exec / stop / restart / destroy on the default
# image, run --rm, and that nothing is left behind.
HANGAR_TEST_PRIVATE_NET=1
. "$(dirname "$0")/lib.sh"
hangar_store
state_of() { hg list --format json | jq -r --arg n "$1" '.[] | select(.name == $n) | .state'; }

out=$(hg create box1 --network none --memory 64M --cpus 0.5 --pids 100 -- sh -c 'echo booted; exec sleep 1000' 2>&1)
ok $? "create box1 ($out)"
inst=$HANGAR_ROOT/instances/box1
ok "$([ -f "$inst/instance.json" ] && [ -d "$inst/upper" ] && [ -d "$inst/work" ] && [ -d "$inst/rootfs" ]; echo $?)" "instance dir has instance.json, upper, work, rootfs"
ok "$([ -x "$HANGAR_ROOT/images/default/rootfs/bin/busybox" ]; echo $?)" "default image built from busybox on first use"
ok "$([ -L "$HANGAR_ROOT/images/default/rootfs/bin/sh" ]; echo $?)" "default image has applet symlinks"
is "$(jq -r '.process.terminal' "$inst/config.json")" true "config.json: terminal on (console)"
is "$(jq -r '.linux.seccomp.defaultAction' "$inst/config.json")" SCMP_ACT_ERRNO "config.json: default seccomp profile"
is "$(jq -r '[.linux.namespaces[].type] | index("cgroup") != null' "$inst/config.json")" true "config.json: cgroup namespace"
is "$(jq -r '.linux.resources.cpu.quota, .linux.resources.cpu.period' "$inst/config.json" | tr '\n' ' ')" "50000 100000 " "--cpus 0.5 -> quota 50000 / period 100000"
is "$(jq -r '.linux.resources.memory.limit' "$inst/config.json")" $((64 * 1024 * 1024)) "--memory 64M in config.json"
is "$(jq -r '.root.path' "$inst/config.json")" "$inst/rootfs" "root is the overlay mount point"
is "$(state_of box1)" STOPPED "list: created instance is STOPPED"

out=$(hg start box1 2>&1)
ok $? "start box1 ($out)"
is "$(state_of box1)" RUNNING "list: RUNNING after start"
wait_for "grep -q booted '$inst/log'" 50
ok $? "console output lands in the instance log"
ok "$(grep -q " $inst/rootfs " /proc/self/mountinfo; echo $?)" "overlay mounted on the instance root"
info=$(hg info --format json box1)
is "$(jq -r '.state, .image, .limits.memory, (.pid > 1)' <<<"$info" | tr '\n' ' ')" "RUNNING default $((64 * 1024 * 1024)) true " "info --format json: state, image, saved limit, pid"
like "$(hg info box1)" "state: +RUNNING" "info text view"
is "$(hg exec box1 -- sh -c 'echo hi; hostname' 2>&1 | tr -d '\r' | tr '\n' ' ')" "hi box1 " "exec runs in the instance (hostname = name)"
hg exec box1 -- sh -c 'exit 7'
is $? 7 "exec returns the command's exit status"
hg exec box1 -- sh -c 'echo kept > /root/file'
ok "$([ "$(cat "$inst/upper/root/file")" = kept ]; echo $?)" "writes land in the upper dir"
ok "$([ ! -e "$HANGAR_ROOT/images/default/rootfs/root/file" ]; echo $?)" "the image is untouched"
is "$(hg exec box1 -- cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || hg exec box1 -- cat /sys/fs/cgroup/pids.max)" 100 "--pids 100 applied inside the instance"
out=$(hg start box1 2>&1)
rc=$?
ok "$([ $rc = 4 ] && [[ "$out" == *"already running"* ]]; echo $?)" "second start refused: $out"

t0=$(date +%s)
out=$(hg stop --timeout 1 box1 2>&1)
ok $? "stop box1 ($out)"
t1=$(date +%s)
ok "$([ $((t1 - t0)) -le 6 ]; echo $?)" "stop escalates to SIGKILL after the timeout ($((t1 - t0))s)"
is "$(state_of box1)" STOPPED "list: STOPPED after stop"
is "$(hg list --format json | jq -r '.[0].exit_code')" 137 "exit status recorded (SIGKILL: 137)"
ok "$(! grep -q " $inst/rootfs " /proc/self/mountinfo; echo $?)" "overlay unmounted after stop"
ok "$([ ! -e "$HANGAR_RUN/oci/box1" ]; echo $?)" "OCI container deleted after stop"

out=$(hg restart box1 2>&1)
ok $? "restart a stopped instance ($out)"
is "$(hg exec box1 -- cat /root/file 2>&1 | tr -d '\r')" kept "the upper dir survives a restart"
hg restart --timeout 1 box1
is "$(state_of box1)" RUNNING "restart a running instance"

out=$(hg destroy box1 2>&1)
rc=$?
ok "$([ $rc = 4 ] && [[ "$out" == *"stop it first or use --force"* ]]; echo $?)" "destroy of a running instance refused without --force: $out"
cg=$(jq -r '.linux.cgroupsPath' "$inst/config.json")
out=$(hg destroy --force box1 2>&1)
ok $? "destroy --force ($out)"
ok "$([ ! -e "$inst" ]; echo $?)" "instance directory removed"
ok "$(! grep -q "$TEST_TMP" /proc/self/mountinfo; echo $?)" "no mounts left"
ok "$([ -z "$(ls "$HANGAR_RUN/oci")" ]; echo $?)" "no OCI state left"
ok "$([ ! -e "/sys/fs/cgroup/memory$cg" ] && [ ! -e "/sys/fs/cgroup$cg" ]; echo $?)" "cgroup $cg removed"
is "$(hg list --format json | jq length)" 0 "list is empty"

out=$(hg run --rm --network none job -- sh -c 'echo job-output; exit 3' </dev/null 2>&1)
rc=$?
is "$rc" 3 "run --rm returns the command's exit status"
like "$out" "job-output" "run shows the command's output"
ok "$([ ! -e "$HANGAR_ROOT/instances/job" ]; echo $?)" "run --rm removed the instance"

out=$(hg run -d --network none bg -- sleep 1000 2>&1)
ok $? "run -d starts in the background ($out)"
is "$(state_of bg)" RUNNING "run -d: RUNNING"
hg destroy --force bg

# stop's SIGTERM reaches a command (not --init) that handles it: it exits
# on its own before the timeout, with its own status.
hg create termy --network none -- sh -c 'trap "exit 42" TERM; echo ready; while :; do sleep 0.1; done' >/dev/null
hg start termy
wait_for "grep -q ready '$HANGAR_ROOT/instances/termy/log'" 50
t0=$(date +%s)
out=$(hg stop --timeout 20 termy 2>&1)
ok $? "stop termy ($out)"
t1=$(date +%s)
ok "$([ $((t1 - t0)) -le 10 ]; echo $?)" "the command exited on SIGTERM well before the 20 s timeout ($((t1 - t0))s)"
is "$(hg list --format json | jq -r '.[] | select(.name == "termy") | .exit_code')" 42 \
	"exit status 42 is the trap's (not SIGKILL's 137)"
hg destroy --force termy
# The monitor's own signal handling does not leak into the command.
hg create sigs --network none -- sleep 1000 >/dev/null
hg start sigs
pid=$(hg list --format json | jq -r '.[] | select(.name == "sigs") | .pid')
is "$(awk '$1 == "SigBlk:" || $1 == "SigIgn:" {print $1 $2}' /proc/$pid/status | tr '\n' ' ')" \
	"SigBlk:0000000000000000 SigIgn:0000000000000000 " "the instance's command starts with no blocked or ignored signal"
hg destroy --force sigs
done_testing
