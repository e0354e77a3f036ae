#!/bin/bash
# Guest side of tests/vm/rootfs.t: the rootfs unit tests on a pure cgroup v2
# host (the cgroup2 mount layout) and on the guest's older kernel (overlayfs
# without "lowerdir+", idmapped mounts on tmpfs refused with a clear error).
# Prints one TAP stream; exits with the number of failures.
set -u
BUILD=${BUILD:-$TOP/build}
. "$(dirname "$0")/guest-tap.sh"
echo "# guest kernel $(uname -r)"
grep -q '^cgroup2 /sys/fs/cgroup cgroup2 ' /proc/mounts
if [ $? = 0 ]; then emit ok "cgroup2 mounted at /sys/fs/cgroup"; else emit not-ok "cgroup2 mounted at /sys/fs/cgroup"; fi

run_tap() { # run_tap NAME BINARY: renumber a TAP-printing binary into this stream
	local name=$1 bin=$2 line rc out f=0
	if [ ! -x "$bin" ]; then
		emit not-ok "$name: $bin is missing (build it into \$BUILD)"
		return
	fi
	out=$(mktemp)
	"$bin" >"$out" 2>&1
	rc=$?
	while IFS= read -r line; do
		case "$line" in
		"ok "*) n=$((n + 1)); echo "ok $n - $name:${line#ok [0-9]* -}" ;;
		"not ok "*) n=$((n + 1)); f=$((f + 1)); echo "not ok $n - $name:${line#not ok [0-9]* -}" ;;
		"1.."*) ;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done <"$out"
	rm -f "$out"
	failures=$((failures + f))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		emit not-ok "$name exited $rc without a failing check"
	fi
}

run_tap test_rootfs "$BUILD/tests/unit/test_rootfs"
run_tap test_rootfs_overlay "$BUILD/tests/unit/test_rootfs_overlay"
finish
