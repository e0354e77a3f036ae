#!/bin/bash
# hangar sandbox: a shell (or a command) in a fresh instance with the current
# directory mounted at the same path and as the working directory; gone on
# exit unless --keep.  As root with a private store; as an unprivileged user
# with the user's own store, where root inside is the user outside.
HANGAR_TEST_PRIVATE_NET=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootless-lib.sh"
[ -x "$HANGAR" ] || { echo "Bail out! $HANGAR not built"; exit 1; }

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
UH() { (cd "$UW" && rl_as "$A" "$HANGAR" "$@"); }

# Leaving without exiting: the client catches SIGHUP (terminal or ssh gone),
# SIGTERM and SIGINT, and removes the instance all the same.
# rl_sandbox_gone USER NAME: no instance, process or mount of it is left.
rl_sandbox_gone() {
	local user=$1 n=$2 i
	for i in $(seq 50); do
		[ -z "$(pgrep -u "$user")" ] && break
		sleep 0.1
	done
	! UH list 2>&1 | grep -q "^$n " && [ -z "$(pgrep -u "$user")" ] && ! grep -q "/instances/$n/" /proc/self/mountinfo
}
# A terminal through script(1); the pid file names the hangar client itself.
fifo=$TEST_TMP/sb-in
mkfifo "$fifo" && chmod 0666 "$fifo"
: >"$TEST_TMP/sb-out"
(cd "$UW" && rl_as "$A" script -qec "echo \$\$ >$UW/client.pid; exec $HANGAR sandbox --network none --name hup1" /dev/null \
	<"$fifo" >"$TEST_TMP/sb-out" 2>&1; echo $? >"$TEST_TMP/sb-rc") &
exec 7>"$fifo"
echo 'id -u; pwd; echo re""ady' >&7
for i in $(seq 100); do grep -q '^ready' <(tr -d '\r' <"$TEST_TMP/sb-out") && break; sleep 0.1; done
out=$(tr -d '\r' <"$TEST_TMP/sb-out")
like "$out" "
0
$UW
ready" "a sandbox shell on a terminal as $A: id -u and pwd answer"
kill -HUP "$(cat "$UW/client.pid")"
exec 7>&-
wait
is "$(cat "$TEST_TMP/sb-rc" 2>&1)" 129 "SIGHUP to the client: it exits with 128+1"
rl_sandbox_gone "$A" hup1
ok $? "after SIGHUP no instance, process or mount of the sandbox is left"

# rl_bg_sandbox NAME ARGS...: a sandbox without a terminal in the background;
# its client's pid in $UW/client.pid once the instance runs.
rl_bg_sandbox() {
	local n=$1 i; shift
	rm -f "$UW/client.pid"
	(cd "$UW" && rl_as "$A" sh -c "echo \$\$ >$UW/client.pid; exec $HANGAR sandbox --network none --name $n $*" \
		</dev/null >"$TEST_TMP/sb-out" 2>&1; echo $? >"$TEST_TMP/sb-rc") &
	for i in $(seq 100); do UH list 2>/dev/null | grep -q "^$n  *RUNNING" && return 0; sleep 0.1; done
	return 1
}
rl_bg_sandbox int1 -- sleep 100
ok $? "a sandbox running sleep 100 without a terminal"
kill -INT "$(cat "$UW/client.pid")"
wait
is "$(cat "$TEST_TMP/sb-rc" 2>&1)" 130 "SIGINT without a terminal: 128+2"
rl_sandbox_gone "$A" int1
ok $? "after SIGINT no instance, process or mount is left"
rl_bg_sandbox term1 -- sleep 100
kill -TERM "$(cat "$UW/client.pid")"
wait
is "$(cat "$TEST_TMP/sb-rc" 2>&1)" 143 "SIGTERM: 128+15"
rl_sandbox_gone "$A" term1
ok $? "after SIGTERM nothing is left"
rl_bg_sandbox keep2 --keep -- sleep 100
kill -HUP "$(cat "$UW/client.pid")"
wait
is "$(cat "$TEST_TMP/sb-rc" 2>&1)" 129 "--keep, SIGHUP: 128+1"
like "$(UH list)" "keep2 +STOPPED" "--keep as $A: the instance is kept, stopped"
like "$(cat "$TEST_TMP/sb-out")" "kept as instance keep2" "and named"
UH destroy keep2
ok $? "destroy the kept one"

# A rootless instance through the ordinary verbs.
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
