#!/bin/bash
# Checkpoint/restore failure paths: each fails with one line naming the step
# and the reason, a failed dump leaves the container running, a failed
# restore leaves no state directory, no cgroup and no process behind, and
# features this kernel/criu pair lacks are refused by name when asked for.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "checkpoint/restore needs root"
CRIU=${HANGAR_CRIU:-/opt/hangar/criu/bin/criu}

B=$TEST_TMP/b
make_bundle "$B" sh -c 'n=0; while :; do n=$((n+1)); echo $n > /tmp/counter; sleep 0.05; done'
counter() { cat "$B/rootfs/tmp/counter" 2>/dev/null || echo 0; }
no_cgroup_named() { ! ls -d /sys/fs/cgroup/*/hangar/"$1" /sys/fs/cgroup/hangar/"$1" >/dev/null 2>&1; }
# still_counting: the container runs and its counter moves.
still_counting() {
	local before
	before=$(counter)
	[ "$(oci state "$1" 2>/dev/null | jq -r .status)" = running ] && wait_for "[ \$(counter) -gt $before ]" 30
}
one_line() { [ "$(wc -l <"$1")" = 1 ]; }

oci run -d --bundle "$B" c1 </dev/null >/dev/null 2>&1; ok $? "run a container"
wait_for "[ \$(counter) -ge 3 ]"

# ---- usage and criu discovery ----------------------------------------------
oci checkpoint --help >/dev/null; ok $? "checkpoint --help exits 0"
oci restore --help >/dev/null; ok $? "restore --help exits 0"
oci checkpoint --image-path "$TEST_TMP/x" nosuch 2>"$TEST_TMP/err"; [ $? != 0 ]; ok $? "checkpoint of a missing container fails"
like "$(cat "$TEST_TMP/err")" "nosuch does not exist" "and names it"
"$OCI" --root "$OCI_ROOT" --criu /nonexistent/criu checkpoint --image-path "$TEST_TMP/x" c1 2>"$TEST_TMP/err"; [ $? != 0 ]
ok $? "--criu with a missing binary fails"
like "$(cat "$TEST_TMP/err")" "criu not found.*install-criu" "the error says criu is missing and how to get it"
printf '#!/bin/sh\necho "Version: 3.17.1"\n' >"$TEST_TMP/old-criu"; chmod +x "$TEST_TMP/old-criu"
"$OCI" --root "$OCI_ROOT" --criu "$TEST_TMP/old-criu" checkpoint --image-path "$TEST_TMP/x" c1 2>"$TEST_TMP/err"; [ $? != 0 ]
ok $? "a criu 3.17 is refused"
like "$(cat "$TEST_TMP/err")" "criu 3.17 at .* is known not to work on kernel|too old" "with a message naming the version and the fix"
printf '#!/bin/sh\necho "Version: 3.10"\n' >"$TEST_TMP/older-criu"; chmod +x "$TEST_TMP/older-criu"
HANGAR_CRIU=$TEST_TMP/older-criu "$OCI" --root "$OCI_ROOT" checkpoint --image-path "$TEST_TMP/x" c1 2>"$TEST_TMP/err"; [ $? != 0 ]
ok $? "HANGAR_CRIU is used, and a criu older than 3.15 refused"
like "$(cat "$TEST_TMP/err")" "3.10.0 at .*too old" "the message names the version"
still_counting c1; ok $? "the container still runs after the refused checkpoints"

# ---- features this machine lacks -------------------------------------------
if "$CRIU" check --feature mem_dirty_track >/dev/null 2>&1; then
	skip "memory dirty tracking works here: --pre-dump is not refused"
	skip "memory dirty tracking works here"
else
	oci checkpoint --pre-dump --image-path "$TEST_TMP/pre" c1 2>"$TEST_TMP/err"; [ $? != 0 ]; ok $? "--pre-dump fails without dirty tracking"
	like "$(cat "$TEST_TMP/err")" "--pre-dump is not supported here: .*CONFIG_MEM_SOFT_DIRTY" "and names the missing feature ($(cat "$TEST_TMP/err"))"
fi
version=$("$CRIU" --version | sed -n 's/^Version: *//p')
if [[ "$version" == 4.1.* ]] || ! "$CRIU" check --feature uffd-noncoop >/dev/null 2>&1; then
	oci checkpoint --lazy-pages --image-path "$TEST_TMP/lazy" c1 2>"$TEST_TMP/err"; [ $? != 0 ]; ok $? "--lazy-pages fails where it is broken"
	like "$(cat "$TEST_TMP/err")" "--lazy-pages is not supported here" "and says so ($(cat "$TEST_TMP/err"))"
	one_line "$TEST_TMP/err"; ok $? "in one line"
else
	skip "lazy pages may work with criu $version"; skip "lazy pages"; skip "lazy pages"
fi
kernel=$(uname -r | awk -F. '{print $1 * 100 + $2}')
if [ "$kernel" -ge 616 ] && [[ "$version" == [0-3].* || "$version" == 4.[01].* ]]; then
	oci checkpoint --tcp-established --image-path "$TEST_TMP/tcp" c1 2>"$TEST_TMP/err"; [ $? != 0 ]; ok $? "--tcp-established fails on kernel $(uname -r) with criu $version"
	like "$(cat "$TEST_TMP/err")" "--tcp-established is not supported here.*#2705" "and names the criu issue"
else
	skip "--tcp-established may work here"; skip "--tcp-established"
fi
oci checkpoint --manage-cgroups-mode bogus --image-path "$TEST_TMP/x" c1 2>"$TEST_TMP/err"; [ $? != 0 ]; ok $? "a bad --manage-cgroups-mode is refused"
still_counting c1; ok $? "the container still runs after the refused features"
[ ! -e "$TEST_TMP/pre/hangar-checkpoint.json" ] && [ ! -e "$TEST_TMP/lazy/hangar-checkpoint.json" ]; ok $? "refused dumps leave no manifest"

# ---- a dump that fails inside criu ------------------------------------------
# Nobody listens on this port: criu fails to reach the page server.
oci checkpoint --page-server 127.0.0.1:1 --image-path "$TEST_TMP/ps" c1 2>"$TEST_TMP/err"; [ $? != 0 ]; ok $? "a dump to an absent page server fails"
like "$(cat "$TEST_TMP/err")" "criu dump failed: .*\(log: $TEST_TMP/ps/dump.log\)" "error names the step, criu's reason and the log ($(cat "$TEST_TMP/err"))"
one_line "$TEST_TMP/err"; ok $? "in one line"
[ ! -e "$TEST_TMP/ps/hangar-checkpoint.json" ]; ok $? "no manifest is written"
still_counting c1; ok $? "the container keeps running after the failed dump"
is "$(cat /sys/fs/cgroup/freezer/hangar/c1/freezer.state 2>/dev/null || echo THAWED)" THAWED "and is not left frozen"

# ---- a TCP socket in the container ------------------------------------------
# Explicit choices for connections: without a flag criu must not silently
# drop or keep them.  On kernel >= 6.16 criu 4.1.1 cannot even read a
# listening TCP socket (SO_PASSCRED, criu #2705): the dump fails, named.
BT=$TEST_TMP/bt
make_bundle "$BT" sh -c 'busybox nc -l -p 1234 >/dev/null & n=0; while :; do n=$((n+1)); echo $n > /tmp/counter; sleep 0.05; done'
oci run -d --bundle "$BT" tcp1 </dev/null >/dev/null 2>&1; ok $? "run a container with a TCP listener"
wait_for "oci exec tcp1 busybox netstat -ltn | grep -q ':1234 '"; ok $? "it listens"
oci checkpoint --tcp-close --image-path "$TEST_TMP/tcp1" tcp1 2>"$TEST_TMP/err"; rc=$?
if [ "$kernel" -ge 616 ] && [[ "$version" == [0-3].* || "$version" == 4.[01].* ]]; then
	[ $rc != 0 ]; ok $? "the dump fails where criu cannot read TCP sockets"
	like "$(cat "$TEST_TMP/err")" "criu dump failed: .*#2705" "the error explains criu's message ($(cat "$TEST_TMP/err"))"
	is "$(oci state tcp1 | jq -r .status)" running "the container keeps running"
else
	ok $rc "checkpoint --tcp-close of a container with a TCP socket"
	oci restore -d --image-path "$TEST_TMP/tcp1" --bundle "$BT" tcp1 </dev/null >/dev/null 2>&1; ok $? "and its restore"
	is "$(oci state tcp1 | jq -r .status)" running "the restored container runs"
fi
oci delete --force tcp1

# ---- restores that fail -----------------------------------------------------
# Not --leave-running: a c1 still writing /tmp/counter would change a file
# the image may hold open (the dump can catch `echo > /tmp/counter` between
# its open and its write), and criu refuses a restore whose file sizes moved.
oci checkpoint --image-path "$TEST_TMP/good" --work-path "$TEST_TMP/work" c1 2>"$TEST_TMP/err"; ok $? "a good checkpoint ($(cat "$TEST_TMP/err"))"
[ -s "$TEST_TMP/work/dump.log" ] && [ ! -e "$TEST_TMP/good/dump.log" ]; ok $? "--work-path takes the log"
oci delete --force c1

mkdir -p "$TEST_TMP/empty"
oci restore -d --image-path "$TEST_TMP/empty" --bundle "$B" r1 </dev/null >/dev/null 2>"$TEST_TMP/err"; [ $? != 0 ]; ok $? "restore from an empty directory fails"
like "$(cat "$TEST_TMP/err")" "is not a hangar checkpoint" "and says it is no checkpoint"
[ ! -e "$OCI_ROOT/r1" ]; ok $? "no state directory is left"
no_cgroup_named r1; ok $? "no cgroup is left"

cp -a "$TEST_TMP/good" "$TEST_TMP/corrupt"
rm -f "$TEST_TMP/corrupt"/pstree.img
oci restore -d --image-path "$TEST_TMP/corrupt" --bundle "$B" r2 </dev/null >/dev/null 2>"$TEST_TMP/err"; [ $? != 0 ]; ok $? "restore from an image without pstree.img fails"
like "$(cat "$TEST_TMP/err")" "criu restore failed: .*\(log: $TEST_TMP/corrupt/restore.log\)" "error names the step and the log ($(cat "$TEST_TMP/err"))"
one_line "$TEST_TMP/err"; ok $? "in one line"
[ ! -e "$OCI_ROOT/r2" ]; ok $? "no state directory is left"
no_cgroup_named r2; ok $? "no cgroup is left"

# Damage the memory image: criu gets further, restores tasks, then fails.
cp -a "$TEST_TMP/good" "$TEST_TMP/corrupt2"
for f in "$TEST_TMP/corrupt2"/pagemap-*.img; do : >"$f"; done
oci restore -d --image-path "$TEST_TMP/corrupt2" --bundle "$B" r3 </dev/null >/dev/null 2>"$TEST_TMP/err"; [ $? != 0 ]; ok $? "restore with truncated page maps fails"
like "$(cat "$TEST_TMP/err")" "criu restore failed" "error names criu's restore ($(cat "$TEST_TMP/err"))"
[ ! -e "$OCI_ROOT/r3" ]; ok $? "no state directory is left"
no_cgroup_named r3; ok $? "no cgroup is left"
! pgrep -f 'echo \$n > /tmp/counter' >/dev/null; ok $? "no restored process is left"

# The id is taken: nothing of the existing container is touched.
oci restore -d --image-path "$TEST_TMP/good" --bundle "$B" r4 </dev/null >/dev/null 2>"$TEST_TMP/err"; ok $? "the good image restores ($(cat "$TEST_TMP/err"))"
oci restore -d --image-path "$TEST_TMP/good" --bundle "$B" r4 </dev/null >/dev/null 2>"$TEST_TMP/err"; [ $? != 0 ]; ok $? "restoring onto a taken id fails"
like "$(cat "$TEST_TMP/err")" "r4 already exists" "and says so"
still_counting r4; ok $? "the existing container keeps running"
oci delete --force r4

done_testing
