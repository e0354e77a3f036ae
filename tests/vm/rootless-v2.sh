#!/bin/bash
# Guest side of tests/vm/rootless-v2.t: hangar-oci run by an unprivileged user
# on a pure cgroup v2 host, with a cgroup subtree delegated to that user the
# way systemd delegates user@UID.service (the directory and its cgroup.procs,
# cgroup.subtree_control and cgroup.threads chowned; the user's own processes
# in a child of it).  Memory and pids limits must be applied there and bite;
# a user without delegation gets the one warning and no limits.  The same
# for hangar: stats shows usage, set changes memory.max and pids.max live,
# the pids limit bites; those checks fail (never skip) when they cannot run.
. "$TOP/tests/integration/lib.sh"

[ "${HANGAR_IN_VM:-}" = 1 ] || skip_all "runs inside the qemu guest (tests/vm/rootless-v2.t)"
grep -q '^cgroup2 /sys/fs/cgroup cgroup2 ' /proc/mounts || fail_all "no cgroup2 at /sys/fs/cgroup in the guest"
# busybox's setpriv lacks --reuid; the host's util-linux one is packed in.
SETPRIV=/usr/bin/setpriv
"$SETPRIV" --help 2>&1 | grep -q -- --reuid || fail_all "util-linux setpriv not in the guest (HANGAR_VM_TOOLS)"

RL_UID=1500 NO_UID=1501 SD_UID=1502
CG=/sys/fs/cgroup/rl-user
for u in $RL_UID $NO_UID $SD_UID; do
	echo "rl$u:x:$u:$u::/tmp/home-$u:/bin/sh" >>/etc/passwd
	echo "rl$u:x:$u:" >>/etc/group
	mkdir -p "/tmp/home-$u" "/tmp/xdg-$u"
	chown $u:$u "/tmp/home-$u" "/tmp/xdg-$u"
	chmod 0700 "/tmp/home-$u" "/tmp/xdg-$u"
done

# Delegation as systemd does it for user@.service: the subtree root and its
# delegation files belong to the user; the user's processes live below it.
mkdir "$CG" "$CG/session"
chown $RL_UID:$RL_UID "$CG" "$CG/cgroup.procs" "$CG/cgroup.subtree_control" "$CG/cgroup.threads"
chown -R $RL_UID:$RL_UID "$CG/session"
at_exit "rmdir $CG/session $CG"

# as UID CGROUP CMD...: CMD as UID, started inside CGROUP (a dir under
# /sys/fs/cgroup, or "-" to stay in this script's cgroup).
as() {
	local u=$1 cg=$2
	shift 2
	bash -c 'if [ "$1" != - ]; then echo $$ >"$1/cgroup.procs" || exit 99; fi; shift; exec "$@"' as "$cg" \
		"$SETPRIV" --reuid "$u" --regid "$u" --clear-groups \
		env -i PATH=/usr/bin:/bin HOME="/tmp/home-$u" XDG_RUNTIME_DIR="/tmp/xdg-$u" "$@"
}
rl() { as $RL_UID "$CG/session" "$OCI" "$@"; }

# bundle UID DIR CMD...: spec --rootless as UID, CMD without a terminal.
bundle() {
	local u=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	cp -a "$(_rootfs_cache)" "$dir/rootfs"
	chown -R "$u:$u" "$dir"
	(cd "$dir" && as "$u" - "$OCI" spec --rootless) || return 1
	local args
	args=$(printf '%s\037' "$@" | jq -R -s -c 'split("\u001f")[:-1]')
	cfg_edit "$dir" ".process.terminal = false | .process.args = $args | .root.readonly = false |
		.linux.resources = {memory: {limit: 67108864}, pids: {limit: 20}}"
	chown "$u:$u" "$dir/config.json"
}

