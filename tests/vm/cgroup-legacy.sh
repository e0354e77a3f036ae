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

# Every controller and a loop device are here: a skip is a failure.
TAP_STRICT="in the legacy guest"
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
