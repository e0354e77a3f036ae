#!/bin/bash
# hangar checkpoint / restore / migrate (local: form) of instances: the
# console workload keeps its in-memory counter, the address stays, a failed
# migration leaves the source running and the target clean, and an instance
# can migrate back.
HANGAR_TEST_PRIVATE_NET=1
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "checkpoint/restore needs root"
[ -x "$HANGAR" ] || { fail "$HANGAR is built"; done_testing; exit 1; }
if ! "$HANGAR" checkpoint --help >/dev/null 2>&1; then
	fail "hangar has the checkpoint, restore and migrate verbs (cli/hangar/hangar.h HANGAR_VERBS lines)"
	done_testing
	exit 1
fi
A=$TEST_TMP/a
B=$TEST_TMP/b
export HANGAR_ROOT=$A/data HANGAR_RUN=$A/run
hgb() { HANGAR_ROOT=$B/data HANGAR_RUN=$B/run "$HANGAR" "$@"; }
_cleanup_stores() {
	for n in $(ls "$A/data/instances" 2>/dev/null); do hg destroy --force "$n"; done
	for n in $(ls "$B/data/instances" 2>/dev/null); do hgb destroy --force "$n"; done
}
at_exit _cleanup_stores
state_a() { hg list --format json | jq -r --arg n "$1" '.[] | select(.name == $n) | .state'; }
state_b() { hgb list --format json | jq -r --arg n "$1" '.[] | select(.name == $n) | .state'; }
# The highest tick the console printed into an instance's log.
last_tick() { grep -ao 'tick [0-9]*' "$1/instances/$2/log" 2>/dev/null | tail -n1 | cut -d' ' -f2; }
# A console log where the ticks run 1, 2, 3 ... without a restart.
ticks_continuous() { grep -ao 'tick [0-9]*' "$@" | cut -d' ' -f2 | awk 'NR != $1 { bad = 1 } END { exit bad || NR == 0 }'; }
LOOP='n=0; while :; do n=$((n+1)); echo tick $n; echo $n > /root/counter; sleep 0.1; done'

# ---- checkpoint and restore in place ---------------------------------------
out=$(hg create c1 -- sh -c "$LOOP" 2>&1); ok $? "create c1 ($out)"
out=$(hg start c1 2>&1); ok $? "start c1 ($out)"
wait_for "[ \"\$(last_tick $A/data c1)\" -ge 5 ]"; ok $? "c1 ticks"
ip1=$(hg exec c1 -- ip -4 -o addr show eth0 | awk '{print $4}')
like "$ip1" '^[0-9.]+/[0-9]+$' "c1 has an address on eth0 ($ip1)"
out=$(hg checkpoint c1 2>&1); ok $? "checkpoint c1 ($out)"
is "$(state_a c1)" STOPPED "c1 is stopped after the checkpoint"
[ -s "$A/data/instances/c1/checkpoint/hangar-checkpoint.json" ]; ok $? "the images are in the instance directory"
before=$(last_tick "$A/data" c1)
out=$(hg restore c1 2>&1); ok $? "restore c1 ($out)"
is "$(state_a c1)" RUNNING "c1 runs again"
wait_for "[ \"\$(last_tick $A/data c1)\" -ge $((before + 5)) ]"; ok $? "the counter continues from $before"
ticks_continuous "$A/data/instances/c1/log"; ok $? "the console log counts on without a restart"
is "$(hg exec c1 -- ip -4 -o addr show eth0 | awk '{print $4}')" "$ip1" "the address is the same after restore"
out=$(hg checkpoint --leave-running c1 2>&1); ok $? "checkpoint --leave-running ($out)"
is "$(state_a c1)" RUNNING "c1 keeps running"
hg restore c1 >/dev/null 2>&1; [ $? != 0 ]; ok $? "restore of a running instance is refused"
hg checkpoint nosuch 2>/dev/null; [ $? != 0 ]; ok $? "checkpoint of a missing instance fails"
out=$(hg checkpoint --stop --to "$TEST_TMP/snap" c1 2>&1); ok $? "checkpoint --stop --to DIR ($out)"
[ -s "$TEST_TMP/snap/hangar-checkpoint.json" ]; ok $? "the images are in DIR"
hg checkpoint c1 2>"$TEST_TMP/err"; [ $? != 0 ]; ok $? "checkpoint of a stopped instance fails"
like "$(cat "$TEST_TMP/err")" "not running" "and says it is not running"
rm -rf "$A/data/instances/c1/checkpoint"
hg restore c1 2>"$TEST_TMP/err"; [ $? != 0 ]; ok $? "restore without --from reads the instance's own checkpoint dir (empty here)"
like "$(cat "$TEST_TMP/err")" "not a hangar checkpoint" "and says so"
is "$(state_a c1)" STOPPED "the failed restore left the instance stopped"
before=$(last_tick "$A/data" c1)
out=$(hg restore --from "$TEST_TMP/snap" c1 2>&1); ok $? "restore --from DIR ($out)"
wait_for "[ \"\$(last_tick $A/data c1)\" -ge $((before + 3)) ]"; ok $? "c1 counts on from $before"