B=$TEST_TMP/b1
bundle $RL_UID "$B" sleep 600 || { echo "Bail out! spec --rootless failed"; exit 1; }
rl run -d --bundle "$B" c1 </dev/null >/dev/null 2>"$TEST_TMP/run.err"
ok $? "user $RL_UID: run -d with memory and pids limits"
is "$(cat "$TEST_TMP/run.err")" "" "no warning: the limits could be applied"
pid=$(rl state c1 | jq -r .pid)
cgpath=$(sed -n 's/^0:://p' "/proc/$pid/cgroup" 2>/dev/null)
like "$cgpath" "^/rl-user/" "the container's cgroup ($cgpath) is inside the delegated subtree"
[ "$cgpath" != /rl-user/session ] && [[ "$cgpath" != /rl-user/session/* ]]
ok $? "and not below the user's own (populated) cgroup, where no controller could be enabled"
is "$(cat "/sys/fs/cgroup$cgpath/memory.max" 2>&1)" 67108864 "memory.max = 64 MiB"
is "$(cat "/sys/fs/cgroup$cgpath/pids.max" 2>&1)" 20 "pids.max = 20"
is "$(stat -c %u "/sys/fs/cgroup$cgpath")" $RL_UID "the cgroup belongs to the user"

# The limits bite.
rl exec c1 sh -c 'tail /dev/zero' </dev/null >/dev/null 2>&1
is $? 137 "a memory hog is OOM-killed (137)"
oom=$(awk '$1 == "oom_kill" {print $2}' "/sys/fs/cgroup$cgpath/memory.events" 2>/dev/null)
[ "${oom:-0}" -ge 1 ]
ok $? "memory.events counts the OOM kill (oom_kill $oom)"
out=$(rl exec c1 sh -c 'for i in $(seq 1 40); do sleep 30 & done 2>&1; wait' </dev/null 2>&1 | head -n 3)
like "$out" "[Rr]esource temporarily unavailable|can't fork|Cannot fork" "forks beyond pids.max fail ($out)"
max=$(awk '$1 == "max" {print $2}' "/sys/fs/cgroup$cgpath/pids.events" 2>/dev/null)
[ "${max:-0}" -ge 1 ]
ok $? "pids.events counts the refused forks (max $max)"
[ "$(cat "/sys/fs/cgroup$cgpath/pids.current")" -le 20 ]
ok $? "pids.current stays within the limit"

# Live changes and the freezer work through the delegated cgroup too.
rl update --memory 134217728 --pids-limit 30 c1
ok $? "update as the user"
is "$(cat "/sys/fs/cgroup$cgpath/memory.max")" 134217728 "memory.max updated live"
is "$(cat "/sys/fs/cgroup$cgpath/pids.max")" 30 "pids.max updated live"
rl pause c1
ok $? "pause as the user"
is "$(rl state c1 | jq -r .status)" paused "state paused"
rl resume c1
ok $? "resume"
rl delete --force c1
ok $? "delete --force"
[ ! -d "/sys/fs/cgroup$cgpath" ]
ok $? "the container's cgroup is removed"

# hangar (the manager) as the same user: the instance's cgroup is in the
# delegated subtree with memory.max and pids.max set, and start says nothing.
H() { as $RL_UID "$CG/session" "$HANGAR" "$@"; }
# The store goes on the virtio disk: overlayfs in a user namespace keeps
# its metadata in user.* xattrs, which this guest kernel's tmpfs (< 6.6)
# does not have.
store_fs() {
	[ -b /dev/vda ] && mke2fs -q /dev/vda >/dev/null 2>&1 || mke2fs /dev/vda >/dev/null 2>&1 || return 1
	mkdir -p "/tmp/home-$RL_UID/.local" && mount -t ext4 /dev/vda "/tmp/home-$RL_UID/.local" &&
		chown $RL_UID:$RL_UID "/tmp/home-$RL_UID/.local"
}
# The hangar checks must run here: a missing binary or store is a failure.
[ -x "$HANGAR" ]
ok $? "$HANGAR is built and in the guest"
store_fs
ok $? "an ext4 store for the user on /dev/vda"
if [ -x "$HANGAR" ] && grep -q " /tmp/home-$RL_UID/.local " /proc/mounts; then
	at_exit "umount /tmp/home-$RL_UID/.local"
	H create h1 --memory 64M --pids 20 -- sleep 600 </dev/null >/dev/null 2>"$TEST_TMP/h1.create"
	ok $? "hangar create h1 --memory 64M --pids 20 as user $RL_UID ($(cat "$TEST_TMP/h1.create"))"
	H start h1 </dev/null >/dev/null 2>"$TEST_TMP/h1.err"
	ok $? "hangar start h1"
	is "$(cat "$TEST_TMP/h1.err")" "" "no warning: the limits could be applied"
	hpid=$(H info --format json h1 | jq -r .pid)
	hcg=$(sed -n 's/^0:://p' "/proc/$hpid/cgroup" 2>/dev/null)
	like "$hcg" "^/rl-user/hangar/" "the instance's cgroup ($hcg) is inside the delegated subtree"
	is "$(cat "/sys/fs/cgroup$hcg/memory.max" 2>&1)" 67108864 "hangar: memory.max = 64 MiB"
	is "$(cat "/sys/fs/cgroup$hcg/pids.max" 2>&1)" 20 "hangar: pids.max = 20"
	out=$(H stats --no-stream --format json h1 2>&1)
	ok $? "hangar stats h1 as the user"
	[ "$(printf '%s' "$out" | jq -r '.[0].memory_usage')" -gt 0 ] 2>/dev/null &&
		[ "$(printf '%s' "$out" | jq -r '.[0].memory_limit')" = 67108864 ] &&
		[ "$(printf '%s' "$out" | jq -r '.[0].pids')" -ge 1 ] 2>/dev/null
	ok $? "stats shows memory usage, the 64 MiB limit and the processes ($(printf '%s' "$out" | tr -d '\n '))"
	like "$(H stats --no-stream h1 2>&1)" "h1 .* / 64.0MiB" "the table too"
	out=$(H exec h1 sh -c 'for i in $(seq 1 40); do sleep 8 & done 2>&1; wait' </dev/null 2>&1 | head -n 3)
	like "$out" "[Rr]esource temporarily unavailable|can't fork|Cannot fork" "hangar: forks beyond --pids 20 fail ($out)"
	[ "$(cat "/sys/fs/cgroup$hcg/pids.current")" -le 20 ]
	ok $? "hangar: pids.current stays within the limit"
	H set h1 --memory 96M --pids 30
	ok $? "hangar set h1 --memory 96M --pids 30 (live) as the user"
	is "$(cat "/sys/fs/cgroup$hcg/memory.max" 2>&1)" 100663296 "hangar set: memory.max changed live"
	is "$(cat "/sys/fs/cgroup$hcg/pids.max" 2>&1)" 30 "hangar set: pids.max changed live"
	H exec h1 sh -c 'tail /dev/zero' </dev/null >/dev/null 2>&1
	is $? 137 "hangar: a memory hog in the instance is OOM-killed (137)"
	H stop -t 1 h1 >/dev/null 2>&1
	H destroy h1 >/dev/null 2>&1
	ok $? "hangar stop and destroy"
	[ ! -d "/sys/fs/cgroup$hcg" ]
	ok $? "the instance's cgroup is removed"
else
	fail "the hangar checks could not run (see the two lines above)"
fi

# A systemd login layout: the login shell sits in a root-owned
# session-N.scope, only user@UID.service is delegated.  From the session the
# warning says how to get limits (systemd-run --user --scope); from a scope
# below user@UID.service (what that command gives) they apply.
US=/sys/fs/cgroup/user.slice
UD=$US/user-$SD_UID.slice/user@$SD_UID.service
mkdir -p "$US/user-$SD_UID.slice/session-7.scope" "$UD/app.slice/run-x.scope"
at_exit "rmdir $UD/hangar 2>/dev/null; rmdir $UD/app.slice/run-x.scope $UD/app.slice $UD $US/user-$SD_UID.slice/session-7.scope $US/user-$SD_UID.slice $US"
echo "+memory +pids" >"$US/cgroup.subtree_control"
echo "+memory +pids" >"$US/user-$SD_UID.slice/cgroup.subtree_control"
chown -R $SD_UID:$SD_UID "$UD"
B3=$TEST_TMP/b3
bundle $SD_UID "$B3" sh -c 'echo ran'
out=$(cd "$B3" && as $SD_UID "$US/user-$SD_UID.slice/session-7.scope" "$OCI" run s1 2>"$TEST_TMP/s1.err")
ok $? "user $SD_UID in a login session's scope: run"
is "$(grep -c warning "$TEST_TMP/s1.err")" 1 "exactly one warning"
like "$(cat "$TEST_TMP/s1.err")" "session-7.scope is a login session's scope.*limits ignored.*systemd-run --user --scope.*user@$SD_UID.service" \
	"it names the session scope and how to get limits: $(cat "$TEST_TMP/s1.err")"
B4=$TEST_TMP/b4
bundle $SD_UID "$B4" sleep 600
(cd "$B4" && as $SD_UID "$UD/app.slice/run-x.scope" "$OCI" run -d s2 </dev/null >/dev/null 2>"$TEST_TMP/s2.err")
ok $? "the same user from a scope under user@$SD_UID.service: run -d"
is "$(cat "$TEST_TMP/s2.err")" "" "no warning there"
spid=$(as $SD_UID - "$OCI" state s2 | jq -r .pid)
scg=$(sed -n 's/^0:://p' "/proc/$spid/cgroup" 2>/dev/null)
like "$scg" "^/user.slice/user-$SD_UID.slice/user@$SD_UID.service/" "the container's cgroup ($scg) is in the delegated user@$SD_UID.service"
is "$(cat "/sys/fs/cgroup$scg/memory.max" 2>&1)" 67108864 "memory.max applies there"
as $SD_UID - "$OCI" delete --force s2
ok $? "delete --force"

# Without delegation: one warning, no cgroup, the container still runs.
B2=$TEST_TMP/b2
bundle $NO_UID "$B2" sh -c 'echo ran; cat /proc/self/cgroup'
out=$(cd "$B2" && as $NO_UID - "$OCI" run n1 2>"$TEST_TMP/n1.err")
ok $? "user $NO_UID without a delegated cgroup: run"
like "$out" "^ran" "the process ran"
is "$(grep -c warning "$TEST_TMP/n1.err")" 1 "exactly one warning"
like "$(cat "$TEST_TMP/n1.err")" "not delegated.*limits ignored" "saying the cgroup is not delegated: $(cat "$TEST_TMP/n1.err")"

done_testing
