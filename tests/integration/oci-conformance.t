#!/bin/bash
# OCI runtime-spec conformance checks for hangar-oci, done directly (the
# runtime-tools validation suite cannot be built from Debian's packages; see
# docs/clients.md).  Complements oci-lifecycle.t, rootfs-security.t and
# security-process.t: state JSON per step, operations on created/stopped
# containers, the order and input of all six hook kinds, config fields that
# must take effect, namespaces, devices, fd hygiene, LISTEN_FDS and
# --preserve-fds, session keyrings, exec with a console socket, pid files,
# and 20 containers at once.
. "$(dirname "$0")/lib.sh"

[ -x "$OCI" ] || skip_all "hangar-oci not built at $OCI"
[ "$(id -u)" = 0 ] || skip_all "needs root"

B=$TEST_TMP/b
make_bundle "$B" true || { fail "make bundle"; done_testing; exit; }
cp "$B/config.json" "$TEST_TMP/config.orig"
with() { jq "$1" "$TEST_TMP/config.orig" >"$B/config.json"; }
# run_in JQ CMD: run CMD (sh -c) in a fresh container configured by JQ; output
# on stdout.  Runs inside $(...): the id is $ID or unique per subshell.
run_in() {
	with "$1 | .process.args = [\"sh\", \"-c\", $(jq -Rn --arg s "$2" '$s')]"
	oci run --bundle "$B" "${ID:-conf$BASHPID}" 2>&1 </dev/null
}
status() { oci state "$1" 2>/dev/null | jq -r .status; }
rfc3339='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$'

# ---- state JSON at each step ----
with '.process.args = ["sh", "-c", "trap \"exit 0\" TERM; while :; do sleep 0.1; done"] |
	.annotations = {"org.example.key": "value-1"}'
oci create --bundle "$B" st1 >/dev/null 2>&1 </dev/null
ok $? "create st1"
s=$(oci state st1)
is "$(jq -r '.ociVersion | test("^1\\.[0-9]+\\.[0-9]+")' <<<"$s")" true "state: ociVersion is a 1.x spec version"
is "$(jq -r .id <<<"$s")" st1 "state: id"
is "$(jq -r .status <<<"$s")" created "state: status created"
pid=$(jq -r .pid <<<"$s")
[ "$pid" -gt 0 ] 2>/dev/null && [ -d /proc/$pid ]; ok $? "state: created has the init pid ($pid)"
is "$(jq -r .bundle <<<"$s")" "$B" "state: bundle is the absolute bundle path"
like "$(jq -r .created <<<"$s")" "$rfc3339" "state: created is RFC 3339"
is "$(jq -r '.annotations["org.example.key"]' <<<"$s")" value-1 "state: annotations from the config"
is "$(oci list --format json | jq -r '.[] | select(.id == "st1") | .pid')" "$pid" "list json: the same pid"
oci start st1
s=$(oci state st1)
is "$(jq -r .status <<<"$s"):$(jq -r .pid <<<"$s")" "running:$pid" "state: running, same pid"
oci pause st1
is "$(status st1)" paused "state: paused"
oci resume st1
oci kill st1 TERM
wait_for '[ "$(status st1)" = stopped ]'; ok $? "state: stopped after SIGTERM"
s=$(oci state st1)
pid_stopped=$(jq -r '.pid // 0' <<<"$s")
is "$pid_stopped" 0 "state: a stopped container reports no pid"
is "$(jq -r .created <<<"$s")" "$(oci list --format json | jq -r '.[] | select(.id == "st1") | .created')" \
	"state: created time is stable"
oci start st1 2>"$TEST_TMP/err"; [ $? != 0 ]; ok $? "start of a stopped container fails"
like "$(cat "$TEST_TMP/err")" "stopped" "... saying it has stopped"
oci delete st1; ok $? "delete of a stopped container"
oci state st1 >/dev/null 2>&1; [ $? != 0 ]; ok $? "state after delete fails"