# ---- migrate to another state root and back --------------------------------
out=$(hg create m1 --network none --memory 128M -- sh -c "$LOOP" 2>&1); ok $? "create m1 ($out)"
hg start m1 >/dev/null 2>&1
wait_for "[ \"\$(last_tick $A/data m1)\" -ge 3 ]"
hg exec m1 -- sh -c 'echo precopy > /root/early; echo doomed > /root/gone'
out=$(hg migrate m1 "local:$B/data:$B/run" 2>&1); rc=$?
ok $rc "migrate m1 to the other root"
echo "$out" | sed 's/^/# /'
like "$out" "migrate m1: copy .*while running" "a progress line for the copy phase"
like "$out" "migrated m1 to local:.*downtime [0-9.]+ s.*sent" "a summary with downtime and bytes"
is "$(state_b m1)" RUNNING "m1 runs on the target"
[ -z "$(state_a m1)" ] && [ ! -d "$A/data/instances/m1" ]; ok $? "m1 is gone from the source"
before=$(last_tick "$A/data" m1 2>/dev/null)
wait_for "[ \"\$(hgb exec m1 -- cat /root/counter | tr -d '\r')\" -ge 10 ]"; ok $? "the counter continues on the target"
is "$(hgb exec m1 -- cat /root/early)" precopy "files copied while running arrived"
# --network none is a namespace of the instance's own: not dumped by criu
# (--empty-ns), made again on the target with its loopback up.
like "$(hgb exec m1 -- ip -o link show lo)" "<LOOPBACK,UP,LOWER_UP>" "loopback is up on the target"
like "$(hgb exec m1 -- ip -4 -o addr show lo)" "inet 127.0.0.1/8" "loopback has 127.0.0.1 on the target"
is "$(hgb exec m1 -- ip -o link | wc -l | tr -d ' \r')" 1 "and it is the only link"
cnt=$(grep -ao 'tick [0-9]*' "$B/data/instances/m1/log" | head -n1 | cut -d' ' -f2)
[ -n "$cnt" ] && [ "$cnt" -gt 3 ]; ok $? "the first tick on the target continues the source's count ($cnt), no restart from 1"
hgb exec m1 -- rm /root/gone
out=$(hgb migrate --format json m1 "local:$A/data:$A/run" 2>&1); ok $? "migrate m1 back (json)"
is "$(echo "$out" | jq -r .ok)" true "json says ok"
[ "$(echo "$out" | jq -r '.phases | map(.name) | join(",")')" = "prepare,copy,dump,delta,images,restore,verify,cleanup" ]; ok $? "json lists every phase"
[ "$(echo "$out" | jq -r '.downtime_ms > 0 and .bytes_sent > 0')" = true ]; ok $? "json has downtime and bytes"
is "$(state_a m1)" RUNNING "m1 runs on the source again"
[ ! -d "$B/data/instances/m1" ]; ok $? "and is gone from the other root"
hg exec m1 -- test -e /root/gone; [ $? != 0 ]; ok $? "a file deleted on the target is deleted after migrating back"
mem=$(hg exec m1 -- cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || hg exec m1 -- cat /sys/fs/cgroup/memory.max)
is "${mem//$'\r'/}" 134217728 "the memory limit came along"

# ---- failed migrations leave the source running -----------------------------
mkdir -p "$B/data/instances/m1"
echo '{}' >"$B/data/instances/m1/instance.json"
out=$(hg migrate m1 "local:$B/data:$B/run" 2>&1); [ $? != 0 ]; ok $? "migrate onto a taken name fails"
like "$out" "prepare" "the error names the phase ($out)"
is "$(state_a m1)" RUNNING "the source keeps running"
rm -rf "$B/data/instances/m1"
hg migrate m1 "local:$A/data" >/dev/null 2>&1; [ $? != 0 ]; ok $? "migrating onto the own root is refused"

# ---- the target acts only on complete input ----------------------------------
# (its receivers are started before the freeze; a source that gives up just
# closes their input)
out=$(hg create rx --network none -- sleep 1000 2>&1); ok $? "create rx, stopped ($out)"
up=$A/data/instances/rx/upper
echo keep >"$up/keepme"
echo old >"$up/stale"
printf 'P 7\nkeepme\0P 0\n' | hg migrate --receive finish rx 2>"$TEST_TMP/err"; [ $? != 0 ]
ok $? "a prune list lacking its end mark is refused"
like "$(cat "$TEST_TMP/err")" "incomplete.*nothing removed" "... saying nothing was removed"
[ -e "$up/keepme" ] && [ -e "$up/stale" ]; ok $? "... and nothing was"
printf 'P 9\nkeepme\0/\0P 0\n' | hg migrate --receive finish rx 2>"$TEST_TMP/err"; [ $? != 0 ]
ok $? "a stream that ends before its restore frame fails"
like "$(cat "$TEST_TMP/err")" "stopped before the restore; nothing restored" "... saying nothing was restored"
[ -e "$up/keepme" ] && [ ! -e "$up/stale" ]; ok $? "its complete prune list was applied: what it does not name is gone"
printf 'R 3\nxyz' | hg migrate --receive finish rx 2>"$TEST_TMP/err"; [ $? != 0 ]; ok $? "a restore frame without the go-ahead is refused"
like "$(cat "$TEST_TMP/err")" "no go-ahead" "... naming the missing go-ahead"
printf 'D 3\nab' | hg migrate --receive finish rx 2>"$TEST_TMP/err"; [ $? != 0 ]; ok $? "a stream cut in a frame fails"
like "$(cat "$TEST_TMP/err")" "stopped in the middle of a frame" "... saying so"
printf 'X 0\n' | hg migrate --receive finish rx 2>"$TEST_TMP/err"; [ $? != 0 ]; ok $? "an unknown frame is refused"
is "$(state_a rx)" STOPPED "rx was never started by any of them"
hg destroy --force rx >/dev/null 2>&1

done_testing
