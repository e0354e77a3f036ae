# Sourced by the guest-side scripts (tests/vm/*.sh): one TAP stream and the
# count of failures, which the script's exit status reports (see run-in-vm).
#   ok STATUS DESCRIPTION          0 passes, anything else fails
#   emit ok|not-ok DESCRIPTION
#   run_tap NAME COMMAND...        a TAP-printing command's checks, renumbered
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

# run_tap NAME COMMAND...: run a TAP-printing command and renumber its checks
# into this stream as "NAME: ..." (its raw output stays in /tmp/run_tap.last).
# A missing program (an absolute path that is not executable) is one failure,
# and so is a non-zero exit without a failing check.  With TAP_STRICT set to
# where we are ("in the legacy guest"), a skipped check or a skipped run (exit
# 77) fails as well: there the guest has everything the tests need.
run_tap() {
	local name=$1 line rc out=/tmp/run_tap.last f=0
	shift
	if [ "${1#/}" != "$1" ] && [ ! -x "$1" ]; then
		emit not-ok "$name: $1 is missing (build it into \$BUILD)"
		return
	fi
	"$@" >"$out" 2>&1
	rc=$?
	while IFS= read -r line; do
		case "$line" in
		"ok "*"# SKIP"* | "ok "*"# skip"*)
			n=$((n + 1))
			if [ -n "${TAP_STRICT:-}" ]; then
				f=$((f + 1))
				echo "not ok $n - $name: skipped $TAP_STRICT:${line#ok [0-9]* -}"
			else
				echo "ok $n - $name:${line#ok [0-9]* -}"
			fi
			;;
		"ok "*) n=$((n + 1)); echo "ok $n - $name:${line#ok [0-9]* -}" ;;
		"not ok "*) n=$((n + 1)); f=$((f + 1)); echo "not ok $n - $name:${line#not ok [0-9]* -}" ;;
		"1.."*) ;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done <"$out"
	failures=$((failures + f))
	if [ "$rc" = 77 ] && [ -n "${TAP_STRICT:-}" ]; then
		emit not-ok "$name skipped (exit 77) $TAP_STRICT"
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		emit not-ok "$name exited $rc without a failing check"
	fi
}
