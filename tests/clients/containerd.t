#!/bin/bash
# containerd 1.6 (io.containerd.runc.v2 shim) driving hangar-oci through
# `ctr --runc-binary`: image import, run --rm, run -t, detached task + exec,
# ps, pause/resume, kill, metrics, delete, errors read back from the shim's
# --log json file, and nothing left behind.
#
# A private containerd (own config, root, state and sockets under the test's
# temp dir) runs inside a private network + mount namespace with a tmpfs on
# /run, so the shim's runtime root (/run/containerd/runc) is private too.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${HANGAR_CLIENT_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (namespaces, cgroups)"; exit 77; }
	unshare --net --mount --propagation private true 2>/dev/null ||
		{ echo "1..0 # SKIP kernel refuses network/mount namespaces"; exit 77; }
	HANGAR_CLIENT_NS=1 exec unshare --net --mount --propagation private bash "$0" "$@"
fi
. "$here/../integration/lib.sh"

for tool in containerd ctr containerd-shim-runc-v2 script; do
	command -v $tool >/dev/null && continue
	fail "$tool is installed (scripts/install-deps --test)"
	done_testing
	exit 1
done
[ -x "$OCI" ] || { fail "hangar-oci built at $OCI"; done_testing; exit 1; }

mount -t tmpfs -o mode=755 tmpfs /run || { fail "private /run"; done_testing; exit 1; }
ip link set lo up

D=$TEST_TMP/containerd
mkdir -p "$D"
cat >"$D/config.toml" <<EOF
version = 2
root = "$D/root"
state = "$D/state"
# No kubelet here; the CRI plugin would only add noise and host state.
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$D/containerd.sock"
[ttrpc]
  address = "$D/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
