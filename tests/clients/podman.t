#!/bin/bash
# podman (4.x, through conmon) driving hangar-oci: run/exec/stop/rm, tty,
# pause, limits, top/ps, env/user/workdir, error exit codes, checkpoint.
#
# Everything happens inside a private network + mount namespace with a tmpfs
# on /run and podman's storage under the test's temp dir, so podman leaves
# nothing on the host: no iptables chains, no /run/netns, no
# /var/lib/containers (see docs/clients.md).
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${HANGAR_CLIENT_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (namespaces, cgroups)"; exit 77; }
	unshare --net --mount --propagation private true 2>/dev/null ||
		{ echo "1..0 # SKIP kernel refuses network/mount namespaces"; exit 77; }
	HANGAR_CLIENT_NS=1 exec unshare --net --mount --propagation private bash "$0" "$@"
fi
. "$here/../integration/lib.sh"

if ! command -v podman >/dev/null || ! command -v conmon >/dev/null; then
	fail "podman and conmon are installed (scripts/install-deps --test)"
	done_testing
	exit 1
fi
[ -x "$OCI" ] || { fail "hangar-oci built at $OCI"; done_testing; exit 1; }

mount -t tmpfs -o mode=755 tmpfs /run || { fail "private /run"; done_testing; exit 1; }
ip link set lo up

cat >"$TEST_TMP/containers.conf" <<'EOF'
[containers]
# No CAP_SYS_RESOURCE on this machine kind: podman's default would raise
# RLIMIT_NOFILE above the hard limit and fail.
default_ulimits = ["nofile=20000:20000","nproc=32768:32768"]
log_driver = "k8s-file"
[engine]
# hangar-oci refuses --systemd-cgroup, and there is no systemd in here.
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF=$TEST_TMP/containers.conf
# A cgroup parent of our own (podman's default, libpod_parent, is shared):
# containers and their conmon go below it, and it is removed at exit.
cgparent=hangar-podman-test-$$

P() {
	timeout 120 podman --root "$TEST_TMP/storage" --runroot /run/hangar-podman-test \
		--storage-driver overlay --runtime "$OCI" "$@"
}

podman_cleanup() {
	P rm -af -t 0
	# conmon daemonizes; any left in our private network namespace is ours.
	local me p
	me=$(readlink /proc/self/ns/net)
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = conmon ] && [ "$(readlink "$p/ns/net")" = "$me" ] &&
			kill -9 "${p#/proc/}"
	done
	P system reset -f
	grep -o " $TEST_TMP[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
	# Only our own parent's tree, and never with an empty name.
	[ -n "${cgparent:-}" ] && find /sys/fs/cgroup/*/"$cgparent" /sys/fs/cgroup/"$cgparent" -depth -type d -exec rmdir {} \;
}
at_exit podman_cleanup

# The container's host cgroup directory for a controller (v1 or v2).
cg_dir() { # PID CONTROLLER
	local line
	line=$(grep -E "^[0-9]+:([^:]*,)?$2(,[^:]*)?:" "/proc/$1/cgroup")
	if [ -n "$line" ]; then
		echo "/sys/fs/cgroup/$2${line##*:}"
	else
		line=$(grep '^0::' "/proc/$1/cgroup")
		echo "/sys/fs/cgroup${line#0::}"
	fi
}

tar -C "$(_rootfs_cache)" -cf "$TEST_TMP/rootfs.tar" . || fail "tar the busybox rootfs"
P import "$TEST_TMP/rootfs.tar" localhost/hangar-bbox >"$TEST_TMP/import.out" 2>&1
ok $? "podman import of the busybox rootfs ($(tail -n1 "$TEST_TMP/import.out"))"
IMG=localhost/hangar-bbox
NET=(--network none --cgroup-parent "/$cgparent")

like "$(P info --format '{{.Host.OCIRuntime.Path}} {{.Host.OCIRuntime.Version}}' 2>&1)" \
	"hangar-oci.*hangar-oci version" "podman info sees hangar-oci and its version"

# ---- run --rm ----
out=$(P run --rm "${NET[@]}" $IMG sh -c 'echo hello-from-podman; exit 3' 2>&1)
rc=$?
is "$rc" 3 "run --rm: the exit code propagates"
is "$out" hello-from-podman "run --rm: output through conmon"
is "$(echo piped-stdin | P run --rm -i "${NET[@]}" $IMG cat 2>&1)" piped-stdin "run -i: stdin reaches the process"
is "$(P run --rm "${NET[@]}" -e FOO=bar -u 1000:1000 -w /tmp $IMG sh -c 'echo $FOO $(id -u):$(id -g) $PWD' 2>&1)" \
	"bar 1000:1000 /tmp" "run -e/-u/-w: env, user and workdir"
is "$(P run --rm "${NET[@]}" $IMG sh -c 'ulimit -n; hostname' 2>&1 | head -n1)" 20000 \
	"default_ulimits from containers.conf apply"
is "$(P run --rm "${NET[@]}" --hostname podhost $IMG hostname 2>&1)" podhost "--hostname"

is "$(printf 'typed\n' | timeout 60 script -qec "podman --root $TEST_TMP/storage --runroot /run/hangar-podman-test \
	--storage-driver overlay --runtime $OCI run -it --rm --network none --cgroup-parent /$cgparent $IMG sh -c 'read x; echo got:\$x'" /dev/null |
	tr -d '\r' | grep '^got:')" "got:typed" "run -it: typed input reaches the process through the pty"

# ---- options podman turns into config fields ----
like "$(P run --rm "${NET[@]}" --read-only $IMG sh -c 'touch /x; touch /tmp/y && echo tmp-ok' 2>&1)" \
	"Read-only file system.*tmp-ok" "--read-only: root is read-only, /tmp still writable"
is "$(P run --rm "${NET[@]}" --pids-limit 10 $IMG sh -c 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max' 2>&1)" \
	10 "--pids-limit 10"
is "$(echo $(P run --rm "${NET[@]}" --uidmap 0:100000:65536 --gidmap 0:100000:65536 $IMG sh -c 'id -u; cat /proc/self/uid_map' 2>&1))" \
	"0 0 100000 65536" "--uidmap: a user namespace with the mapping"
is "$(P run --rm "${NET[@]}" --cap-drop all $IMG sh -c 'grep CapEff /proc/self/status' 2>&1 | tr -s '\t ' ' ')" \
	"CapEff: 0000000000000000" "--cap-drop all"
is "$(P run --rm "${NET[@]}" $IMG sh -c 'grep Seccomp: /proc/self/status' 2>&1 | tr -s '\t ' ' ')" "Seccomp: 2" \
	"podman's default seccomp profile is loaded"
is "$(P run --rm "${NET[@]}" --ulimit nofile=100:200 --ulimit nproc=1000:2000 $IMG sh -c 'echo $(ulimit -n) $(ulimit -Hn) $(ulimit -u)' 2>&1)" \
	"100 200 1000" "--ulimit"
is "$(P run --rm "${NET[@]}" --sysctl net.ipv4.ip_forward=1 $IMG cat /proc/sys/net/ipv4/ip_forward 2>&1)" 1 "--sysctl"
like "$(P run --rm "${NET[@]}" --tmpfs /scratch:size=1m $IMG grep /scratch /proc/mounts 2>&1)" "tmpfs /scratch tmpfs .*size=1024k" \
	"--tmpfs with size"
mkdir -p "$TEST_TMP/vol" && echo vol-data >"$TEST_TMP/vol/f"
is "$(P run --rm "${NET[@]}" -v "$TEST_TMP/vol:/v:ro" $IMG sh -c 'cat /v/f; touch /v/g 2>&1' 2>&1 | tr '\n' ' ')" \
	"vol-data touch: /v/g: Read-only file system " "-v host:ctr:ro"
# podman passes linux.devices[].fileMode with the file type bits (S_IFCHR|0666), as runc accepts.
out=$(P run --rm "${NET[@]}" --device /dev/zero:/dev/myzero $IMG sh -c 'head -c 2 /dev/myzero | od -An -tx1' 2>&1)
is "$(echo $out)" "00 00" "--device /dev/zero:/dev/myzero"
out=$(P run --rm "${NET[@]}" --privileged $IMG sh -c 'grep CapEff /proc/self/status; test -c /dev/zero && echo has-dev' 2>&1)
# All capabilities this machine has (it lacks CAP_SYS_RESOURCE), and host devices.
like "$out" "CapEff:[[:space:]]+$(awk '/^CapBnd/ {print $2}' /proc/self/status).*has-dev" \
	"--privileged: every capability of the bounding set, host devices"

# ---- errors become podman's exit codes ----
out=$(P run --rm "${NET[@]}" $IMG no-such-command 2>&1)
rc=$?
is "$rc" 127 "missing command: exit 127"
like "$out" 'no-such-command.*executable file not found' "missing command: podman shows the runtime's reason"
out=$(P run --rm "${NET[@]}" $IMG /etc/passwd 2>&1)
rc=$?
is "$rc" 126 "non-executable command: exit 126"
like "$out" 'permission denied' "non-executable command: reason shown"
is "$(ls /run/hangar-oci 2>/dev/null)" "" "failed runs leave no hangar-oci state"

# ---- run -t: the pty comes through conmon's console socket ----
out=$(P run --rm -t "${NET[@]}" $IMG sh -c 'tty; stty size' </dev/null 2>&1 | tr -d '\r')
like "$out" '^/dev/pts/[0-9]+' "run -t: the process has a pty"

# ---- detached container: exec, top, ps, logs, pause, update, stop, rm ----
loop='trap "echo got-term; exit 0" TERM; echo started; while :; do sleep 0.1; done'
P run -d --name d1 "${NET[@]}" --memory 64m $IMG sh -c "$loop" >"$TEST_TMP/d1.out" 2>&1
ok $? "run -d ($(tail -n1 "$TEST_TMP/d1.out"))"
is "$(P inspect --format '{{.State.Status}}' d1 2>&1)" running "inspect: running"
pid=$(P inspect --format '{{.State.Pid}}' d1)
[ -n "$pid" ] && [ -d "/proc/$pid" ]; ok $? "inspect: the init pid exists on the host ($pid)"
memdir=$(cg_dir "$pid" memory)
if [ -f "$memdir/memory.limit_in_bytes" ]; then memfile=$memdir/memory.limit_in_bytes; else memfile=$memdir/memory.max; fi
is "$(cat "$memfile" 2>&1)" 67108864 "run --memory 64m is in the container's cgroup ($memfile)"

is "$(P exec d1 sh -c 'echo in-exec $(tr "\0" " " </proc/1/cmdline)' 2>&1)" "in-exec sh -c $loop" \
	"exec runs beside the container's init"
P exec d1 sh -c 'exit 5'; is $? 5 "exec: the exit code propagates"
P exec d1 no-such-command >/dev/null 2>&1; is $? 127 "exec of a missing command: 127"
like "$(P exec -t d1 tty </dev/null 2>&1 | tr -d '\r')" '^/dev/pts/[0-9]+' "exec -t: a pty for the exec"
is "$(P exec -e X=1 -u 65534 -w /etc d1 sh -c 'echo $X $(id -u) $PWD' 2>&1)" "1 65534 /etc" "exec -e/-u/-w"
P exec -d d1 sleep 30; ok $? "exec -d"
like "$(P top d1 2>&1)" "sleep 30" "podman top lists the exec'd process"
like "$(P ps --filter name=d1 --format '{{.Names}} {{.Status}}' 2>&1)" "^d1 Up" "podman ps shows it up"
like "$(P logs d1 2>&1)" "started" "podman logs has the output"

P pause d1 >/dev/null 2>&1; ok $? "pause"
is "$(P inspect --format '{{.State.Status}}' d1 2>&1)" paused "inspect: paused"
frz=$(cg_dir "$pid" freezer)
if [ -f "$frz/freezer.state" ]; then
	is "$(cat "$frz/freezer.state")" FROZEN "the freezer cgroup is FROZEN"
else
	is "$(cat "$frz/cgroup.freeze" 2>&1)" 1 "cgroup.freeze is 1"
fi
P unpause d1 >/dev/null 2>&1; ok $? "unpause"
is "$(P inspect --format '{{.State.Status}}' d1 2>&1)" running "inspect: running again"
P exec d1 true; ok $? "exec works after unpause"

P update --memory 128m d1 >"$TEST_TMP/upd.out" 2>&1
ok $? "podman update --memory 128m ($(tail -n1 "$TEST_TMP/upd.out"))"
is "$(cat "$memfile" 2>&1)" 134217728 "the new limit is in the cgroup"

P kill -s USR1 d1 >/dev/null 2>&1
ok $? "podman kill -s USR1 (the shell ignores it)"
is "$(P inspect --format '{{.State.Status}}' d1 2>&1)" running "still running after USR1"

t0=$(date +%s%N)
P stop -t 10 d1 >/dev/null 2>&1
ok $? "stop"
ms=$((($(date +%s%N) - t0) / 1000000))
[ $ms -lt 5000 ]; ok $? "stop used SIGTERM, not the 10 s timeout (${ms} ms)"
is "$(P inspect --format '{{.State.Status}} {{.State.ExitCode}}' d1 2>&1)" "exited 0" "inspect: exited 0"
like "$(P logs d1 2>&1)" "got-term" "the process saw SIGTERM"
P start d1 >/dev/null 2>&1; ok $? "start of a stopped container (podman re-creates it)"
is "$(P inspect --format '{{.State.Status}}' d1 2>&1)" running "running after restart"
P rm -f -t 0 d1 >/dev/null 2>&1; ok $? "rm -f of a running container"
! [ -d "/proc/$pid" ] || grep -q '^State:.*Z' "/proc/$pid/status"; ok $? "the first init is gone"
is "$(ls /run/hangar-oci 2>/dev/null)" "" "no hangar-oci state left"
[ ! -d "$memdir" ]; ok $? "the container's cgroup is removed ($memdir)"

# ---- wait, exit by signal ----
P run -d --name d2 "${NET[@]}" $IMG sleep 1000 >/dev/null 2>&1
P kill -s KILL d2 >/dev/null 2>&1
is "$(P wait d2 2>&1)" 137 "podman wait reports death by SIGKILL as 137"
P rm d2 >/dev/null 2>&1

# ---- checkpoint / restore (only when hangar-oci implements it) ----
if "$OCI" checkpoint --help >/dev/null 2>&1 && command -v criu >/dev/null; then
	P run -d --name c1 "${NET[@]}" $IMG sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/n; sleep 0.1; done' \
		>/dev/null 2>&1
	sleep 0.5
	P container checkpoint c1 >"$TEST_TMP/cp.out" 2>&1
	ok $? "podman container checkpoint ($(tail -n1 "$TEST_TMP/cp.out"))"
	is "$(P inspect --format '{{.State.Status}}' c1 2>&1)" exited "checkpointed container is exited"
	P container restore c1 >"$TEST_TMP/rs.out" 2>&1
	ok $? "podman container restore ($(tail -n1 "$TEST_TMP/rs.out"))"
	n1=$(P exec c1 cat /tmp/n 2>&1)
	sleep 0.5
	n2=$(P exec c1 cat /tmp/n 2>&1)
	[ -n "$n1" ] && [ "$n2" -gt "$n1" ] 2>/dev/null; ok $? "the restored counter keeps counting ($n1 -> $n2)"
	P rm -f -t 0 c1 >/dev/null 2>&1
else
	skip "podman checkpoint/restore: '$OCI checkpoint --help' does not exit 0 or criu is not in PATH"
fi

done_testing
