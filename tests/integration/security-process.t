#!/bin/bash
# hangar-oci end to end: capabilities, user, no_new_privs, rlimits, oom_score_adj,
# personality, seccomp (custom and arg conditions), LSM errors, hooks, console.
. "$(dirname "$0")/lib.sh"

[ -x "$OCI" ] || skip_all "hangar-oci not built at $OCI"

B=$TEST_TMP/b
make_bundle "$B" true || { fail "make bundle"; done_testing; exit; }

# run_out JQ_FILTER CMD...: run CMD in a fresh container edited by JQ_FILTER, print its output.
# The container id is $ID when set (runs inside $(...), so no counters).
run_out() {
	local filter=$1; shift
	local id=${ID:-sec$BASHPID}
	cp "$B/config.json" "$B/config.json.orig"
	local args
	args=$(printf '%s\n' "$@" | jq -R . | jq -s -c .)
	cfg_edit "$B" "$filter | .process.args = $args"
	oci run --bundle "$B" "$id" 2>&1
	local rc=$?
	mv "$B/config.json.orig" "$B/config.json"
	return $rc
}

# ---- capabilities and user ----
caps='["CAP_CHOWN","CAP_KILL"]'
out=$(run_out ".process.capabilities = {bounding: $caps, effective: $caps, permitted: $caps}" \
	grep -E '^Cap(Bnd|Eff|Prm|Inh|Amb)' /proc/self/status)
is "$(echo "$out" | tr -s '\t' ' ' | tr '\n' ' ')" \
	"CapInh: 0000000000000000 CapPrm: 0000000000000021 CapEff: 0000000000000021 CapBnd: 0000000000000021 CapAmb: 0000000000000000 " \
	"root in the container has exactly CAP_CHOWN+CAP_KILL in bnd/eff/prm"

out=$(run_out '.process.user = {uid: 1000, gid: 1000, additionalGids: [10, 20]}' id)
is "$out" "uid=1000 gid=1000 groups=10,20" "process.user with additionalGids"

nbs='["CAP_NET_BIND_SERVICE"]'
out=$(run_out ".process.user = {uid: 1000, gid: 1000} | .process.capabilities = {bounding: $nbs, effective: $nbs, permitted: $nbs, inheritable: $nbs, ambient: $nbs}" \
	grep -E '^Cap(Eff|Amb)' /proc/self/status)
is "$(echo "$out" | tr -s '\t' ' ' | tr '\n' ' ')" "CapEff: 0000000000000400 CapAmb: 0000000000000400 " \
	"ambient CAP_NET_BIND_SERVICE is effective for uid 1000 after exec"

out=$(run_out '.process.user = {uid: 1000, gid: 1000}' grep -E '^Cap(Eff|Prm)' /proc/self/status)
is "$(echo "$out" | tr -s '\t' ' ' | tr '\n' ' ')" "CapPrm: 0000000000000000 CapEff: 0000000000000000 " \
	"non-root uid without ambient caps has no effective or permitted caps"

out=$(run_out '.process.user.umask = 63' sh -c 'umask')
is "$out" "0077" "process.user.umask"

out=$(run_out '.process.noNewPrivileges = true' grep NoNewPrivs /proc/self/status)
is "$(echo $out)" "NoNewPrivs: 1" "noNewPrivileges true"
out=$(run_out '.process.noNewPrivileges = false' grep NoNewPrivs /proc/self/status)
is "$(echo $out)" "NoNewPrivs: 0" "noNewPrivileges false"

# ---- rlimits, oom, personality ----
out=$(run_out '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 100, hard: 200}]' sh -c 'ulimit -n; ulimit -Hn')
is "$(echo $out)" "100 200" "RLIMIT_NOFILE 100/200"

out=$(run_out '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 1048576, hard: 1048576}]' true)
rc=$?
# CAP_SYS_RESOURCE is capability 24: can this host raise hard limits at all?
cap_eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
if [ "$(ulimit -Hn)" -lt 1048576 ] && [ $(( (0x$cap_eff >> 24) & 1 )) = 0 ]; then
	[ $rc != 0 ]; ok $? "raising RLIMIT_NOFILE above the hard limit without CAP_SYS_RESOURCE fails"
	like "$out" "RLIMIT_NOFILE.*CAP_SYS_RESOURCE" "... and says why"
else
	skip "the runtime may raise RLIMIT_NOFILE here"
	skip "the runtime may raise RLIMIT_NOFILE here"
fi

out=$(run_out '.process.oomScoreAdj = 300' cat /proc/self/oom_score_adj)
is "$out" "300" "oomScoreAdj"

