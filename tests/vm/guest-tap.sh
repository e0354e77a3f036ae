# Sourced by the guest-side scripts (tests/vm/*.sh): one TAP stream and the
# count of failures, which the script's exit status reports (see run-in-vm).
#   ok STATUS DESCRIPTION          0 passes, anything else fails
#   emit ok|not-ok DESCRIPTION
#   finish                         the plan, then exit with the failures
#                                  (capped at 100: an exit status wraps at 256)
n=0
failures=0
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failures=$((failures + 1))
	fi
}
emit() { if [ "$1" = ok ]; then ok 0 "$2"; else ok 1 "$2"; fi; }
finish() {
	echo "1..$n"
	[ "$failures" -gt 100 ] && failures=100
	exit "$failures"
}
