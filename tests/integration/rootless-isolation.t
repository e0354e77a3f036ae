#!/bin/bash
# Two unprivileged users: B can neither see nor touch A's containers, through
# A's state root or through its own; A's container survives B's attempts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootless-lib.sh"

rl_make_user A ranges || { echo "Bail out! cannot create a test user"; exit 1; }
rl_make_user B none || { echo "Bail out! cannot create a test user"; exit 1; }
AROOT=$TEST_TMP/xdg-$A/hangar-oci

BA=$TEST_TMP/ba
rl_bundle "$A" "$BA" sleep 300
rl_oci "$A" run -d --bundle "$BA" shared-name </dev/null >/dev/null 2>&1
ok $? "$A runs a container"
apid=$(rl_oci "$A" state shared-name | jq -r .pid)
[ "$apid" -gt 0 ] 2>/dev/null
ok $? "it has a pid ($apid)"

for verb in list "state shared-name" "kill shared-name KILL" "delete --force shared-name" "exec shared-name true" \
	"pause shared-name" "ps shared-name"; do
	out=$(rl_oci "$B" --root "$AROOT" $verb 2>&1 </dev/null)
	rc=$?
	[ $rc != 0 ] && [[ "$out" =~ [Pp]ermission\ denied ]]
	ok $? "$B: hangar-oci --root <$A's root> $verb fails with permission denied ($out)"
done

out=$(rl_oci "$B" list 2>&1)
ok $? "$B lists its own default root"
! [[ "$out" =~ shared-name ]]
ok $? "$B's default root shows nothing of $A's"
out=$(rl_oci "$B" state shared-name 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ (does not exist|not found|no such) ]]
ok $? "$B: state shared-name in its own root: not found ($out)"

# B may use the same container id: ids are per root.
BB=$TEST_TMP/bb
rl_bundle "$B" "$BB" sleep 300
rl_oci "$B" run -d --bundle "$BB" shared-name </dev/null >/dev/null 2>&1
ok $? "$B can use the same id in its own root"
bpid=$(rl_oci "$B" state shared-name | jq -r .pid)
[ "$bpid" -gt 0 ] 2>/dev/null && [ "$bpid" != "$apid" ]
ok $? "a different container ($bpid)"
rl_oci "$B" delete --force shared-name
ok $? "$B deletes its own"

is "$(rl_oci "$A" state shared-name | jq -r .status)" running "$A's container is still running"
is "$(awk '/^Uid:/ {print $2}' "/proc/$apid/status" 2>/dev/null)" "$(id -u "$A")" "with the same init, owned by $A"
# The kernel agrees: B cannot signal A's processes either.
rl_as "$B" kill -0 "$apid" 2>/dev/null
[ $? != 0 ]
ok $? "$B cannot signal $A's init directly"
rl_oci "$A" delete --force shared-name
ok $? "$A deletes its container"

done_testing