out=$(run_out '.process.ioPriority = {class: "IOPRIO_CLASS_BE", priority: 6}' ionice)
like "$out" "best-effort.*prio 6|best.effort: prio 6" "ioPriority BE/6 ($out)"

out=$(run_out '.process.scheduler = {policy: "SCHED_BATCH", nice: 5}' sh -c 'grep -E "^(policy|prio) " /proc/self/sched | tr -s " " | tr "\n" " "')
is "$out" "policy : 3 prio : 125 " "scheduler SCHED_BATCH with nice 5"

out=$(run_out '.linux.personality = {domain: "LINUX32"}' uname -m)
is "$out" "i686" "personality LINUX32"

# ---- seccomp ----
out=$(run_out '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13}]}' \
	sh -c 'mkdir /tmp/x 2>&1; echo rc=$?; echo ok')
like "$out" "Permission denied" "seccomp errnoRet EACCES reaches mkdir"
like "$out" "ok" "other syscalls still allowed"

out=$(run_out '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["uname"], action: "SCMP_ACT_ERRNO", args: [{index: 1, value: 1, op: "SCMP_CMP_EQ"}]}]}' \
	uname -m)
is "$out" "x86_64" "an arg condition that does not match leaves the syscall alone"

out=$(run_out '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["sethostname"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]} | .process.noNewPrivileges = false | .process.user = {uid: 1000, gid: 1000}' \
	grep NoNewPrivs /proc/self/status)
is "$(echo $out)" "NoNewPrivs: 0" "seccomp without noNewPrivileges for a non-root user (filter loaded before caps drop)"

out=$(run_out '.linux.seccomp = {defaultAction: "SCMP_ACT_KILL_PROCESS", syscalls: []}' true)
[ $? != 0 ]; ok $? "a filter that kills everything makes the run fail ($(echo $out | head -c 200))"

# A deny-by-default profile like the built-in one (its allowlist is read from
# runtime/seccomp_default.c): the final execve must pass, mount must not, and a
# syscall newer than the profile gets ENOSYS (the stub is prepended at load).
allow=$(sed -n '/allowed_always\[\] = {/,/};/p' "$TOP/runtime/seccomp_default.c" | grep -o '"[a-z0-9_]*"' | paste -sd, -)
if [ -n "$allow" ]; then
	profile="{defaultAction: \"SCMP_ACT_ERRNO\", defaultErrnoRet: 1, architectures: [\"SCMP_ARCH_X86_64\"], syscalls: [{names: [$allow, \"arch_prctl\"], action: \"SCMP_ACT_ALLOW\"}, {names: [\"clone\"], action: \"SCMP_ACT_ALLOW\", args: [{index: 0, value: 2114060288, valueTwo: 0, op: \"SCMP_CMP_MASKED_EQ\"}]}, {names: [\"personality\"], action: \"SCMP_ACT_ALLOW\", args: [{index: 0, value: 0, op: \"SCMP_CMP_EQ\"}]}]}"
	out=$(run_out ".linux.seccomp = $profile" sh -c 'echo alive; mount -t tmpfs none /mnt 2>&1; echo mount=$?')
	like "$out" "alive" "deny-by-default allowlist: the container process runs"
	like "$out" "mount=[1-9]" "... and mount is denied"
	out=$(run_out ".linux.seccomp = $profile" linux32 uname -m)
	like "$out" "Operation not permitted|not permitted" "personality(LINUX32) denied by the arg filter ($out)"
else
	fail "could not read the allowlist from runtime/seccomp_default.c"
fi

# SCMP_ACT_NOTIFY: the runtime hands the listener fd and the state to listenerPath.
LISTENER=$BUILD/tests/helpers/seccomp-listener
if [ -x "$LISTENER" ]; then
	lsock=$TEST_TMP/listener.sock
	"$LISTENER" "$lsock" --state-out "$TEST_TMP/listener.json" --errno 30 --timeout 20 \
		>"$TEST_TMP/listener.out" 2>"$TEST_TMP/listener.err" &
	lpid=$!
	wait_for "[ -S $lsock ]"
	out=$(ID=notified run_out ".linux.seccomp = {defaultAction: \"SCMP_ACT_ALLOW\", listenerPath: \"$lsock\", listenerMetadata: \"meta-42\", syscalls: [{names: [\"mkdir\", \"mkdirat\"], action: \"SCMP_ACT_NOTIFY\"}]}" \
		sh -c 'mkdir /tmp/notified 2>&1; echo rc=$?')
	like "$out" "Read-only file system" "notified mkdir gets the listener's answer (EROFS) ($(echo $out))"
	wait "$lpid"; ok $? "listener saw the container go away ($(tr '\n' ' ' < "$TEST_TMP/listener.err"))"
	st=$TEST_TMP/listener.json
	is "$(jq -c .fds "$st" 2>/dev/null)" '["seccompFd"]' "listener payload: fds"
	is "$(jq -r .metadata "$st" 2>/dev/null)" "meta-42" "listener payload: metadata"
	is "$(jq -r .state.id "$st" 2>/dev/null)" "notified" "listener payload: state.id"
	[ "$(jq -r .pid "$st" 2>/dev/null)" -gt 1 ] 2>/dev/null; ok $? "listener payload: pid"
	grep -q '^NR ' "$TEST_TMP/listener.out"; ok $? "listener received a notification"
