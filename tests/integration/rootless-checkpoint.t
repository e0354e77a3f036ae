#!/bin/bash
# Checkpoint/restore as an unprivileged user: CRIU needs to ptrace and inspect
# every namespace of the container, which an unprivileged user cannot grant
# it (runc, podman and LXC refuse too).  hangar-oci must refuse up front,
# naming what is missing, and leave the container running and untouched.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootless-lib.sh"

rl_make_user A ranges || { echo "Bail out! cannot create a test user"; exit 1; }
B=$TEST_TMP/b1
rl_bundle "$A" "$B" sleep 300
rl_oci "$A" run -d --bundle "$B" k1 </dev/null >/dev/null 2>&1
ok $? "a rootless container runs"
pid=$(rl_oci "$A" state k1 | jq -r .pid)

img=$TEST_TMP/img-$A
install -d -m 0700 -o "$A" "$img"
out=$(rl_oci "$A" checkpoint --image-path "$img" k1 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ (root|CAP_SYS_ADMIN|CAP_CHECKPOINT_RESTORE) ]]
ok $? "checkpoint as $A is refused naming what is missing: $out"
is "$(ls -A "$img")" "" "nothing was written to the image directory"
is "$(rl_oci "$A" state k1 | jq -r .status)" running "the container is still running"
is "$(rl_oci "$A" state k1 | jq -r .pid)" "$pid" "with the same init"
out=$(rl_oci "$A" checkpoint --leave-running --image-path "$img" k1 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ (root|CAP_SYS_ADMIN|CAP_CHECKPOINT_RESTORE) ]]
ok $? "checkpoint --leave-running is refused too: $out"

# Restore needs an image: root checkpoints a container of its own and hands
# the image to the user.
RB=$TEST_TMP/rootb
make_bundle "$RB" sleep 300
rimg=$TEST_TMP/rimg
if oci run -d --bundle "$RB" rk1 </dev/null >/dev/null 2>&1 &&
	oci checkpoint --image-path "$rimg" rk1 >"$TEST_TMP/ck.out" 2>&1; then
	chown -R "$A:" "$rimg"
	rl_bundle "$A" "$TEST_TMP/b2" sleep 300
	out=$(cd "$TEST_TMP/b2" && rl_oci "$A" restore --image-path "$rimg" -d k2 2>&1 </dev/null)
	rc=$?
	[ $rc != 0 ] && [[ "$out" =~ "restore needs root" ]] && [[ "$out" =~ CAP_SYS_ADMIN ]]
	ok $? "restore of a real image as $A is refused naming what is missing: $out"
	[ ! -e "$TEST_TMP/xdg-$A/hangar-oci/k2" ]
	ok $? "the refused restore left no container behind"
else
	diag "$(cat "$TEST_TMP/ck.out")"
	skip "root cannot checkpoint here (criu), so there is no image to restore"
	skip "root cannot checkpoint here (criu), so there is no image to restore"
fi
oci delete --force rk1 >/dev/null 2>&1
out=$(rl_oci "$A" checkpoint --help 2>&1)
ok $? "checkpoint --help still works for clients that probe it (podman)"

rl_oci "$A" delete --force k1
ok $? "delete"

done_testing
