#!/bin/bash
# hangar --init with a systemd image (issue 6): a debootstrap'd Debian 12
# boots systemd as PID 1 on this host, with its own writable name=systemd
# (and hybrid cgroup2) subtree, tmpfs /run, container=hangar and the pty as
# /dev/console; stop shuts it down through SIGRTMIN+3, and destroy leaves no
# mount, cgroup or process behind.
# The image is built once with `hangar image debootstrap` (the network is
# needed) and cached as a tarball in $HANGAR_TEST_CACHE (default
# /var/cache/hangar); later runs import the tarball.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (rootless hangar is issue 8)"
[ -x "$HANGAR" ] || { echo "not ok 1 - $HANGAR not built"; echo "1..1"; exit 1; }
export HANGAR_ROOT=$TEST_TMP/data HANGAR_RUN=$TEST_TMP/run
hg() { "$HANGAR" "$@"; }
_hangar_cleanup() { for n in $(ls "$HANGAR_ROOT/instances" 2>/dev/null); do "$HANGAR" destroy --force "$n"; done; }
at_exit _hangar_cleanup
name=sd$$
# `hangar exec` output comes through a pty: drop the carriage returns.
in_sd() { hg exec "$name" -- "$@" 2>&1 | tr -d '\r'; }

cache_dir=${HANGAR_TEST_CACHE:-/var/cache/hangar}
cache=$cache_dir/debootstrap-bookworm-systemd-dbus.tar
if [ -s "$cache" ]; then
	out=$(hg image import deb "$cache" 2>&1)
	ok $? "image imported from the cached debootstrap tarball $cache ($out)"
else
	command -v debootstrap >/dev/null ||
		{ fail "debootstrap is not installed (scripts/install-deps --test installs it)"; done_testing; exit; }
	t0=$(date +%s)
	out=$(hg image debootstrap deb 2>&1)
	rc=$?
	# Only a failed download (no network, mirror down) is a skip.
	if [ $rc != 0 ] && [[ "$out" =~ Failed\ getting\ release|[Cc]ouldn.t\ download|[Tt]emporary\ failure|[Cc]ould\ not\ resolve|[Cc]onnection\ (refused|timed) ]]; then
		skip_all "debootstrap cannot fetch packages: $out"
	fi
	ok $rc "image debootstrap deb (default suite, $(($(date +%s) - t0))s): $out"
	is "$(jq -r .source "$HANGAR_ROOT/images/deb/image.json")" "debootstrap bookworm" "the default suite is bookworm"
	mkdir -p "$cache_dir" &&
		tar -C "$HANGAR_ROOT/images/deb/rootfs" --numeric-owner --xattrs --xattrs-include='*' -cf "$cache.tmp.$$" . &&
		mv "$cache.tmp.$$" "$cache"
	ok $? "image cached as $cache"
fi
img=$HANGAR_ROOT/images/deb/rootfs
is "$(readlink "$img/sbin/init")" /lib/systemd/systemd "the image's /sbin/init is systemd (systemd-sysv included)"
is "$(stat -c %s "$img/etc/machine-id")" 0 "the image's machine-id is empty (each instance gets its own)"

out=$(hg create "$name" --image deb --init --network none 2>&1)
ok $? "create --init on the systemd image ($out)"
cfg=$HANGAR_ROOT/instances/$name/config.json
is "$(jq -r '.process.env[] | select(startswith("container="))' "$cfg")" container=hangar "systemd mode: container=hangar"
is "$(jq -r '[.mounts[] | select(.type == "tmpfs") | .destination] | map(select(. == "/run" or . == "/run/lock" or . == "/tmp")) | join(" ")' "$cfg")" \
	"/run /run/lock /tmp" "systemd mode: tmpfs on /run, /run/lock and /tmp"
is "$(jq -r '.annotations["run.hangar.cgroup.systemd"]' "$cfg")" true "systemd mode: cgroup subtree annotation"
ok "$(jq -e '.process.capabilities.bounding | index("CAP_SYS_ADMIN") | not' "$cfg" >/dev/null; echo $?)" \
	"systemd mode adds no CAP_SYS_ADMIN"
machine_id=$(cat "$HANGAR_ROOT/instances/$name/upper/etc/machine-id")
like "$machine_id" '^[0-9a-f]{32}$' "the instance has a machine id of its own"

t0=$(date +%s)
hg start "$name"
ok $? "start $name"
# wait_booted: until systemd says running or degraded (at most 120 s).
wait_booted() {
	local i
	for i in $(seq 240); do
		state=$(in_sd systemctl is-system-running)
		case "$state" in running | degraded) return 0 ;; esac
		sleep 0.5
	done
	return 1
}
wait_booted
like "$state" '^(running|degraded)$' "systemctl is-system-running: $state ($(($(date +%s) - t0))s after start)"
failed=$(in_sd systemctl list-units --failed --plain --no-legend | awk '{print $1}')
diag "failed units: ${failed:-none}"
critical=$(echo "$failed" | grep -E '^(systemd-journald|dbus|systemd-logind|console-getty|systemd-tmpfiles-setup|systemd-sysusers)\.' || true)
is "$critical" "" "no critical unit failed"
is "$(in_sd cat /proc/1/comm)" systemd "PID 1 is systemd"
is "$(in_sd systemd-detect-virt)" container-other "systemd sees a container (container=hangar)"
is "$(in_sd cat /etc/machine-id)" "$machine_id" "/etc/machine-id is the instance's"
is "$(in_sd hostname)" "$name" "hostname"