else
	skip "seccomp-listener not built"
fi

# ---- LSM on a host without AppArmor/SELinux ----
if [ ! -e /sys/module/apparmor/parameters/enabled ]; then
	out=$(run_out '.process.apparmorProfile = "hangar-test"' true)
	like "$out" "apparmor profile hangar-test requested but AppArmor is not enabled on this host" \
		"apparmorProfile without AppArmor fails clearly"
else
	skip "AppArmor present"
fi

# ---- hooks ----
H=$TEST_TMP/hooks
mkdir -p "$H"
out=$(ID=hooked run_out "$(printf '.hooks = {prestart: [{path: "/bin/sh", args: ["sh", "-c", "cat > %s/prestart.json"]}], createRuntime: [{path: "/bin/sh", args: ["sh", "-c", "echo $HOOKVAR > %s/env"], env: ["HOOKVAR=v1"]}], poststop: [{path: "/bin/sh", args: ["sh", "-c", "echo done > %s/poststop"]}]}' "$H" "$H" "$H")" true)
ok $? "run with prestart/createRuntime/poststop hooks ($out)"
is "$(jq -r .status "$H/prestart.json" 2>/dev/null)" "creating" "prestart hook got the state on stdin"
is "$(jq -r .id "$H/prestart.json" 2>/dev/null)" "hooked" "... with the container id"
is "$(cat "$H/env" 2>/dev/null)" "v1" "createRuntime hook env"
is "$(cat "$H/poststop" 2>/dev/null)" "done" "poststop hook ran"

out=$(run_out '.hooks = {createRuntime: [{path: "/bin/sh", args: ["sh", "-c", "echo broken-hook >&2; exit 5"]}]}' true)
[ $? != 0 ]; ok $? "failing createRuntime hook fails the run"
like "$out" "createRuntime hook /bin/sh exited with status 5: broken-hook" "hook failure message"

t0=$(date +%s)
out=$(run_out '.hooks = {prestart: [{path: "/bin/sleep", args: ["sleep", "30"], timeout: 1}]}' true)
t1=$(date +%s)
like "$out" "prestart hook /bin/sleep timed out after 1 s" "hook timeout message"
[ $((t1 - t0)) -lt 10 ]; ok $? "hook timeout honoured ($((t1 - t0)) s)"

# ---- console ----
RECV=$BUILD/tests/helpers/console-receiver
if [ -x "$RECV" ]; then
	sock=$TEST_TMP/console.sock
	"$RECV" "$sock" --out "$TEST_TMP/console.out" --input $'hello\n' --timeout 20 2>"$TEST_TMP/recv.err" &
	rpid=$!
	wait_for "[ -S $sock ]"
	cp "$B/config.json" "$B/config.json.orig"
	cfg_edit "$B" '.process.terminal = true | .process.consoleSize = {height: 33, width: 99} | .process.args = ["sh", "-c", "read x; echo got:$x; stty size; tty; test -t 0 && echo stdin-is-tty"]'
	oci create --bundle "$B" --console-socket "$sock" tty1 >"$TEST_TMP/create.out" 2>&1
	ok $? "create with --console-socket ($(cat "$TEST_TMP/create.out"))"
	oci start tty1
	wait "$rpid"
	ok $? "console-receiver got the pty and saw EOF ($(cat "$TEST_TMP/recv.err" | tr '\n' ' '))"
	out=$(tr -d '\r' < "$TEST_TMP/console.out")
	like "$out" "got:hello" "input typed into the console reached the process"
	like "$out" "33 99" "consoleSize applied"
	like "$out" "stdin-is-tty" "stdin is a terminal"
	wait_for "[ \"\$(oci state tty1 | jq -r .status)\" = stopped ]"
	oci delete tty1
	mv "$B/config.json.orig" "$B/config.json"
else
	skip "console-receiver not built"
fi

done_testing