# ---- "creating": state while create is still running (a slow hook) ----
with '.process.args = ["sleep", "100"] | .hooks.createRuntime = [{path: "/bin/sleep", args: ["sleep", "4"]}]'
oci create --bundle "$B" cr1 >/dev/null 2>&1 </dev/null &
crpid=$!
wait_for '[ "$(oci state cr1 2>/dev/null | jq -r .status)" = creating ]' 15
ok $? "state says creating while create runs"
s=$(oci state cr1 2>/dev/null)
is "$(jq -r .id <<<"$s"):$(jq -r .bundle <<<"$s")" "cr1:$B" "... with the id and the bundle"
is "$(oci list --format json | jq -r '.[] | select(.id == "cr1") | .status')" creating "list shows it creating"
wait "$crpid"
is "$(status cr1)" created "created once create returns"
oci delete --force cr1
[ -f "$B/config.json" ] && [ -d "$B/rootfs/bin" ]; ok $? "delete leaves the bundle alone (the state dir links to it)"
# A half-made container (its create was killed) is not "creating".
mkdir -p "$OCI_ROOT/half1"
oci state half1 >/dev/null 2>&1; [ $? != 0 ]; ok $? "a half-made container (no state, nobody creating it) is an error"
oci delete --force half1; ok $? "... that delete --force removes"

# ---- kill and delete of a created container ----
with '.process.args = ["sleep", "100"]'
oci create --bundle "$B" k1 >/dev/null 2>&1 </dev/null
kpid=$(oci state k1 | jq -r .pid)
oci kill k1 KILL; ok $? "kill KILL of a created container"
wait_for '[ "$(status k1)" = stopped ]'; ok $? "the created container is stopped"
oci start k1 2>/dev/null; [ $? != 0 ]; ok $? "start after kill fails"
oci delete k1; ok $? "delete after kill"
oci create --bundle "$B" k2 >/dev/null 2>&1 </dev/null
kpid=$(oci state k2 | jq -r .pid)
oci delete k2; ok $? "delete of a created (never started) container (runc semantics)"
! [ -d /proc/$kpid ] || grep -q '^State:.*Z' /proc/$kpid/status; ok $? "... its init is gone"
[ ! -e "$B/rootfs/tmp/never" ]; ok $? "... and the user process never ran"
# pause of a created container (runc allows it): it must show as paused,
# refuse start instead of hanging in it, and come back with resume.
oci create --bundle "$B" pc >/dev/null 2>&1 </dev/null
oci pause pc; ok $? "pause of a created container"
is "$(status pc)" paused "... shows as paused"
timeout 10 "$OCI" --root "$OCI_ROOT" start pc 2>"$TEST_TMP/err"
rc=$?
[ $rc != 0 ] && [ $rc != 124 ]; ok $? "start of the paused container fails at once (rc $rc)"
like "$(cat "$TEST_TMP/err")" "paused" "... saying it is paused"
oci resume pc; ok $? "resume"
is "$(status pc)" created "... back to created"
timeout 10 "$OCI" --root "$OCI_ROOT" start pc; ok $? "start after resume"
is "$(status pc)" running "... running"
oci delete --force pc
# SIGKILL to a paused container: on cgroup v1 a frozen task cannot die until
# thawed, so the runtime thaws after SIGKILL (runc does the same).
oci run -d --bundle "$B" kp >/dev/null 2>&1 </dev/null
oci pause kp
oci kill kp KILL; ok $? "kill KILL of a paused container"
wait_for '[ "$(status kp)" = stopped ]'; ok $? "the paused container dies (status $(status kp))"
oci delete --force kp
oci run -d --bundle "$B" k3 >/dev/null 2>&1 </dev/null
kpid=$(oci state k3 | jq -r .pid)
oci delete k3 2>/dev/null; [ $? != 0 ]; ok $? "delete of a running container fails"
is "$(status k3):$(oci state k3 | jq -r .pid)" "running:$kpid" "... and has no effect on it"
oci delete --force k3