# A containerd namespace of our own: the shim's runtime root is
# /run/containerd/runc/$NS and the containers' cgroups /$NS/<id>.
NS=hangar-ctr-test-$$
export CONTAINERD_NAMESPACE=$NS
# Its temporary directories (ctrd-checkpoint* of a checkpoint) go into the
# test's own, which is removed at exit.
TMPDIR=$TEST_TMP containerd --config "$D/config.toml" >"$D/containerd.log" 2>&1 &
cpid=$!
ctr_cleanup() {
	local t
	for t in $(C task ls -q 2>/dev/null); do C task kill -s KILL "$t"; done
	sleep 0.3
	for t in $(C task ls -q 2>/dev/null); do C task rm -f "$t"; done
	for t in $(C container ls -q 2>/dev/null); do C container rm "$t"; done
	kill "$cpid"
	wait "$cpid"
	# Shims daemonize; any left in our private network namespace are ours.
	local me p
	me=$(readlink /proc/self/ns/net)
	for p in /proc/[0-9]*; do
		case "$(cat "$p/comm" 2>/dev/null)" in containerd-shim*) ;; *) continue ;; esac
		[ "$(readlink "$p/ns/net")" = "$me" ] && kill -9 "${p#/proc/}"
	done
	grep -o " $TEST_TMP[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
	# Only our own namespace's tree, and never with an empty name.
	[ -n "${NS:-}" ] && find /sys/fs/cgroup/*/"$NS" /sys/fs/cgroup/"$NS" -depth -type d -exec rmdir {} \;
}
at_exit ctr_cleanup
wait_for "[ -S $D/containerd.sock ]" 100
ok $? "private containerd is up"

C() { timeout 60 ctr --address "$D/containerd.sock" "$@"; }
R=(--runc-binary "$OCI")
IMG=docker.io/hangar/bbox:latest
# tty: ctr needs a terminal on its own stdin; script(1) provides one.
with_tty() { timeout 60 script -qec "$*" /dev/null </dev/null | tr -d '\r\0'; }

"$here/mkociarchive" "$(_rootfs_cache)" "$TEST_TMP/bbox-oci.tar" $IMG || fail "build the OCI image archive"
C image import "$TEST_TMP/bbox-oci.tar" >"$TEST_TMP/import.out" 2>&1
ok $? "ctr image import ($(tail -n1 "$TEST_TMP/import.out"))"

# ---- run --rm ----
out=$(C run "${R[@]}" --rm $IMG r1 sh -c 'echo hello-from-ctr; exit 4' 2>&1)
rc=$?
is "$rc" 4 "run --rm: the exit code propagates"
is "$out" hello-from-ctr "run --rm: output through the shim"
is "$(C run "${R[@]}" --rm --env FOO=bar --cwd /etc $IMG r2 sh -c 'echo $FOO $PWD' 2>&1)" \
	"bar /etc" "run --env/--cwd"
like "$(with_tty ctr --address "$D/containerd.sock" --namespace "$NS" run "${R[@]}" -t --rm $IMG r3 tty)" '/dev/pts/[0-9]+' \
	"run -t: the process has a pty (console socket from the shim)"
out=$(C run "${R[@]}" --rm $IMG r4 no-such-command 2>&1)
rc=$?
[ $rc != 0 ]; ok $? "missing command: ctr fails"
like "$out" 'no-such-command.*executable file not found' "missing command: the shim read the reason from the json log"
is "$(C container ls -q | grep -c '^r4$')" 0 "missing command: ctr removed the container"
is "$(ls /run/containerd/runc/$NS 2>/dev/null)" "" "no hangar-oci state left after the runs"

# ---- detached task ----
C run "${R[@]}" -d --memory-limit 67108864 $IMG t1 sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done' \
	>"$TEST_TMP/t1.out" 2>&1
ok $? "run -d ($(tail -n1 "$TEST_TMP/t1.out"))"
line=$(C task ls | awk '$1 == "t1"')
like "$line" "RUNNING" "task ls: RUNNING"
pid=$(echo "$line" | awk '{print $2}')
[ -n "$pid" ] && [ -d "/proc/$pid" ]; ok $? "the task's pid exists on the host ($pid)"
is "$("$OCI" --root /run/containerd/runc/$NS state t1 | jq -r .status)" \
	running "hangar-oci state under the shim's --root says running"
cgline=$(grep -E '^[0-9]+:memory:' "/proc/$pid/cgroup")
if [ -n "$cgline" ]; then
	memfile=/sys/fs/cgroup/memory${cgline##*:}/memory.limit_in_bytes
else
	memfile=/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$pid/cgroup")/memory.max
fi
is "$(cat "$memfile" 2>&1)" 67108864 "--memory-limit is in the task's cgroup"

out=$(C task exec --exec-id e1 t1 sh -c 'echo in-exec; exit 6' 2>&1)
rc=$?
is "$rc" 6 "task exec: the exit code propagates"
is "$out" in-exec "task exec: output"
like "$(with_tty ctr --address "$D/containerd.sock" --namespace "$NS" task exec -t --exec-id e2 t1 tty)" '/dev/pts/[0-9]+' \
	"task exec -t: a pty for the exec"
C task exec --exec-id e3 t1 no-such-command >"$TEST_TMP/e3.out" 2>&1
rc=$?
[ $rc != 0 ]; ok $? "exec of a missing command fails"
like "$(cat "$TEST_TMP/e3.out")" 'executable file not found' "exec of a missing command: reason reaches ctr"

C task exec -d --exec-id e4 t1 sleep 1000 >/dev/null 2>&1 &
wait_for "C task ps t1 | awk 'NR>1' | wc -l | grep -qx 3"
ok $? "task ps lists init, loop sleep and the exec'd sleep"
like "$(C task ps t1 2>&1)" "e4" "task ps names the exec by its id"

C task pause t1; ok $? "task pause"
like "$(C task ls | awk '$1 == "t1"')" PAUSED "task ls: PAUSED"
C task resume t1; ok $? "task resume"
like "$(C task ls | awk '$1 == "t1"')" RUNNING "task ls: RUNNING again"
like "$(C task metrics t1 2>&1)" "memory" "task metrics reads the cgroup"

C task kill -s TERM t1; ok $? "task kill -s TERM"
wait_for "C task ls | awk '\$1 == \"t1\"' | grep -q STOPPED"; ok $? "the task stops"
C task rm t1 >/dev/null; ok $? "task rm"
C container rm t1; ok $? "container rm"
[ ! -e "/run/containerd/runc/$NS/t1" ]; ok $? "hangar-oci state removed"
[ ! -e "$memfile" ]; ok $? "the task's cgroup is removed"
! [ -d "/proc/$pid" ] || grep -q '^State:.*Z' "/proc/$pid/status"; ok $? "the task's processes are gone"

# ---- kill all processes with the init ----
C run "${R[@]}" -d $IMG t2 sh -c 'sleep 1000 & sleep 1000 & wait' >"$TEST_TMP/t2.out" 2>&1
ok $? "run -d t2 ($(tail -n1 "$TEST_TMP/t2.out"))"
t2_count() { C task ps t2 | awk 'NR > 1' | wc -l; }
wait_for '[ "$(t2_count)" = 3 ]'; ok $? "three processes in t2 ($(t2_count))"
C task kill -a -s KILL t2; ok $? "task kill --all -s KILL"
wait_for "C task ls | awk '\$1 == \"t2\"' | grep -q STOPPED"; ok $? "t2 stops"
C task rm t2 >/dev/null; C container rm t2

# ---- checkpoint (only when hangar-oci implements it) ----
if "$OCI" checkpoint --help >/dev/null 2>&1 && command -v criu >/dev/null; then
	C run "${R[@]}" -d $IMG k1 sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/n; sleep 0.1; done' >/dev/null 2>&1
	sleep 0.5
	C container checkpoint --task --rw --image k1 hangar/k1:cp >"$TEST_TMP/cp.out" 2>&1
	ok $? "ctr container checkpoint --task ($(tail -n1 "$TEST_TMP/cp.out"))"
	C task kill -s KILL k1 >/dev/null 2>&1; sleep 0.3
	C task rm k1 >/dev/null 2>&1; C container rm k1 >/dev/null 2>&1
	C container restore --rw --live k1 hangar/k1:cp >"$TEST_TMP/rs.out" 2>&1
	ok $? "ctr container restore --rw --live ($(tail -n1 "$TEST_TMP/rs.out"))"
	like "$(C task ls | awk '$1 == "k1"')" RUNNING "the restored task runs"
	n1=$(C task exec --exec-id n1 k1 cat /tmp/n 2>&1)
	sleep 0.5
	n2=$(C task exec --exec-id n2 k1 cat /tmp/n 2>&1)
	[ -n "$n1" ] && [ "$n2" -gt "$n1" ] 2>/dev/null; ok $? "the restored counter keeps counting ($n1 -> $n2)"
	C task kill -s KILL k1 >/dev/null 2>&1
	wait_for "C task ls | awk '\$1 == \"k1\"' | grep -q STOPPED"
	C task rm k1 >/dev/null 2>&1; C container rm k1 >/dev/null 2>&1
else
	skip "ctr checkpoint: '$OCI checkpoint --help' does not exit 0 or criu is not in PATH"
fi

grep -E 'level=(error|fatal)' "$D/containerd.log" | grep -vE 'copy shim log|resize pty' | head -n5 | sed 's/^/# containerd: /'
done_testing
