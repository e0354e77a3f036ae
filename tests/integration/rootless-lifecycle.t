#!/bin/bash
# hangar-oci as an unprivileged user: spec --rootless runs as is; create,
# start, exec, kill, delete, run with a pty through --console-socket; state
# in $XDG_RUNTIME_DIR/hangar-oci and the checked /tmp fallback; limits that
# cannot be applied give one warning; what cannot work is refused clearly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootless-lib.sh"

rl_make_user A ranges || { echo "Bail out! cannot create a test user"; exit 1; }
uid=$(id -u "$A") gid=$(id -g "$A")
XDG=$TEST_TMP/xdg-$A

# --- spec --rootless
B=$TEST_TMP/b1
rl_bundle "$A" "$B" sh -c 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; ls -ln /etc/passwd'
ok $? "spec --rootless as $A"
is "$(jq -c '[.linux.namespaces[].type] | sort' "$B/config.json")" '["ipc","mount","pid","user","uts"]' \
	"rootless spec: user namespace, no network namespace"
is "$(jq -c '[.linux.uidMappings, .linux.gidMappings]' "$B/config.json")" \
	"[[{\"containerID\":0,\"hostID\":$uid,\"size\":1}],[{\"containerID\":0,\"hostID\":$gid,\"size\":1}]]" \
	"rootless spec: single-id mapping of the caller's uid and gid"

# --- run in the foreground
out=$(cd "$B" && rl_oci "$A" run r1 2>&1)
rc=$?
ok $rc "run as $A"
like "$out" "^0
0
 +0 +$uid +1
 +0 +$gid +1" "inside: uid 0 and gid 0, mapped to $uid/$gid"
like "$out" "-rw-r--r-- +1 0 +0 " "files the user owns appear as root inside"
[ -z "$(ls "$XDG/hangar-oci" 2>/dev/null)" ]
ok $? "run without --keep leaves no state behind"

# --- create / start / exec / kill / delete, state in XDG_RUNTIME_DIR
B2=$TEST_TMP/b2
rl_bundle "$A" "$B2" sleep 300
rl_oci "$A" create --bundle "$B2" c1 </dev/null >/dev/null 2>"$TEST_TMP/create.err"
ok $? "create c1 ($(tr '\n' ' ' <"$TEST_TMP/create.err"))"
[ -f "$XDG/hangar-oci/c1/state.json" ] && [ "$(stat -c %U "$XDG/hangar-oci/c1")" = "$A" ]
ok $? "state lives in \$XDG_RUNTIME_DIR/hangar-oci/c1, owned by $A"
is "$(rl_oci "$A" state c1 | jq -r .status)" created "state: created"
rl_oci "$A" start c1
ok $? "start c1"
is "$(rl_oci "$A" state c1 | jq -r .status)" running "state: running"
pid=$(rl_oci "$A" state c1 | jq -r .pid)
is "$(stat -c %u "/proc/$pid")" "$uid" "the container's init runs as $A on the host"
is "$(rl_oci "$A" exec c1 id -u)" 0 "exec: uid 0 inside"
like "$(rl_oci "$A" exec c1 cat /proc/1/cmdline | tr '\0' ' ')" "^sleep 300" "exec sees the container's pid 1"
like "$(rl_oci "$A" list)" "c1 +$pid +running" "list shows c1 running"
rl_oci "$A" kill c1 KILL
ok $? "kill c1 KILL"
wait_for "[ \"\$(rl_oci $A state c1 | jq -r .status)\" = stopped ]"
ok $? "c1 stopped"
rl_oci "$A" delete c1
ok $? "delete c1"
[ ! -e "$XDG/hangar-oci/c1" ]
ok $? "state directory removed"