# ---- hooks: all six kinds, in order, each with the state on stdin ----
H=$TEST_TMP/hooks
mkdir -p "$H"
: >"$H/log"
# The startContainer hook runs inside the container: its log goes through a bind mount.
hook() { # PHASE
	printf '{"path": "/bin/sh", "args": ["sh", "-c", "s=$(cat); echo \\"%s $(echo \\"$s\\" | tr -d \\" \\\\n\\")\\" >>%s/log"]}' \
		"$1" "$2"
}
with ".process.args = [\"sh\", \"-c\", \"echo process >>/hooks/log\"] |
	.mounts += [{destination: \"/hooks\", type: \"bind\", source: \"$H\", options: [\"rbind\"]}] |
	.hooks = {prestart: [$(hook prestart "$H")], createRuntime: [$(hook createRuntime "$H")],
		createContainer: [$(hook createContainer "$H")], startContainer: [$(hook startContainer /hooks)],
		poststart: [$(hook poststart "$H")], poststop: [$(hook poststop "$H")]}"
oci create --bundle "$B" hk >"$TEST_TMP/hk.out" 2>&1 </dev/null
ok $? "create with all hook kinds ($(cat "$TEST_TMP/hk.out"))"
hpid=$(oci state hk | jq -r .pid)
oci start hk
wait_for '[ "$(status hk)" = stopped ]'
oci delete hk
is "$(awk '{print $1}' "$H/log" | tr '\n' ' ')" \
	"prestart createRuntime createContainer startContainer process poststart poststop " \
	"hooks ran in spec order around the process" || true
# poststart runs after start returns: it may land before or after "process".
for phase in prestart createRuntime createContainer poststart poststop; do
	st=$(awk -v p=$phase '$1 == p {print $2}' "$H/log")
	is "$(jq -r .id <<<"$st" 2>/dev/null)" hk "$phase hook: state.id on stdin"
done
is "$(awk '$1 == "createRuntime" {print $2}' "$H/log" | jq -r .pid)" "$hpid" "createRuntime hook: state.pid is the init"
is "$(awk '$1 == "poststart" {print $2}' "$H/log" | jq -r .status)" running "poststart hook: status running"
is "$(awk '$1 == "poststop" {print $2}' "$H/log" | jq -r .status)" stopped "poststop hook: status stopped"
is "$(awk '$1 == "prestart" {print $2}' "$H/log" | jq -r .bundle)" "$B" "prestart hook: state.bundle"

# ---- config fields that must take effect ----
out=$(run_in '.process.env = ["A=1", "B=two words", "PATH=/bin"]' 'env | sort | tr "\n" ";"')
is "$out" "A=1;B=two words;PATH=/bin;PWD=/;SHLVL=1;" "process.env is the exact environment"
out=$(run_in '.process.cwd = "/usr/bin"' 'pwd')
is "$out" /usr/bin "process.cwd"
# runc creates a missing cwd (as the container's root, before the root is
# made read-only); images and clients rely on it.
out=$(run_in '.process.cwd = "/does/not/exist" | .root.readonly = true' 'pwd; stat -c %a .')
is "$(echo $out)" "/does/not/exist 755" "a missing process.cwd is created (0755), also with a read-only root"
[ ! -e "$B/rootfs/does" ] || { rm -rf "$B/rootfs/does"; true; }
out=$(run_in '.process.cwd = "/etc/passwd/x"' 'pwd')
like "$out" "process.cwd.*/etc/passwd/x" "a cwd that cannot be a directory is an error naming it"
out=$(run_in '.hostname = "conf-host" | .domainname = "example.test"' 'echo $(hostname) $(cat /proc/sys/kernel/domainname)')
is "$out" "conf-host example.test" "hostname and domainname"
out=$(run_in '.process.user = {uid: 1234, gid: 5678, additionalGids: [5678, 42]}' 'id')
like "$out" "uid=1234 gid=5678 groups=.*42" "process.user with additionalGids"

mkdir -p "$B/relsrc" && echo rel-data >"$B/relsrc/f"
out=$(run_in '.mounts += [
	{destination: "/t", type: "tmpfs", source: "tmpfs", options: ["size=1m", "mode=0711", "nodev"]},
	{destination: "/rel", type: "bind", source: "relsrc", options: ["bind", "ro"]}]' \
	'stat -c "%a" /t; grep " /t " /proc/self/mountinfo; cat /rel/f;
	 grep -E " /dev/mqueue | /sys | /sys/fs/cgroup | /dev/pts " /proc/self/mountinfo | awk "{print \$5, \$6, \$(NF-2)}"')
is "$(sed -n 1p <<<"$out")" 711 "tmpfs mount: mode= option"
like "$(sed -n 2p <<<"$out")" "nodev.*size=1024k" "tmpfs mount: size= and nodev"
is "$(sed -n 3p <<<"$out")" rel-data "bind mount with a source relative to the bundle"
like "$out" "/dev/mqueue [^ ]*nosuid,nodev,noexec[^ ]* mqueue" "mqueue mounted nosuid,nodev,noexec"
like "$out" "/sys ro,[^ ]* sysfs" "sysfs mounted read-only"
like "$out" "/sys/fs/cgroup ro" "cgroup mount read-only"
like "$out" "/dev/pts [^ ]* devpts" "devpts mounted"

# ---- namespaces ----
nslist="pid net ipc uts mnt cgroup"
host_ns=$(for t in $nslist; do readlink /proc/self/ns/$t; done | tr '\n' ' ')
out=$(run_in '.linux.namespaces = [{type: "pid"}, {type: "network"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}, {type: "cgroup"}]' \
	"for t in $nslist; do readlink /proc/self/ns/\$t; done | tr '\n' ' '")
i=0
for t in $nslist; do
	i=$((i + 1))
	a=$(cut -d' ' -f$i <<<"$host_ns") b=$(cut -d' ' -f$i <<<"$out")
	[ -n "$b" ] && [ "$a" != "$b" ]; ok $? "namespace $t differs from the host's ($b)"
done
out=$(run_in '.linux.namespaces = [{type: "pid"}, {type: "mount"}]' "for t in net uts; do readlink /proc/self/ns/\$t; done | tr '\n' ' '")
is "$out" "$(readlink /proc/self/ns/net /proc/self/ns/uts | tr '\n' ' ')" "namespaces not listed are the host's"
with '.process.args = ["sleep", "100"]'
oci run -d --bundle "$B" nsowner >/dev/null 2>&1 </dev/null
opid=$(oci state nsowner | jq -r .pid)
out=$(run_in ".linux.namespaces = [{type: \"pid\"}, {type: \"mount\"}, {type: \"network\", path: \"/proc/$opid/ns/net\"}, {type: \"ipc\", path: \"/proc/$opid/ns/ipc\"}]" \
	"for t in net ipc; do readlink /proc/self/ns/\$t; done | tr '\n' ' '")
is "$out" "$(readlink /proc/$opid/ns/net /proc/$opid/ns/ipc | tr '\n' ' ')" "namespaces joined by path"
oci delete --force nsowner
# Joining a user namespace: the new namespaces must belong to it (runc
# unshares them after setns), else sethostname and mounts get EPERM.
if unshare -U true 2>/dev/null; then
	with '.process.args = ["sleep", "100"] | .linux.namespaces += [{type: "user"}] |
		.linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}] |
		.linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
	oci run -d --bundle "$B" usowner >/dev/null 2>&1 </dev/null
	upid=$(oci state usowner | jq -r .pid)
	out=$(run_in ".hostname = \"joined\" | .linux.namespaces = [{type: \"pid\"}, {type: \"mount\"}, {type: \"uts\"}, {type: \"ipc\"},
		{type: \"user\", path: \"/proc/$upid/ns/user\"}]" \
		"echo \$(hostname) \$(id -u) \$(readlink /proc/self/ns/user) \$(readlink /proc/self/ns/uts)")
	like "$out" "^joined 0 $(readlink /proc/$upid/ns/user | sed 's/[][]/\\&/g') " "joined user namespace: root in the joined namespace, hostname set"
	uts=$(awk '{print $4}' <<<"$out")
	[[ "$uts" == uts:* ]] && [ "$uts" != "$(readlink /proc/$upid/ns/uts)" ]; ok $? "... with a uts namespace of its own ($uts)"
	oci delete --force usowner
else
	skip "user namespaces unavailable"
fi

# ---- devices ----
out=$(run_in '.linux.devices = [{path: "/dev/hangar-zero", type: "c", major: 1, minor: 5, fileMode: 420, uid: 7, gid: 8}]' \
	'stat -c "%t:%T %a %u:%g %F" /dev/hangar-zero; head -c 3 /dev/hangar-zero | od -An -tx1')
is "$(sed -n 1p <<<"$out")" "1:5 644 7:8 character special file" "linux.devices: node with type, numbers, mode and owner"
is "$(sed -n 2p <<<"$out" | tr -d ' ')" 000000 "linux.devices: the node works"
out=$(run_in '.' 'mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem >/dev/null; echo rc=$?')
like "$out" "Operation not permitted.*rc=1|rc=1" "device cgroup: a node for /dev/mem cannot be opened"
out=$(run_in '.' 'cat /dev/null && echo null-ok; echo x >/dev/full; echo full-rc=$?')
like "$out" "null-ok" "device cgroup: /dev/null is allowed"
like "$out" "No space left on device" "device cgroup: /dev/full is allowed (ENOSPC, not EPERM)"

# ---- file descriptors ----
# Look at a sleeping init from the host: a shell inside would add fds of its
# own (pipes, the saved stdout of a redirection).
init_fds() { # ID [RUN FLAGS...]: fds of a fresh detached `sleep` container, one line
	local id=$1; shift
	oci run -d "$@" --bundle "$B" "$id" >/dev/null 2>&1 </dev/null
	local p
	p=$(oci state "$id" | jq -r .pid)
	ls /proc/$p/fd | sort -n | tr '\n' ' '
	tr '\0' '\n' </proc/$p/environ | grep -E '^LISTEN_(FDS|PID)=' | tr '\n' ' '
	oci delete --force "$id" >/dev/null 2>&1
}
with '.process.args = ["sleep", "100"]'
exec 7</dev/null 9>"$TEST_TMP/fd9"
is "$(init_fds fd1)" "0 1 2 " "no fd of the runtime or its caller reaches the container"
exec 7<&- 9>&-
exec 3</dev/null 4</dev/null 5</dev/null
is "$(LISTEN_FDS=2 init_fds fd2)" "0 1 2 3 4 LISTEN_FDS=2 LISTEN_PID=1 " \
	"LISTEN_FDS=2: fds 3 and 4 and LISTEN_FDS/LISTEN_PID=1 are passed"
is "$(init_fds fd3 --preserve-fds 1)" "0 1 2 3 " "--preserve-fds 1 passes fd 3 only"
exec 3<&- 4<&- 5<&-

# ---- session keyring ----
# The default spec masks /proc/keys; unmask it to see the keyrings.
out=$(ID=key-$$ run_in '.linux.maskedPaths -= ["/proc/keys"]' "grep -c 'keyring *key-$$:' /proc/keys")
is "$out" 1 "a fresh session keyring named after the container"
with '.linux.maskedPaths -= ["/proc/keys"] | .process.args = ["sh", "-c", "grep -c \"keyring *nokey-'$$':\" /proc/keys"]'
out=$(oci run --no-new-keyring --bundle "$B" nokey-$$ 2>&1 </dev/null)
is "$out" 0 "--no-new-keyring: no keyring for the container"

# ---- exec with a console socket, exec --process ----
RECV=$BUILD/tests/helpers/console-receiver
with '.process.args = ["sleep", "100"]'
oci run -d --bundle "$B" ex1 >/dev/null 2>&1 </dev/null
if [ -x "$RECV" ]; then
	sock=$TEST_TMP/exec-console.sock
	"$RECV" "$sock" --out "$TEST_TMP/exec-console.out" --input $'typed\n' --timeout 20 2>"$TEST_TMP/recv.err" &
	rpid=$!
	wait_for "[ -S $sock ]"
	oci exec --tty --console-socket "$sock" ex1 sh -c 'read x; echo got:$x; tty' >"$TEST_TMP/ex.out" 2>&1
	ok $? "exec --tty --console-socket ($(cat "$TEST_TMP/ex.out"))"
	wait "$rpid"
	out=$(tr -d '\r' <"$TEST_TMP/exec-console.out")
	like "$out" "got:typed" "exec console: input reached the process"
	like "$out" "/dev/pts/[0-9]+" "exec console: the process has a pty"
else
	skip "console-receiver not built"
fi
cat >"$TEST_TMP/process.json" <<'EOF'
{"terminal": false, "user": {"uid": 99, "gid": 98}, "args": ["sh", "-c", "echo $(id -u):$(id -g) $PWD $P"],
 "env": ["PATH=/bin:/usr/bin", "P=from-process-json"], "cwd": "/tmp"}
EOF
is "$(oci exec --process "$TEST_TMP/process.json" ex1 2>&1)" "99:98 /tmp from-process-json" "exec --process FILE"
oci delete --force ex1

# ---- pid file ----
with '.process.args = ["sleep", "100"]'
(cd "$TEST_TMP" && oci create --bundle "$B" --pid-file rel.pid pf1 >/dev/null 2>&1 </dev/null)
is "$(cat "$TEST_TMP/rel.pid" 2>&1)" "$(oci state pf1 | jq -r .pid)" "a relative --pid-file is relative to the caller's cwd"
oci delete --force pf1

# ---- runc's command line as the clients use it ----
# containerd's shim: one-dash long flags, --log FILE --log-format json, and
# it reads the reason of a failure from the last JSON record.
with '.process.args = ["sleep", "100"]'
L=$TEST_TMP/log.json
"$OCI" -root "$OCI_ROOT" -log "$L" -log-format json create -bundle "$B" -pid-file "$TEST_TMP/sd.pid" sd1 \
	>/dev/null 2>&1 </dev/null
ok $? "one-dash long flags: create -bundle -pid-file with -root -log -log-format"
"$OCI" -root "$OCI_ROOT" start sd1 && "$OCI" -root "$OCI_ROOT" exec -detach -pid-file "$TEST_TMP/sd-exec.pid" sd1 sleep 5
ok $? "one-dash long flags: start, exec -detach -pid-file"
"$OCI" -root "$OCI_ROOT" kill -all sd1 KILL && wait_for '[ "$(status sd1)" = stopped ]' &&
	"$OCI" -root "$OCI_ROOT" delete -force sd1
ok $? "one-dash long flags: kill -all, delete -force"
"$OCI" --root="$OCI_ROOT" --log="$L" --log-format=json run --bundle="$B" --detach sd2 >/dev/null 2>&1 </dev/null
ok $? "--flag=value forms"
oci delete --force sd2 >/dev/null 2>&1
: >"$L"
"$OCI" -root "$OCI_ROOT" -log "$L" -log-format json delete nosuch-sd 2>/dev/null
rec=$(tail -n1 "$L")
is "$(jq -r .level <<<"$rec"):$(jq -r .msg <<<"$rec")" "error:container nosuch-sd does not exist" \
	"--log-format json: the error is one JSON record with level and msg"
like "$(jq -r .time <<<"$rec")" "$rfc3339" "... and an RFC 3339 time"

# ---- 20 containers at once ----
with '.process.args = ["sleep", "100"]'
for i in $(seq 1 20); do oci run -d --bundle "$B" "many$i" >"$TEST_TMP/many$i.out" 2>&1 </dev/null & done
wait
running=0
for i in $(seq 1 20); do [ "$(status "many$i")" = running ] && running=$((running + 1)); done
is "$running" 20 "20 containers created concurrently are all running$(cat "$TEST_TMP"/many*.out | head -n2 | tr '\n' ' ')"
pids=$(for i in $(seq 1 20); do oci state "many$i" | jq -r .pid; done | sort -u | wc -l)
is "$pids" 20 "... each with its own init"
for i in $(seq 1 20); do oci delete --force "many$i" & done
wait
is "$(ls "$OCI_ROOT" | grep -c '^many')" 0 "all 20 deleted concurrently"
left=$(ls -d /sys/fs/cgroup/*/hangar/many* /sys/fs/cgroup/hangar/many* 2>/dev/null | wc -l)
is "$left" 0 "no cgroup of the 20 is left"
no_mounts_with "$B/rootfs"; ok $? "no mount of the bundle is left"

done_testing
