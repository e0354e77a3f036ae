#!/bin/bash
# hangar sandbox: a shell (or a command) in a fresh instance with the current
# directory mounted at the same path and as the working directory; gone on
# exit unless --keep.  As root with a private store; as an unprivileged user
# with the user's own store, where root inside is the user outside.
HANGAR_TEST_PRIVATE_NET=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootless-lib.sh"
[ -x "$HANGAR" ] || skip_all "$HANGAR not built"
"$HANGAR" sandbox --help >/dev/null 2>&1 || skip_all "this hangar has no sandbox verb"

H() { "$HANGAR" --root "$TEST_TMP/data" --run "$TEST_TMP/run" "$@"; }
at_exit 'for n in $(H list 2>/dev/null | awk "NR > 1 {print \$1}"); do H destroy "$n"; done'

W=$TEST_TMP/work
mkdir -p "$W/sub"
echo from-host >"$W/in.txt"
out=$(cd "$W" && H sandbox --network none -- sh -c 'pwd; cat in.txt; echo from-sandbox >made.txt; exit 7' </dev/null 2>&1)
rc=$?
out=${out//$'\r'/} # the console is a pty
is "$rc" 7 "sandbox returns the command's exit status"
like "$out" "^$W
from-host" "the command runs in the current directory, which is mounted"
is "$(cat "$W/made.txt" 2>&1)" from-sandbox "what it writes there appears on the host"
is "$(H list | awk 'NR > 1' | wc -l)" 0 "the instance is gone after exit"

out=$(cd "$W/sub" && printf 'pwd\nexit 3\n' | H sandbox --network none --keep --name keep1 2>&1)
rc=$?
out=${out//$'\r'/}
is "$rc" 3 "the default shell reads commands and exits with their status"
like "$out" "$W/sub" "the shell starts in the current directory"
like "$out" "kept as instance keep1" "--keep names the kept instance"
like "$(H list)" "keep1 +STOPPED" "--keep keeps it"
H destroy keep1
ok $? "destroy the kept one"

out=$(cd / && H sandbox --network none 2>&1 </dev/null)
rc=$?
[ $rc = 2 ] && [[ "$out" =~ "cannot mount the current directory /" ]]
ok $? "from / it refuses: $out"
out=$(cd "$W" && H sandbox --network none --rm 2>&1 </dev/null)
rc=$?
[ $rc = 2 ] && [[ "$out" =~ "not a sandbox option" ]]
ok $? "--rm is refused (it is the default): $out"

# As an unprivileged user, in the user's own store.
rl_make_user A ranges || { echo "Bail out! cannot create a test user"; exit 1; }
UW=$TEST_TMP/uwork
mkdir -p "$UW" && chown "$A:" "$UW"
out=$(cd "$UW" && rl_as "$A" "$HANGAR" sandbox --network none -- sh -c 'id -u; pwd; echo mine >made.txt;
	ip -o link show lo; grep " / " /proc/self/mountinfo' </dev/null 2>&1)
rc=$?
out=${out//$'\r'/}
ok $rc "sandbox as $A"
like "$out" "^0
$UW" "root inside, in the mounted directory"
is "$(stat -c %U "$UW/made.txt" 2>&1)" "$A" "a file made inside belongs to $A on the host"
like "$out" "lo: <[^>]*UP" "--network none: a private network namespace with lo up"
like "$out" " / [^ ]* - overlay " "the instance root is an overlay, mounted inside the user namespace"
! grep -q "$(getent passwd "$A" | cut -d: -f6)/.local/share/hangar/instances" /proc/self/mountinfo
ok $? "nothing of it is mounted on the host"
# A rootless instance through the ordinary verbs.
UH() { (cd "$UW" && rl_as "$A" "$HANGAR" "$@"); }
UH create m1 -- sleep 300 >/dev/null 2>&1
ok $? "create as $A"
UH start m1 >/dev/null 2>&1
ok $? "start as $A"
like "$(UH list)" "m1 +RUNNING" "list shows it running"
is "$(UH exec m1 id -u 2>&1 | tr -d '\r')" 0 "exec as $A: root inside"
UH stop -t 1 m1
ok $? "stop as $A (no cgroup here: the pid namespace's init takes the rest)"
UH destroy m1
ok $? "destroy as $A"
home=$(getent passwd "$A" | cut -d: -f6)
is "$(ls -A "$home/.local/share/hangar/instances" 2>/dev/null)" "" "nothing of it is left in $A's store"

done_testing
