#!/bin/bash
# The private CRIU from scripts/install-criu works on this kernel: version 4.x,
# "criu check", and two checkpoint/restore round trips of a real process tree
# (a shell loop that bumps a counter file once per 0.1 s through an external
# sleep child).  After each restore the counter must continue from where the
# dump stopped it, not start over.
# The loop is pid 1 of its own pid namespace, and CRIU restores it into a new
# one: restoring into the host's namespace fails whenever the old pid is still
# taken (by then it is often a zombie nobody has reaped yet).
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
n=0
failures=0
ok() { # ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failures=$((failures + 1))
	fi
}
plan=16
echo "1..$plan"

criu=${HANGAR_CRIU:-/opt/hangar/criu/bin/criu}
if [ ! -x "$criu" ]; then
	echo "# $criu missing: run scripts/install-deps (installs the private CRIU)"
	ok 1 "private criu is installed"
	exit 1
fi
ok 0 "private criu is installed at $criu"

version=$("$criu" --version 2>&1 | sed -n 's/^Version: *//p')
[[ "$version" == [4-9].* ]]
ok $? "criu --version reports 4.x (got '${version:-nothing}')"

work=$(mktemp -d /tmp/infra-criu.XXXXXX)
loop_pid=
cleanup() {
	# Killing the namespace's init ends everything in it, and only that is ours.
	if [ -n "$loop_pid" ] && kill -0 "$loop_pid" 2>/dev/null; then
		kill -KILL "$loop_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT

"$criu" check >"$work/check.log" 2>&1
rc=$?
grep -q 'Looks good' "$work/check.log"
ok $((rc | $?)) "criu check says 'Looks good.'"
[ "$rc" = 0 ] || sed 's/^/#   /' "$work/check.log" | tail -n 5

cat >"$work/loop.sh" <<'EOF'
#!/bin/bash
echo $$ >"$1/loop.pid"
n=0
while :; do
	n=$((n + 1))
	echo "$n" >"$1/counter"
	sleep 0.1
done
EOF
# Its own session and no terminal, so CRIU needs no --shell-job.
unshare --pid --fork setsid bash "$work/loop.sh" "$work" </dev/null >/dev/null 2>&1 &
unshare_pid=$!
for _ in $(seq 50); do
	[ -s "$work/loop.pid" ] && break
	sleep 0.1
done
# The host's pid of the namespace's init, which sees itself as pid 1.
loop_pid=$(cat "/proc/$unshare_pid/task/$unshare_pid/children" 2>/dev/null | tr -d ' ')

# ns_pid PID: PID's number inside its innermost pid namespace.
ns_pid() { awk '/^NSpid:/ { print $NF }' "/proc/$1/status" 2>/dev/null; }

# A dump between the loop's truncate and write leaves the file empty: read 0.
counter() {
	local value
	value=$(cat "$work/counter" 2>/dev/null)
	echo "${value:-0}"
}
# wait_past VALUE: wait up to 5 s for the counter to exceed VALUE.
wait_past() {
	for _ in $(seq 50); do
		[ "$(counter)" -gt "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

[ -n "$loop_pid" ] && [ "$(cat "$work/loop.pid")" = 1 ] && [ "$(ns_pid "$loop_pid")" = 1 ] && wait_past 3
ok $? "the counter loop runs as pid 1 of a new pid namespace (host pid ${loop_pid:-none})"

round_trip() { # round_trip N
	local round=$1 images="$work/images.$1" at_dump
	mkdir -p "$images"
	"$criu" dump -t "$loop_pid" -D "$images" -o dump.log -v4 2>/dev/null
	local rc=$?
	ok $rc "round $round: criu dump of the loop's process tree"
	[ "$rc" = 0 ] || grep -E 'Error|error' "$images/dump.log" | tail -n 5 | sed 's/^/#   /'

	# The first round's tree is our unshare's child: reap it.
	[ "$round" = 1 ] && wait "$unshare_pid" 2>/dev/null
	# Gone, or a zombie its reaper has not collected yet (and may collect
	# between the two looks: then there is no status left to read).
	local state
	state=$(awk '/^State:/ { print $2 }' "/proc/$loop_pid/status" 2>/dev/null)
	! kill -0 "$loop_pid" 2>/dev/null || [ -z "$state" ] || [ "$state" = Z ]
	ok $? "round $round: the dumped tree is gone"

	at_dump=$(counter)
	sleep 0.5
	[ "$(counter)" = "$at_dump" ]
	ok $? "round $round: the counter stays at $at_dump while checkpointed"

	"$criu" restore -D "$images" -d --pidfile "$images/restored.pid" -o restore.log -v4 2>/dev/null
	rc=$?
	ok $rc "round $round: criu restore -d"
	[ "$rc" = 0 ] || grep -E 'Error|error' "$images/restore.log" | tail -n 5 | sed 's/^/#   /'

	loop_pid=$(cat "$images/restored.pid" 2>/dev/null)
	[ -n "$loop_pid" ] && kill -0 "$loop_pid" 2>/dev/null && [ "$(ns_pid "$loop_pid")" = 1 ]
	ok $? "round $round: the loop runs again as pid 1 of a new pid namespace (host pid ${loop_pid:-none})"

	# Continuing means the next values are at_dump+1, at_dump+2, ...; a fresh
	# start would write 1, 2, ... for 0.1 s each, which sampling every 0.03 s sees.
	local value lowest=999999 reached=1
	for _ in $(seq 170); do
		# A read between the loop's truncate and its write sees an empty
		# file: that is no value, not a restart from 0.
		value=$(cat "$work/counter" 2>/dev/null)
		if [ -z "$value" ]; then
			sleep 0.03
			continue
		fi
		[ "$value" -lt "$lowest" ] && lowest=$value
		if [ "$value" -gt "$((at_dump + 2))" ]; then
			reached=0
			break
		fi
		sleep 0.03
	done
	[ "$reached" = 0 ] && [ "$lowest" -ge "$at_dump" ]
	ok $? "round $round: the counter continues from $at_dump (lowest value seen $lowest, now $value)"
}

round_trip 1
round_trip 2

[ "$n" = "$plan" ] || echo "# ran $n checks, planned $plan"
exit $((failures > 0))
