#!/bin/bash
# hangar-oci bad-input table: each case fails with a non-zero exit, exactly one
# error line on stderr that names the thing and the reason, and leaves nothing
# behind (no state dir, no cgroup, no mount, no process in the bundle).
. "$(dirname "$0")/lib.sh"

[ -x "$OCI" ] || skip_all "hangar-oci not built at $OCI"
[ "$(id -u)" = 0 ] || skip_all "needs root (cgroups, user namespace maps)"

B=$TEST_TMP/b
make_bundle "$B" true || { fail "make bundle"; done_testing; exit; }
cp "$B/config.json" "$TEST_TMP/config.orig"

# leftovers ID: print whatever of container ID (bundle $B) still exists.
leftovers() {
	local id=$1 d p
	[ -e "$OCI_ROOT/$id" ] && echo "state dir $OCI_ROOT/$id"
	for d in /sys/fs/cgroup/*/hangar/"$id" /sys/fs/cgroup/hangar/"$id"; do
		[ -d "$d" ] && echo "cgroup $d"
	done
	grep -E "(/$id[/ ]|$B[/ ])" /proc/self/mountinfo | sed 's/^/mount /'
	for p in /proc/[0-9]*; do
		case "$(readlink "$p/cwd" 2>/dev/null)$(readlink "$p/root" 2>/dev/null)" in
		*"$B"*) echo "process ${p#/proc/} ($(tr '\0' ' ' <"$p/cmdline" 2>/dev/null))" ;;
		esac
	done
}

# check NAME ID REGEX CMD...: CMD fails, prints one line matching REGEX, leaves nothing.
check() {
	local name=$1 id=$2 re=$3; shift 3
	"$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null
	local rc=$? err
	err=$(cat "$TEST_TMP/err")
	[ "$rc" != 0 ]; ok $? "$name: non-zero exit ($rc)"
	is "$(wc -l <"$TEST_TMP/err" | tr -d ' ')" 1 "$name: exactly one line on stderr"
	like "$err" "^hangar-oci: .*$re" "$name: error names the thing and the reason"
	# The init may still be dying when the runtime returns; give it a moment.
	wait_for "[ -z \"\$(leftovers $id)\" ]" 20
	is "$(leftovers "$id")" "" "$name: nothing left behind"
}

# with JQ: reset config.json to the original with JQ applied.
with() { jq "$1" "$TEST_TMP/config.orig" >"$B/config.json"; }

check "missing bundle" badin-m1 "/nonexistent-bundle: No such file or directory" \
	oci run --bundle "$TEST_TMP/nonexistent-bundle" badin-m1

with '.'
echo '{"ociVersion": "1.0.2", "process": {' >"$B/config.json"
check "malformed JSON" badin-m2 "config.json.*invalid JSON" oci run --bundle "$B" badin-m2

with '.linux.namespaces += [{"type": "bogus"}]'
check "unknown namespace type" badin-m3 'linux\.namespaces\[[0-9]+\]\.type.*"bogus"' oci run --bundle "$B" badin-m3

with '.root.path = "no-such-rootfs"'
check "missing root.path" badin-m4 "root\.path.*no-such-rootfs.*No such file" oci run --bundle "$B" badin-m4

with '.process.args = ["/no/such/binary"]'
check "missing process binary (absolute)" badin-m5 '"/no/such/binary".*no such file or directory' \
	oci run --bundle "$B" badin-m5
with '.process.args = ["no-such-cmd"]'
check "missing process binary (PATH)" badin-m6 '"no-such-cmd".*executable file not found' oci run --bundle "$B" badin-m6
with '.process.args = ["/etc/passwd"]'
check "non-executable process binary" badin-m7 '"/etc/passwd".*permission denied' oci run --bundle "$B" badin-m7
with '.process.args = ["/etc"]'
check "directory as process binary" badin-m8 '"/etc".*permission denied' oci run --bundle "$B" badin-m8

with '.process.terminal = true'
check "terminal without console socket" badin-m9 "tty.*console socket" oci create --bundle "$B" badin-m9
with '.'
check "console socket without terminal" badin-m10 "console socket" \
	oci create --console-socket "$TEST_TMP/none.sock" --bundle "$B" badin-m10

with '.linux.namespaces += [{"type": "user"}] |
	.linux.uidMappings = [{containerID: 0, hostID: 100000, size: 100}, {containerID: 50, hostID: 200000, size: 100}] |
	.linux.gidMappings = [{containerID: 0, hostID: 100000, size: 100}]'
check "overlapping uid mappings" badin-m11 "uidMappings.*uid_map.*Invalid argument" oci run --bundle "$B" badin-m11
with '.linux.namespaces += [{"type": "user"}] |
	.linux.uidMappings = [{containerID: 1, hostID: 100000, size: 100}] |
	.linux.gidMappings = [{containerID: 0, hostID: 100000, size: 100}]'
check "uid mapping without container root" badin-m12 "uid 0 mapped" oci run --bundle "$B" badin-m12
with '.linux.uidMappings = [{containerID: 0, hostID: 100000, size: 100}]'
check "uid mapping without user namespace" badin-m13 "uidMappings.*no user namespace" oci run --bundle "$B" badin-m13

with '.linux.resources.cpu = {quota: 100, period: 100}'
check "cpu quota the kernel refuses" badin-m14 "cpu\.quota.*Invalid argument" oci run --bundle "$B" badin-m14
with '.linux.resources.cpu = {cpus: "77"}'
check "cpuset the kernel refuses" badin-m15 "cpu\.cpus.*77" oci run --bundle "$B" badin-m15
# 4 KiB is accepted by the kernel but the init cannot even start in it: the
# error must say that the init died and why, not "connection reset".
with '.linux.resources.memory = {limit: 4096}'
check "memory limit too low for the init" badin-m16 "(killed|OOM).*memory" oci run --bundle "$B" badin-m16

with '.hooks.createRuntime = [{path: "/bin/sh", args: ["sh", "-c", "echo hook-said-no >&2; exit 3"]}]'
check "failing createRuntime hook" badin-m17 "createRuntime hook /bin/sh.*status 3.*hook-said-no" oci run --bundle "$B" badin-m17
with '.hooks.createRuntime = [{path: "/no/such/hook"}]'
check "missing createRuntime hook" badin-m18 "createRuntime hook /no/such/hook.*No such file" oci run --bundle "$B" badin-m18
with '.hooks.createContainer = [{path: "/bin/false"}]'
check "failing createContainer hook" badin-m19 "createContainer hook /bin/false.*status 1" oci run --bundle "$B" badin-m19

with '.process.args = ["sleep", "100"]'
check "bad container id" "a..b" "invalid container id" oci run --bundle "$B" 'a/b'
check "empty container id" never-made "container id" oci run --bundle "$B" ''

# Cases against an existing container: it must survive them untouched.
oci run -d --bundle "$B" live </dev/null >/dev/null 2>&1
ok $? "a running container for the next cases"
livepid=$(oci state live | jq -r .pid)
oci run -d --bundle "$B" live >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null
rc=$?
[ $rc != 0 ]; ok $? "duplicate id: non-zero exit"
is "$(cat "$TEST_TMP/err")" "hangar-oci: container live already exists" "duplicate id: one line naming the id"
is "$(oci state live | jq -r .status):$(oci state live | jq -r .pid)" "running:$livepid" \
	"duplicate id: the existing container is untouched"
# exec's own bad inputs, against the live container.
check_exec() { # NAME REGEX ARGS...: exec fails with one line; the container is untouched
	local name=$1 re=$2; shift 2
	oci exec "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null
	local rc=$?
	[ "$rc" != 0 ]; ok $? "exec $name: non-zero exit ($rc)"
	is "$(wc -l <"$TEST_TMP/err" | tr -d ' ')" 1 "exec $name: exactly one line on stderr"
	like "$(cat "$TEST_TMP/err")" "^hangar-oci: .*$re" "exec $name: error names the thing and the reason"
}
check_exec "of a missing binary" '"/no/such".*no such file or directory' live /no/such
check_exec "of a command not in PATH" '"no-such-cmd".*executable file not found' live no-such-cmd
check_exec "of a non-executable file" '"/etc/passwd".*permission denied' live /etc/passwd
check_exec "with a tty, detached, without console socket" "tty.*console socket" -d -t live true
check_exec "with a console socket but no tty" "console socket" -d --console-socket "$TEST_TMP/none.sock" live true
check_exec "with a missing --process file" "nope\.json.*No such file" --process "$TEST_TMP/nope.json" live
check_exec "with a bad cwd" "cwd.*/no/dir.*No such file" --cwd /no/dir live true
is "$(oci state live | jq -r .status):$(oci ps --format json live | jq length)" "running:1" \
	"after the failed execs the container runs with only its init"
for sig in FOO 0 99 SIGNOPE ""; do
	oci kill live "$sig" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
	rc=$?
	[ $rc != 0 ]; ok $? "kill with bad signal '$sig': non-zero exit"
	like "$(cat "$TEST_TMP/err")" "^hangar-oci: .*signal.*$sig" "kill with bad signal '$sig': error names the signal"
done
is "$(oci state live | jq -r .status)" running "the container survived the bad signals"
oci delete --force live >/dev/null 2>&1

for verb in state start kill delete pause resume ps exec events update; do
	args=(nosuch)
	[ $verb = exec ] && args=(nosuch true)
	[ $verb = events ] && args=(--stats nosuch)
	[ $verb = update ] && args=(--memory 100M nosuch)
	oci $verb "${args[@]}" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
	rc=$?
	[ $rc != 0 ]; ok $? "$verb of a nonexistent container: non-zero exit"
	is "$(cat "$TEST_TMP/err")" "hangar-oci: container nosuch does not exist" "$verb: one line naming the container"
done

# Command-line mistakes: one line naming the flag (getopt's own message used
# to come first, without the program name).
usage_case() { # DESC REGEX ARGS...
	local desc=$1 re=$2; shift 2
	oci "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null
	local rc=$?
	[ "$rc" != 0 ]; ok $? "$desc: non-zero exit"
	is "$(wc -l <"$TEST_TMP/err" | tr -d ' ')" 1 "$desc: exactly one line on stderr"
	like "$(cat "$TEST_TMP/err")" "^hangar-oci: .*$re" "$desc: names the flag"
}
usage_case "unknown flag" "--bogus" delete --bogus x
usage_case "flag without its value" "-b" create -b
usage_case "value given to a switch" "--all" kill --all=yes x KILL
usage_case "unknown global flag" "--nope" --nope state x

# Every case above used $OCI_ROOT: nothing may remain there at all.
is "$(ls "$OCI_ROOT" 2>/dev/null)" "" "state root is empty"
done_testing