# --- kill --all without a cgroup: the pid namespace's init takes the rest along
B2k=$TEST_TMP/b2k
rl_bundle "$A" "$B2k" sh -c 'sleep 301 & sleep 302 & exec sleep 303'
rl_oci "$A" run -d --bundle "$B2k" ka </dev/null >/dev/null 2>&1
wait_for "[ \$(ps -e -o uid=,args= | awk -v u=$uid '\$1 == u && \$2 == \"sleep\" && \$3 ~ /^30[123]\$/' | wc -l) = 3 ]"
ok $? "three processes in the container"
out=$(rl_oci "$A" kill --all ka KILL 2>&1)
ok $? "kill --all KILL without a cgroup ($out)"
wait_for "[ \$(ps -e -o uid=,args= | awk -v u=$uid '\$1 == u && \$2 == \"sleep\" && \$3 ~ /^30[123]\$/' | wc -l) = 0 ]"
ok $? "every process of the container is gone"
rl_oci "$A" delete ka
ok $? "delete"

# --- a pty through --console-socket
RECV=$BUILD/tests/helpers/console-receiver
if [ -x "$RECV" ]; then
	B3=$TEST_TMP/b3
	rl_bundle "$A" "$B3" sh -c 'test -t 0 && echo tty-is-a-terminal; tty'
	cfg_edit "$B3" '.process.terminal = true'
	chown "$A:" "$B3/config.json"
	sockdir=$TEST_TMP/sock-$A
	install -d -m 0700 -o "$A" "$sockdir"
	rl_as "$A" "$RECV" "$sockdir/console.sock" --out "$sockdir/out" --timeout 20 &
	recv=$!
	wait_for "[ -S $sockdir/console.sock ]"
	rl_oci "$A" run -d --console-socket "$sockdir/console.sock" --bundle "$B3" t1 </dev/null >/dev/null 2>&1
	ok $? "run -d with a console socket as $A"
	wait "$recv"
	ok $? "console-receiver got the pty and saw EOF"
	like "$(tr -d '\r' <"$sockdir/out")" "tty-is-a-terminal
/dev/pts/0" "the process has a terminal (/dev/pts/0 of its own devpts)"
	rl_oci "$A" delete --force t1 >/dev/null 2>&1
	# exec with a terminal into a running rootless container
	rl_oci "$A" run -d --bundle "$B2" t2 </dev/null >/dev/null 2>&1
	rm -f "$sockdir/console.sock" "$sockdir/out"
	rl_as "$A" "$RECV" "$sockdir/console.sock" --out "$sockdir/out" --timeout 20 &
	recv=$!
	wait_for "[ -S $sockdir/console.sock ]"
	rl_oci "$A" exec -t -d --console-socket "$sockdir/console.sock" t2 sh -c 'test -t 1 && echo exec-has-a-tty; id -u' \
		</dev/null >/dev/null 2>&1
	ok $? "exec -t -d with a console socket as $A"
	wait "$recv"
	like "$(tr -d '\r' <"$sockdir/out")" "exec-has-a-tty
0" "the exec'd process has a terminal, as root inside"
	rl_oci "$A" delete --force t2 >/dev/null 2>&1
else
	for i in 1 2 3 4 5; do fail "console-receiver not built ($RECV)"; done
fi

# --- run in the foreground with a terminal (hangar-oci proxies the pty)
if command -v script >/dev/null; then
	B3b=$TEST_TMP/b3b
	rl_bundle "$A" "$B3b" sh -c 'test -t 0 && echo fg-tty; read -r line; echo "got:$line"'
	cfg_edit "$B3b" '.process.terminal = true'
	chown "$A:" "$B3b/config.json"
	out=$(cd "$B3b" && echo typed-line | rl_as "$A" script -qec "$OCI run fg1" /dev/null 2>&1 | tr -d '\r')
	like "$out" "fg-tty" "foreground run with terminal=true gets a pty as $A"
	like "$out" "got:typed-line" "input typed on our terminal reaches the process"
else
	fail "script (bsdutils) not installed"; fail "script (bsdutils) not installed"
fi

# --- limits without a delegated cgroup: one warning that says why
B4=$TEST_TMP/b4
rl_bundle "$A" "$B4" sh -c 'echo limited-run'
cfg_edit "$B4" '.linux.resources = {"memory": {"limit": 67108864}, "pids": {"limit": 50}}'
chown "$A:" "$B4/config.json"
out=$(cd "$B4" && rl_oci "$A" run l1 2>"$TEST_TMP/limits.err")
ok $? "a rootless container with limits runs"
is "$out" limited-run "its process ran"
is "$(grep -c 'warning' "$TEST_TMP/limits.err")" 1 "exactly one warning"
like "$(cat "$TEST_TMP/limits.err")" "warning: rootless.*(not delegated|no cgroup is created).*limits (are )?ignored" \
	"the warning says why the limits were skipped"
