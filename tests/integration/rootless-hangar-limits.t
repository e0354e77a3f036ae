#!/bin/bash
# Limits that cannot apply to a rootless instance (no delegated cgroup v2
# subtree: cgroup v1 or hybrid hosts like this one) are not dropped
# silently by `hangar`: create/run/sandbox/start say so in exactly one
# warning line on stderr, and the monitor's log has it too.
HANGAR_TEST_PRIVATE_NET=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootless-lib.sh"
[ -x "$HANGAR" ] || skip_all "$HANGAR not built"
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

done_testing
