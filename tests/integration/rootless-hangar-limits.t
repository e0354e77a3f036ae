#!/bin/bash
# Limits that cannot apply to a rootless instance (no delegated cgroup v2
# subtree: cgroup v1 or hybrid hosts like this one) are not dropped
# silently by `hangar`: create/run/sandbox/start say so in exactly one
# warning line on stderr, and the monitor's log has it too.  stats and set
# say why in one line (set --save still records); logs, console, restart
# and info work as the user.
HANGAR_TEST_PRIVATE_NET=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootless-lib.sh"
[ -x "$HANGAR" ] || { echo "Bail out! $HANGAR not built"; exit 1; }
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
	skip_all "this host has cgroup v2 at /sys/fs/cgroup: the no-delegation case is tested in tests/vm/rootless-v2.sh"
fi

rl_make_user A ranges || { echo "Bail out! cannot create a test user"; exit 1; }
UW=$TEST_TMP/uwork
mkdir -p "$UW" && chown "$A:" "$UW"
UH() { (cd "$UW" && rl_as "$A" "$HANGAR" "$@"); }
at_exit 'for n in $(UH list 2>/dev/null | awk "NR > 1 {print \$1}"); do UH destroy --force "$n"; done'
warn_re='^hangar: warning: rootless[^
]*(cgroup|delegat)[^
]*resource limits (are )?ignored'

UH sandbox --network none --memory 1G --pids 100 -- true </dev/null >/dev/null 2>"$TEST_TMP/sb.err"
ok $? "sandbox --memory 1G runs as $A"
is "$(wc -l <"$TEST_TMP/sb.err")" 1 "exactly one line on stderr: $(cat "$TEST_TMP/sb.err")"
like "$(cat "$TEST_TMP/sb.err")" "$warn_re" "it says the limits are ignored and why"

UH sandbox --network none -- true </dev/null >/dev/null 2>"$TEST_TMP/sb2.err"
ok $? "sandbox without limits"
is "$(cat "$TEST_TMP/sb2.err")" "" "no warning when no limit was asked for"

UH create l1 --memory 256M -- sleep 300 >/dev/null 2>"$TEST_TMP/c.err"
ok $? "create l1 --memory 256M"
is "$(cat "$TEST_TMP/c.err")" "" "create itself says nothing (the limits are checked at start)"
UH start l1 >/dev/null 2>"$TEST_TMP/s.err"
ok $? "start l1"
is "$(wc -l <"$TEST_TMP/s.err")" 1 "start: exactly one line: $(cat "$TEST_TMP/s.err")"
like "$(cat "$TEST_TMP/s.err")" "$warn_re" "start: the reason"
home=$(getent passwd "$A" | cut -d: -f6)
grep -q "resource limits" "$home/.local/share/hangar/instances/l1/log"
ok $? "the monitor's log has it as well"
UH stop -t 1 l1 >/dev/null 2>&1
UH run -d l2 --pids 50 -- sleep 1 >/dev/null 2>"$TEST_TMP/r.err"
ok $? "run -d l2 --pids 50"
like "$(cat "$TEST_TMP/r.err")" "$warn_re" "run: the reason"
is "$(wc -l <"$TEST_TMP/r.err")" 1 "run: exactly one line"

# The other verbs as a user without a delegated cgroup.
UH run -d s1 --network none -- sh -c 'echo hello-log; exec sleep 300' </dev/null >/dev/null 2>&1
ok $? "run -d s1 as $A"
out=$(UH stats --no-stream s1 2>"$TEST_TMP/st.err")
rc=$?
is "$rc:$out" "5:" "stats s1 refuses (exit 5) and prints no table"
is "$(wc -l <"$TEST_TMP/st.err")" 1 "stats s1: exactly one line: $(cat "$TEST_TMP/st.err")"
like "$(cat "$TEST_TMP/st.err")" "^hangar: instance s1 has no cgroup: .*delegated cgroup v2 subtree" "stats s1: the reason"
for i in $(seq 50); do UH list | grep -q "^l2 *RUNNING" || break; sleep 0.1; done # its sleep 1 ends
out=$(UH stats --no-stream 2>"$TEST_TMP/st2.err")
ok $? "stats of all instances exits 0"
like "$out" "^NAME " "with its header"
like "$(cat "$TEST_TMP/st2.err")" "^hangar: warning: instance s1 has no cgroup: .*delegated cgroup v2" "and one line naming what is not shown and why"
is "$(wc -l <"$TEST_TMP/st2.err")" 1 "only the running instance is named (not the stopped l2)"
out=$(UH set s1 --memory 256M 2>&1)
rc=$?
[ $rc != 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ "$out" =~ (cgroup|delegat) ]]
ok $? "set s1 --memory live is refused in one line with the reason: $out"
out=$(UH set s1 --memory 256M --pids 64 --save 2>&1)
rc=$?
ok $rc "set --memory --pids --save is accepted"
[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ "$out" =~ ^"hangar: warning: set s1: saved for the next start, not applied now: ".*cgroup ]]
ok $? "with one warning that it is not applied now, and why: $out"
home=$(getent passwd "$A" | cut -d: -f6)
jq -e '.. | objects | select(has("limit")) | .limit == 268435456' "$home/.local/share/hangar/instances/s1/config.json" >/dev/null 2>&1 ||
	grep -q 268435456 "$home/.local/share/hangar/instances/s1/instance.json"
ok $? "the memory limit is stored for the next start"
like "$(UH info s1 2>&1)" "256" "info s1 shows the stored memory limit"
like "$(UH info s1 2>&1)" "RUNNING|running" "info s1: running"
for i in $(seq 50); do UH logs s1 2>/dev/null | grep -q hello-log && break; sleep 0.1; done
like "$(UH logs s1 2>&1)" "hello-log" "logs s1 shows the instance's output"
pid1=$(pgrep -u "$A" -x sleep | head -1)
UH restart -t 1 s1 >/dev/null 2>"$TEST_TMP/rs.err"
ok $? "restart s1 as $A: $(cat "$TEST_TMP/rs.err")"
like "$(UH list)" "s1 +RUNNING" "running again after restart"
pid2=$(pgrep -u "$A" -x sleep | head -1)
[ -n "$pid2" ] && [ "$pid2" != "$pid1" ]
ok $? "with a new init ($pid1 -> $pid2)"
UH stop -t 1 s1 >/dev/null 2>&1
# console: a shell instance, through script(1) for the terminal.
UH run -d c1 --network none -- sh </dev/null >/dev/null 2>&1
fifo=$TEST_TMP/con-in
mkfifo "$fifo" && chmod 0666 "$fifo"
(cd "$UW" && rl_as "$A" script -qec "$HANGAR console c1" /dev/null <"$fifo" >"$TEST_TMP/con-out" 2>&1; echo $? >"$TEST_TMP/con-rc") &
exec 7>"$fifo"
sleep 0.5
echo 'echo con-$((40+2))' >&7
for i in $(seq 50); do grep -q 'con-42' "$TEST_TMP/con-out" && break; sleep 0.1; done
printf '\001q' >&7
exec 7>&-
wait
like "$(tr -d '\r' <"$TEST_TMP/con-out")" "con-42" "console c1 as $A: the shell answers"
is "$(cat "$TEST_TMP/con-rc")" 0 "console detaches with Ctrl-a q"
like "$(UH list)" "c1 +RUNNING" "and c1 keeps running"
UH destroy --force c1
ok $? "destroy c1"

done_testing
