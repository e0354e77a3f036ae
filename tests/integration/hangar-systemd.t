#!/bin/bash
# hangar --init with a systemd image (issue 6): a debootstrap'd Debian 12
# boots systemd as PID 1 on this host, with a writable cgroup subtree of its
# own (cgroup2 on unified and hybrid hosts, name=systemd on legacy ones),
# tmpfs /run, container=hangar and the pty as /dev/console; stop shuts it
# down through SIGRTMIN+3, and destroy leaves no mount, cgroup or process
# behind.  Then the same boot for trixie and sid ($HANGAR_TEST_SYSTEMD_SUITES)
# whose newer systemd refuses cgroup v1.
# The image is built once with `hangar image debootstrap` (the network is
# needed) and cached as a tarball in $HANGAR_TEST_CACHE (default
# /var/cache/hangar); later runs import the tarball.
. "$(dirname "$0")/lib.sh"
hangar_store
name=sd$$
# `hangar exec` output comes through a pty: drop the carriage returns.
in_sd() { hg exec "$name" -- "$@" 2>&1 | tr -d '\r'; }

cache_dir=${HANGAR_TEST_CACHE:-/var/cache/hangar}
# get_image NAME SUITE: import the cached image of SUITE, or build it with
# `hangar image debootstrap NAME` (SUITE bookworm: with the default suite)
# and cache it.  Ends the test as skipped when debootstrap cannot download.
get_image() {
	local img=$1 suite=$2 cache="$cache_dir/debootstrap-$2-systemd-dbus.tar" out rc t0
	if [ -s "$cache" ]; then
		out=$(hg image import "$img" "$cache" 2>&1)
		ok $? "$suite: image imported from the cached debootstrap tarball $cache ($out)"
		return
	fi
	command -v debootstrap >/dev/null ||
		{ fail "debootstrap is not installed (scripts/install-deps --test installs it)"; done_testing; exit; }
	t0=$(date +%s)
	if [ "$suite" = bookworm ]; then
		out=$(hg image debootstrap "$img" 2>&1)
	else
		out=$(hg image debootstrap "$img" "$suite" 2>&1)
	fi
	rc=$?
	# Only a failed download (no network, mirror down) is a skip.
	if [ $rc != 0 ] && [[ "$out" =~ Failed\ getting\ release|[Cc]ouldn.t\ download|[Tt]emporary\ failure|[Cc]ould\ not\ resolve|[Cc]onnection\ (refused|timed) ]]; then
		skip_all "debootstrap cannot fetch packages: $out"
	fi
	ok $rc "image debootstrap $img ${suite/bookworm/(default suite)} ($(($(date +%s) - t0))s): $out"
	is "$(jq -r .source "$HANGAR_ROOT/images/$img/image.json")" "debootstrap $suite" "image source: debootstrap $suite"
	mkdir -p "$cache_dir" &&
		tar -C "$HANGAR_ROOT/images/$img/rootfs" --numeric-owner --xattrs --xattrs-include='*' -cf "$cache.tmp.$$" . &&
		mv "$cache.tmp.$$" "$cache"
	ok $? "image cached as $cache"
}
get_image deb bookworm