# cgroups: systemd's tree lives below the cgroup hangar made for the instance.
cg=$(jq -r '.linux.cgroupsPath' "$cfg")
pid1_cgroup=$(in_sd cat /proc/1/cgroup)
ok "$(grep -qx '[0-9]*:name=systemd:/init.scope' <<<"$pid1_cgroup"; echo $?)" \
	"PID 1 moved itself to /init.scope of its own name=systemd subtree"
ok "$([ -d "/sys/fs/cgroup/systemd$cg/init.scope" ] && [ -d "/sys/fs/cgroup/systemd$cg/system.slice" ]; echo $?)" \
	"host: systemd's init.scope and system.slice are below /sys/fs/cgroup/systemd$cg"
if [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
	ok "$(grep -qx '0::/init.scope' <<<"$pid1_cgroup" && [ -d "/sys/fs/cgroup/unified$cg/init.scope" ]; echo $?)" \
		"hybrid host: the same in cgroup2, below /sys/fs/cgroup/unified$cg"
fi
is "$(in_sd findmnt -no OPTIONS /sys/fs/cgroup/systemd | cut -d, -f1)" rw "name=systemd is writable inside"
is "$(in_sd findmnt -no OPTIONS /sys/fs/cgroup/memory | cut -d, -f1)" ro "the memory controller stays read-only inside"
limit_before=$(cat "/sys/fs/cgroup/memory$cg/memory.limit_in_bytes")
in_sd sh -c 'echo 4096 > /sys/fs/cgroup/memory/memory.limit_in_bytes' >/dev/null
is "$(cat "/sys/fs/cgroup/memory$cg/memory.limit_in_bytes")" "$limit_before" "the instance cannot change its own memory limit"
is "$(in_sd findmnt -no FSTYPE /run)" tmpfs "/run is a tmpfs"

# The console: the instance's pty is /dev/console, where getty prompts.
is "$(in_sd stat -c %t /dev/console)" 88 "/dev/console is a pty (major 136)"
ok "$(in_sd systemctl is-active console-getty.service | grep -qx active; echo $?)" "console-getty runs"
wait_for "grep -q '$name login:' '$HANGAR_ROOT/instances/$name/log'" 50
ok $? "getty's login prompt reached the console log"

# stop: systemd's own shutdown (SIGRTMIN+3), not the SIGKILL escalation.
t0=$(date +%s)
out=$(hg stop --timeout 60 "$name" 2>&1)
ok $? "stop $name ($out)"
t1=$(date +%s)
ok "$([ $((t1 - t0)) -lt 60 ]; echo $?)" "systemd shut down before the timeout ($((t1 - t0))s)"
log=$HANGAR_ROOT/instances/$name/log
ok "$(grep -q 'Reached target.*System Shutdown' "$log" && grep -q 'Exiting container' "$log"; echo $?)" \
	"systemd ran its shutdown and exited the container (log)"
ok "$(tail -1 "$log" | grep -q 'init exited with status 0'; echo $?)" "the monitor recorded a clean exit: $(tail -1 "$log")"
is "$(hg list --format json | jq -r --arg n "$name" '.[] | select(.name == $n) | .exit_code')" 0 "exit code 0, not 137 (SIGKILL)"
ok "$([ ! -e "/sys/fs/cgroup/systemd$cg" ] && [ ! -e "/sys/fs/cgroup/unified$cg" ] && [ ! -e "/sys/fs/cgroup/memory$cg" ]; echo $?)" \
	"stop removed the instance's cgroups, systemd's subtrees included"

# A second boot of the same instance keeps its machine id.
hg start "$name"
wait_booted
ok $? "the instance boots again after a stop ($state)"
is "$(in_sd cat /etc/machine-id)" "$machine_id" "same machine id on the second boot"

out=$(hg destroy --force "$name" 2>&1)
ok $? "destroy --force while running ($out)"
leftover=$(find /sys/fs/cgroup -maxdepth 4 -type d -path "*$cg*" 2>/dev/null)
is "$leftover" "" "no cgroup left in any hierarchy (name=systemd included)"
is "$(grep -c "$HANGAR_ROOT/instances/$name" /proc/self/mountinfo)" 0 "no mount left"
procs=
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/root" 2>/dev/null)" = "$HANGAR_ROOT/instances/$name/rootfs" ] && procs="$procs ${p#/proc/}"
done
is "$procs" "" "no process left in the instance's root"
ok "$([ ! -e "$HANGAR_ROOT/instances/$name" ]; echo $?)" "instance directory removed"
done_testing