B5=$TEST_TMP/b5
rl_bundle "$A" "$B5" sh -c 'echo nolimits'
out=$(cd "$B5" && rl_oci "$A" run n1 2>&1)
is "$out" nolimits "no limits asked for: no warning"
cfg_edit "$B5" '.linux.resources = {"devices": [{"allow": false, "access": "rwm"}]}'
chown "$A:" "$B5/config.json"
out=$(cd "$B5" && rl_oci "$A" run n2 2>&1)
is "$out" nolimits "an empty resources object or device rules only (what podman writes): no warning"

# update / pause of a container without a cgroup are refused, not faked
B6=$TEST_TMP/b6
rl_bundle "$A" "$B6" sleep 300
rl_oci "$A" run -d --bundle "$B6" u1 </dev/null >/dev/null 2>&1
out=$(rl_oci "$A" update --memory 100M u1 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ (cannot set limits|no cgroup|not delegated) ]]
ok $? "update without a cgroup fails and says why: $out"
out=$(rl_oci "$A" pause u1 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ (no cgroup|not delegated|rootless) ]]
ok $? "pause without a cgroup fails and says why: $out"
is "$(rl_oci "$A" state u1 | jq -r .status)" running "the container is still running after the refusals"
rl_oci "$A" delete --force u1 >/dev/null 2>&1

# --- a rootless config must have a user namespace
B7=$TEST_TMP/b7
rl_bundle "$A" "$B7" true
cfg_edit "$B7" 'del(.linux.uidMappings, .linux.gidMappings) | .linux.namespaces |= map(select(.type != "user"))'
out=$(cd "$B7" && rl_oci "$A" run nu1 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ "needs a user namespace" ]]
ok $? "no user namespace: refused ($out)"

# --- state root without XDG_RUNTIME_DIR: /tmp/hangar-oci-UID, private
FB=/tmp/hangar-oci-$uid
rm -rf "$FB"
noxdg() { runuser -u "$A" -- env -i PATH=/usr/bin:/bin "$OCI" "$@"; }
out=$(noxdg list 2>&1)
ok $? "list without XDG_RUNTIME_DIR works ($out)"
is "$(stat -c '%U %a' "$FB" 2>&1)" "$A 700" "fallback root $FB is created 0700 and owned by $A"
noxdg create --bundle "$B2" f1 </dev/null >/dev/null 2>&1
ok $? "create in the fallback root"
[ -f "$FB/f1/state.json" ]
ok $? "its state is in $FB"
noxdg delete --force f1
ok $? "delete from the fallback root"
chmod 0755 "$FB"
noxdg list >/dev/null 2>&1
is "$(stat -c %a "$FB")" 700 "a fallback root of ours with wider permissions is tightened to 0700"
rm -rf "$FB"
mkdir -m 0755 "$FB"
out=$(noxdg list 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ "owned by uid 0" ]] && [[ "$out" =~ XDG_RUNTIME_DIR ]]
ok $? "a fallback root owned by someone else is refused: $out"
rmdir "$FB"
ln -s "$XDG" "$FB"
out=$(noxdg list 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ "not a directory" ]]
ok $? "a symlink as fallback root is refused: $out"
rm -f "$FB"
mkdir -m 1777 "$FB"
chown "$A:" "$FB"
out=$(noxdg list 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ "writable by others" ]]
ok $? "a fallback root writable by others is refused: $out"
rm -rf "$FB"
out=$(runuser -u "$A" -- env -i PATH=/usr/bin:/bin XDG_RUNTIME_DIR=/tmp "$OCI" list 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ "XDG_RUNTIME_DIR /tmp is owned by uid 0" ]]
ok $? "an XDG_RUNTIME_DIR that is not ours is refused: $out"

done_testing