# Failures name the image and say why (debootstrap's own "E:" line), and
# leave no image behind.  Neither needs the network: an unknown suite fails
# before any download, and the mirror is a closed port on loopback.
if command -v debootstrap >/dev/null; then
	out=$(hg image debootstrap bad nosuchsuite 2>&1)
	rc=$?
	like "$rc $out" '^1 hangar: image bad: debootstrap failed: E: No such script: .*/nosuchsuite$' "unknown suite: $out"
	out=$(HANGAR_DEBOOTSTRAP_MIRROR=http://127.0.0.1:9/debian hg image debootstrap bad2 2>&1)
	rc=$?
	like "$rc $out" '^1 hangar: image bad2: debootstrap failed: E: Failed getting release file http://127\.0\.0\.1:9/debian/' \
		"unreachable mirror (HANGAR_DEBOOTSTRAP_MIRROR): $out"
	is "$(ls -A "$HANGAR_ROOT/images" | grep -v '^deb' | tr '\n' ' ')" "" "failed builds left nothing in the image store"
fi
img=$HANGAR_ROOT/images/deb/rootfs
is "$(readlink "$img/sbin/init")" /lib/systemd/systemd "the image's /sbin/init is systemd (systemd-sysv included)"
is "$(stat -c %s "$img/etc/machine-id")" 0 "the image's machine-id is empty (each instance gets its own)"

out=$(hg create "$name" --image deb --init --network none --memory 256M 2>&1)
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

# cgroups: systemd's tree lives below the cgroup hangar made for the
# instance, in the hierarchy systemd sees: cgroup2 (the hybrid host's
# unified/ or a unified host's) or, on a legacy host, name=systemd.
cg=$(jq -r '.linux.cgroupsPath' "$cfg")
pid1_cgroup=$(in_sd cat /proc/1/cgroup)
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
	host_tree=/sys/fs/cgroup$cg
	[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || host_tree=/sys/fs/cgroup/unified$cg
	ok "$(grep -qx '0::/init.scope' <<<"$pid1_cgroup"; echo $?)" "PID 1 moved itself to /init.scope of its own cgroup2 subtree"
	is "$(in_sd findmnt -no FSTYPE,OPTIONS /sys/fs/cgroup | awk '{split($2, o, ","); print $1, o[1]}')" "cgroup2 rw" \
		"/sys/fs/cgroup inside is the instance's cgroup2 subtree, writable"
else
	host_tree=/sys/fs/cgroup/systemd$cg
	ok "$(grep -qx '[0-9]*:name=systemd:/init.scope' <<<"$pid1_cgroup"; echo $?)" \
		"legacy host: PID 1 moved itself to /init.scope of its own name=systemd subtree"
	is "$(in_sd findmnt -no OPTIONS /sys/fs/cgroup/systemd | cut -d, -f1)" rw "legacy host: name=systemd is writable inside"
fi
ok "$([ -d "$host_tree/init.scope" ] && [ -d "$host_tree/system.slice" ]; echo $?)" \
	"host: systemd's init.scope and system.slice are below $host_tree"
# The limit (--memory 256M) holds every process systemd started.
if [ -d /sys/fs/cgroup/memory ]; then
	mem_dir=/sys/fs/cgroup/memory$cg
	is "$(cat "$mem_dir/memory.limit_in_bytes")" 268435456 "host: the instance's memory limit is 256M"
	limit_file=$mem_dir/memory.limit_in_bytes
else
	mem_dir=/sys/fs/cgroup$cg
	limit_file=$mem_dir/memory.max
fi
all=$(find "$host_tree" -name cgroup.procs -exec cat {} + | sort -n | tr '\n' ' ')
limited=$(find "$mem_dir" -name cgroup.procs -exec cat {} + | sort -n | tr '\n' ' ')
is "$limited" "$all" "every process of systemd's tree is under the instance's memory limit"
limit_before=$(cat "$limit_file")
in_sd sh -c 'for f in /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes; do echo 4096 > $f; done' >/dev/null
is "$(cat "$limit_file")" "$limit_before" "the instance cannot change its own memory limit"
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
ok "$([ ! -e "$host_tree" ] && [ ! -e "$mem_dir" ]; echo $?)" "stop removed the instance's cgroups, systemd's subtree included"

# A second boot of the same instance keeps its machine id.
hg start "$name"
wait_booted
ok $? "the instance boots again after a stop ($state)"
is "$(in_sd cat /etc/machine-id)" "$machine_id" "same machine id on the second boot"

out=$(hg destroy --force "$name" 2>&1)
ok $? "destroy --force while running ($out)"
leftover=$(find /sys/fs/cgroup -maxdepth 4 -type d -path "*$cg*" 2>/dev/null)
is "$leftover" "" "no cgroup left in any hierarchy (systemd's included)"
is "$(grep -c "$HANGAR_ROOT/instances/$name" /proc/self/mountinfo)" 0 "no mount left"
procs=
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/root" 2>/dev/null)" = "$HANGAR_ROOT/instances/$name/rootfs" ] && procs="$procs ${p#/proc/}"
done
is "$procs" "" "no process left in the instance's root"
ok "$([ ! -e "$HANGAR_ROOT/instances/$name" ]; echo $?)" "instance directory removed"

# Newer systemd: trixie's 257 (v1 deprecated) and sid's (258 and later have
# no v1 support at all: "Detected unsupported legacy cgroup hierarchy,
# refusing execution" on a tmpfs /sys/fs/cgroup) boot on the cgroup2 view.
for suite in ${HANGAR_TEST_SYSTEMD_SUITES-trixie sid}; do
	get_image "deb-$suite" "$suite"
	name=sd$$-$suite
	hg create "$name" --image "deb-$suite" --init --network none >/dev/null && hg start "$name"
	ok $? "$suite: create --init and start"
	wait_booted
	ok $? "$suite: $(in_sd systemctl --version | head -1) boots: is-system-running says $state"
	failed=$(in_sd systemctl list-units --failed --plain --no-legend | awk '{print $1}')
	diag "$suite: failed units: ${failed:-none}"
	out=$(hg stop --timeout 60 "$name" 2>&1)
	ok "$([ $? = 0 ] && tail -1 "$HANGAR_ROOT/instances/$name/log" | grep -q 'init exited with status 0'; echo $?)" \
		"$suite: stop is systemd's clean shutdown ($out$(tail -1 "$HANGAR_ROOT/instances/$name/log"))"
	cg=$(jq -r '.linux.cgroupsPath' "$HANGAR_ROOT/instances/$name/config.json")
	hg destroy "$name"
	is "$(find /sys/fs/cgroup -maxdepth 4 -type d -path "*$cg*" 2>/dev/null)" "" "$suite: destroy left no cgroup"
done
done_testing
