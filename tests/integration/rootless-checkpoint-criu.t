#!/bin/bash
# Rootless checkpoint with a real criu: a private copy of the criu 4.1.1
# binary of /opt/hangar/criu, patched (patchelf) to load its own libraries
# without the wrapper script, gets cap_checkpoint_restore and cap_sys_ptrace
# as file capabilities (on this copy only, removed at exit).  hangar-oci's
# probe then lets a throwaway user's checkpoint through to criu.  criu 4.1.1
# cannot dump a process tree in a user namespace it did not make (criu
# issue #2778; docs/rootless.md has the details), so the dump must fail the
# way any criu failure does: one line with criu's own error and its log, the
# container still running.  When a criu can do it, this test fails on purpose:
# turn it into the checkpoint+restore proof and update the docs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootless-lib.sh"
rl_require patchelf
CP=/opt/hangar/criu
[ -x "$CP/usr/sbin/criu" ] || { echo "Bail out! no criu in $CP (scripts/install-criu)"; exit 1; }

C=$TEST_TMP/criu-caps
mkdir -m 0755 "$C"
at_exit "rm -f $C/criu"
cp "$CP/usr/sbin/criu" "$C/criu" &&
	patchelf --set-interpreter "$CP/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --force-rpath \
		--set-rpath "$CP/usr/lib/x86_64-linux-gnu:$CP/lib/x86_64-linux-gnu" "$C/criu"
ok $? "a private criu copy that loads $CP's libraries itself"
setcap cap_checkpoint_restore,cap_sys_ptrace+eip "$C/criu"
ok $? "setcap on that copy only"
rl_make_user A ranges || { echo "Bail out! cannot create a test user"; exit 1; }
like "$(rl_as "$A" "$C/criu" --version 2>&1)" "Version: 4\.1" "the user runs it (secure-exec keeps the absolute rpath)"
like "$(rl_as "$A" "$C/criu" check --unprivileged 2>&1)" "Looks good" "criu check --unprivileged as $A: Looks good"

B=$TEST_TMP/b1
RL_SPEC_FLAGS=--subids rl_bundle "$A" "$B" sleep 300
rl_oci "$A" run -d --bundle "$B" ck1 </dev/null >/dev/null 2>&1
ok $? "a rootless container runs (with $A's subordinate ranges)"
pid=$(rl_oci "$A" state ck1 | jq -r .pid)
img=$TEST_TMP/img
install -d -m 0700 -o "$A" "$img"
out=$(rl_oci "$A" --criu "$C/criu" checkpoint --image-path "$img" ck1 2>&1)
rc=$?
diag "checkpoint as $A: rc $rc: $out"
[[ "$out" != *"as a user needs"* ]]
ok $? "the capable copy passes hangar-oci's probe"
[ $rc != 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
	[[ "$out" =~ ^"hangar-oci: criu dump failed: Unable to drop supplementary groups: Operation not permitted (log: $img/dump.log)"$ ]]
ok $? "criu 4.1.1 refuses the user namespace; hangar-oci says so in one line with the log"
grep -q "One or more namespaces doesn't belong to the target user namespace" "$img/dump.log"
ok $? "criu's log has the reason"
is "$(rl_oci "$A" state ck1 | jq -r .status):$(rl_oci "$A" state ck1 | jq -r .pid)" "running:$pid" \
	"the container still runs with the same init"
[ ! -e "$img/hangar-checkpoint.json" ]
ok $? "no manifest: the failed dump is not taken for a checkpoint"
rl_oci "$A" delete --force ck1
ok $? "delete"
rm -f "$C/criu"
[ ! -e "$C/criu" ]
ok $? "the capable copy is removed"

done_testing
