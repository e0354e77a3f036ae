#!/bin/bash
# Guest side of tests/vm/cgroup-legacy.t: runs inside the qemu guest booted
# with cgroupmode=legacy (v1 hierarchies on a tmpfs at /sys/fs/cgroup, cpu and
# cpuacct co-mounted, a name=systemd hierarchy, no cgroup2).  Checks that
# layout, then runs the v1 unit tests and hangar-oci's cgroup test in it,
# expecting hangar to detect "legacy".  Everything the guest is meant to have
# is required: a missing controller, a skipped check or a skipped test is
# "not ok" here.  Prints one TAP stream; exits with the number of failures.
set -u
BUILD=${BUILD:-$TOP/build}
. "$(dirname "$0")/guest-tap.sh"
check() { # check EXIT-STATUS DESCRIPTION
	if [ "$1" = 0 ]; then emit ok "$2"; else emit not-ok "$2"; fi
}

! grep -q ' cgroup2 ' /proc/mounts
check $? "no cgroup2 mounted anywhere ($(awk '$3 == "cgroup2" { print $2 }' /proc/mounts | tr '\n' ' '))"
[ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ]
check $? "/sys/fs/cgroup is a tmpfs holding the v1 hierarchies"
for c in cpu cpuacct memory pids blkio cpuset freezer devices; do
	awk -v c="$c" '$3 == "cgroup" { n = split($4, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) f = 1 }
		END { exit !f }' /proc/mounts && [ -d "/sys/fs/cgroup/$c/" ]
	check $? "v1 controller $c is mounted and reachable at /sys/fs/cgroup/$c"
done
grep -q '^cgroup /sys/fs/cgroup/cpu,cpuacct cgroup [^ ]*cpu,cpuacct' /proc/mounts
check $? "cpu and cpuacct share one hierarchy, as on a legacy distro"

# run_tap NAME COMMAND...: run a TAP-printing command and re-number its checks
# into this stream (the raw output stays in /tmp/run_tap.last).  A skipped check or a skipped run (exit 77) fails: the
# guest has every controller and a loop device.  A non-zero exit without a
# failing check counts as one failure.
run_tap() {
	local name=$1 line rc out f=0
	shift
	out=/tmp/run_tap.last
	"$@" >"$out" 2>&1
	rc=$?
	while IFS= read -r line; do
		case "$line" in
		"ok "*"# SKIP"* | "ok "*"# skip"*)
			n=$((n + 1)); f=$((f + 1)); echo "not ok $n - $name: skipped in the legacy guest:${line#ok [0-9]* -}" ;;
		"ok "*) n=$((n + 1)); echo "ok $n - $name:${line#ok [0-9]* -}" ;;
		"not ok "*) n=$((n + 1)); f=$((f + 1)); echo "not ok $n - $name:${line#not ok [0-9]* -}" ;;
		"1.."*) ;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done <"$out"
	failures=$((failures + f))
	if [ "$rc" = 77 ]; then
		emit not-ok "$name skipped (exit 77) in the legacy guest"
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		emit not-ok "$name exited $rc without a failing check"
	fi
}

if [ -x "$BUILD/tests/unit/test_cgroup_v1" ]; then
	run_tap test_cgroup_v1 "$BUILD/tests/unit/test_cgroup_v1"
	out=$(grep -m1 '^# mode ' /tmp/run_tap.last)
	[[ "$out" == "# mode legacy,"* ]]
	check $? "cgroup_detect_mode says legacy (${out#\# })"
else
	emit not-ok "$BUILD/tests/unit/test_cgroup_v1 is missing (build it into \$BUILD)"
fi
run_tap cgroup-oci.t env HANGAR_TEST_CGROUP_MODE=legacy bash "$TOP/tests/integration/cgroup-oci.t"

leftover=$(find /sys/fs/cgroup/*/ -mindepth 1 -maxdepth 1 -type d -name 'hangar*' 2>/dev/null | tr '\n' ' ')
[ -z "$leftover" ]
check $? "no hangar cgroup left in any hierarchy ($leftover)"
finish
