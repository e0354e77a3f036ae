#!/bin/bash
# Guest side of tests/vm/systemd-v2.t: pure cgroup v2 with nsdelegate.  A
# systemd instance gets its own cgroup2 subtree writable, boots, cannot
# change its own memory.max (the kernel refuses writes to the namespace
# root's files under nsdelegate), stops cleanly and leaves nothing.
# Prints one TAP stream; exits with the number of failures.
set -u
BUILD=${BUILD:-$TOP/build}
. "$(dirname "$0")/guest-tap.sh"
check() { # check DESCRIPTION COMMAND...
	local d=$1
	shift
	if "$@"; then emit ok "$d"; else emit not-ok "$d"; fi
}
export HANGAR_ROOT=/tmp/sd-store HANGAR_RUN=/tmp/sd-run
hg() { "$BUILD/hangar" "$@"; }
in_sd() { hg exec sd -- "$@" 2>&1 | tr -d '\r'; }

check "cgroup2 with nsdelegate at /sys/fs/cgroup" grep -qE '^cgroup2 /sys/fs/cgroup cgroup2 [^ ]*nsdelegate' /proc/mounts
# The image dir is on the guest's root tmpfs, like the store: a rename puts
# it into place without a second copy.
mkdir -p "$HANGAR_ROOT/images/deb"
mv "$HANGAR_SD_IMAGE_DIR" "$HANGAR_ROOT/images/deb/rootfs" &&
	echo '{"created":"2026-01-01T00:00:00Z","source":"vm"}' >"$HANGAR_ROOT/images/deb/image.json"
check "image in the store" test -L "$HANGAR_ROOT/images/deb/rootfs/sbin/init"
out=$(hg create sd --image deb --init --network none --memory 384M 2>&1)
check "create --init ($out)" test -z "$out"
if hg start sd; then
	emit ok "start"
else
	emit not-ok "start"
	dmesg | tail -5 | sed 's/^/# dmesg: /'
fi
state=
for _ in $(seq 360); do
	state=$(in_sd systemctl is-system-running)
	case "$state" in running | degraded) break ;; esac
	sleep 0.5
done
check "systemd is up: $state" test "$state" = running -o "$state" = degraded
echo "# failed units: $(in_sd systemctl list-units --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')"
cg=$(jq -r '.linux.cgroupsPath' "$HANGAR_ROOT/instances/sd/config.json")
check "PID 1 in /init.scope of its namespace" grep -qx '0::/init.scope' <<<"$(in_sd cat /proc/1/cgroup)"
opts=$(in_sd findmnt -no FSTYPE,OPTIONS /sys/fs/cgroup)
check "/sys/fs/cgroup inside: cgroup2, writable ($opts)" grep -q '^cgroup2 *rw,' <<<"$opts"
check "host: init.scope below /sys/fs/cgroup$cg" test -d "/sys/fs/cgroup$cg/init.scope"
check "host: memory.max 384M" test "$(cat "/sys/fs/cgroup$cg/memory.max")" = 402653184
out=$(in_sd sh -c 'echo max > /sys/fs/cgroup/memory.max; echo rc=$?')
check "inside: memory.max of its own root refused ($(echo $out | tr '\n' ' '))" grep -q 'rc=[1-9]' <<<"$out"
check "host: memory.max still 384M" test "$(cat "/sys/fs/cgroup$cg/memory.max")" = 402653184
out=$(hg stop --timeout 120 sd 2>&1)
check "stop ($out)" test -z "$out"
check "clean exit (status 0)" grep -q 'init exited with status 0' "$HANGAR_ROOT/instances/sd/log"
check "destroy" hg destroy sd
check "no cgroup left" test ! -e "/sys/fs/cgroup$cg"
check "no mount left" test "$(grep -c "$HANGAR_ROOT/instances/sd" /proc/self/mountinfo)" = 0
finish
