#!/bin/bash
# Checkpoint/restore as an unprivileged user: criu's --unprivileged mode
# needs criu >= 3.18 with the file capabilities cap_checkpoint_restore and
# cap_sys_ptrace (Linux >= 5.9).  Without them hangar-oci and hangar refuse
# up front, naming exactly the missing pieces, leave the container running
# and the previous checkpoint in place; with them criu runs --unprivileged.
# Fake criu binaries (scripts answering --version) stand in for versions
# and capabilities; the system's criu is never changed.
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
[ $rc != 0 ] && [[ "$out" =~ ^"hangar-oci: checkpoint as a user needs " ]] && [[ "$out" =~ (cap_checkpoint_restore|criu) ]]
ok $? "checkpoint as $A with the system's criu is refused naming what is missing: $out"
is "$(ls -A "$img")" "" "nothing was written to the image directory"
is "$(rl_oci "$A" state k1 | jq -r .status)" running "the container is still running"
is "$(rl_oci "$A" state k1 | jq -r .pid)" "$pid" "with the same init"
out=$(rl_oci "$A" checkpoint --leave-running --image-path "$img" k1 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ ^"hangar-oci: checkpoint as a user needs " ]]
ok $? "checkpoint --leave-running is refused too: $out"

# Fake criu binaries: VERSION answers --version, anything else is logged.
F=$TEST_TMP/fake
mkdir -p "$F" && chmod 755 "$F"
fake_criu() { # fake_criu PATH VERSION
	printf '#!/bin/sh\nif [ "$1" = --version ]; then echo "Version: %s"; exit 0; fi\necho "$*" >>%s.log\necho "fake criu" >&2\nexit 1\n' \
		"$2" "$1" >"$1"
	chmod 755 "$1"
	touch "$1.log" && chmod 666 "$1.log"
}
fake_criu "$F/criu41" 4.1.1
fake_criu "$F/criu317" 3.17.1
caps_msg() { echo "file capabilities cap_checkpoint_restore and cap_sys_ptrace on $1 (an administrator runs \`setcap cap_checkpoint_restore,cap_sys_ptrace+eip\` on the criu binary)"; }
out=$(rl_oci "$A" --criu "$F/criu41" checkpoint --image-path "$img" k1 2>&1)
rc=$?
is "$rc:$out" "1:hangar-oci: checkpoint as a user needs $(caps_msg "$F/criu41")" "criu 4.1.1 without capabilities: only they are named"
out=$(RL_ENV=HANGAR_CRIU_FORCE=1 rl_oci "$A" --criu "$F/criu317" checkpoint --image-path "$img" k1 2>&1)
is "$out" "hangar-oci: checkpoint as a user needs criu >= 3.18 for --unprivileged ($F/criu317 is 3.17.1); $(caps_msg "$F/criu317")" \
	"criu 3.17.1 without capabilities: both are named"
is "$(cat "$F/criu41.log" "$F/criu317.log")" "" "criu was not run for a dump"
is "$(ls -A "$img")" "" "nothing was written to the image directory"
is "$(rl_oci "$A" state k1 | jq -r .status)" running "the container is still running"
if cp "$F/criu41" "$F/criucap" && fake_criu "$F/criucap" 4.1.1 && setcap cap_checkpoint_restore,cap_sys_ptrace+eip "$F/criucap" 2>/dev/null; then
	out=$(rl_oci "$A" --criu "$F/criucap" checkpoint --image-path "$img" k1 2>&1)
	rc=$?
	[ $rc != 0 ] && [[ "$out" != *"as a user needs"* ]]
	ok $? "with the capabilities nothing is refused up front: $out"
	grep -q "^dump --unprivileged " "$F/criucap.log"
	ok $? "criu runs as dump --unprivileged: $(grep -v '^check' "$F/criucap.log")"
	is "$(rl_oci "$A" state k1 | jq -r .status)" running "the failed dump left the container running"
else
	skip "setcap does not work on $F (no security xattrs)"
	skip "setcap does not work on $F (no security xattrs)"
	skip "setcap does not work on $F (no security xattrs)"
fi

# hangar checkpoint as the user: refused before the previous checkpoint goes.
HD=$TEST_TMP/hwork
mkdir -p "$HD" && chown "$A:" "$HD"
UH() { (cd "$HD" && rl_as "$A" "$HANGAR" "$@"); }
if [ -x "$HANGAR" ]; then
	UH create c1 --network none -- sleep 300 >/dev/null 2>&1 && UH start c1 >/dev/null 2>&1
	ok $? "a rootless instance runs"
	ck=$(getent passwd "$A" | cut -d: -f6)/.local/share/hangar/instances/c1/checkpoint
	rl_as "$A" sh -c "mkdir -p '$ck' && echo old >'$ck/marker'"
	out=$(cd "$HD" && RL_ENV="HANGAR_CRIU=$F/criu41" rl_as "$A" "$HANGAR" checkpoint c1 2>&1)
	rc=$?
	is "$rc:$out" "5:hangar: checkpoint c1: checkpoint as a user needs $(caps_msg "$F/criu41")" "hangar checkpoint as $A: the exact reason"
	is "$(cat "$ck/marker" 2>&1)" old "the previous checkpoint is still there"
	like "$(UH list)" "c1 +RUNNING" "the instance still runs"
	UH destroy --force c1 >/dev/null 2>&1
else
	fail "$HANGAR not built"
	fail "$HANGAR not built"
	fail "$HANGAR not built"
	fail "$HANGAR not built"
fi

# Restore is refused before criu reads the images, so a fake image directory
# (a manifest only) is enough: the refusals do not depend on root being able
# to checkpoint here.
fake_image() { # fake_image DIR: a manifest and nothing else, owned by $A
	install -d -m 0700 -o "$A" "$1"
	printf '{"id":"k0","bundle":"/nonexistent","rootfs":"/nonexistent","criu_version":"4.1.1"}\n' \
		>"$1/hangar-checkpoint.json"
	chown "$A:" "$1/hangar-checkpoint.json"
}
rimg=$TEST_TMP/rimg
fake_image "$rimg"
rl_bundle "$A" "$TEST_TMP/b2" sleep 300
out=$(cd "$TEST_TMP/b2" && rl_oci "$A" restore --image-path "$rimg" -d k2 2>&1 </dev/null)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ ^"hangar-oci: restore as a user needs " ]] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ]
ok $? "hangar-oci restore as $A with the system's criu is refused in one line naming what is missing: $out"
out=$(cd "$TEST_TMP/b2" && rl_oci "$A" --criu "$F/criu41" restore --image-path "$rimg" -d k2 2>&1 </dev/null)
is "$out" "hangar-oci: restore as a user needs $(caps_msg "$F/criu41")" "restore with criu 4.1.1 without capabilities: the exact reason"
[ ! -e "$TEST_TMP/xdg-$A/hangar-oci/k2" ]
ok $? "the refused restore left no container behind"

# hangar restore as the user: refused before instance_start makes anything
# (run directory, monitor, helper, overlay mount).
if [ -x "$HANGAR" ]; then
	UH create c2 --network none -- sleep 300 >/dev/null 2>&1
	ok $? "a stopped rootless instance"
	fake_image "$(getent passwd "$A" | cut -d: -f6)/.local/share/hangar/instances/c2/checkpoint"
	: >"$F/criu41.log"
	before=$(pgrep -u "$A" | sort)
	out=$(cd "$HD" && RL_ENV="HANGAR_CRIU=$F/criu41" rl_as "$A" "$HANGAR" restore c2 2>&1 </dev/null)
	rc=$?
	is "$rc:$out" "5:hangar: restore c2: restore as a user needs $(caps_msg "$F/criu41")" \
		"hangar restore as $A: exactly one line with the reason, exit 5"
	like "$(UH list)" "c2 +STOPPED" "the instance is still stopped"
	[ ! -e "$TEST_TMP/xdg-$A/hangar/instances/c2" ] && [ -z "$(ls -A "$TEST_TMP/xdg-$A/hangar/oci" 2>&1)" ]
	ok $? "no run directory or OCI state of it was made"
	sleep 0.2
	is "$(pgrep -u "$A" | sort)" "$before" "no new process of $A is left (monitor, helper, init)"
	! grep -q "/instances/c2/" /proc/self/mountinfo
	ok $? "no mount of it is left"
	is "$(cat "$F/criu41.log")" "" "criu was not run for a restore"
	UH destroy c2
	ok $? "destroy it"
else
	for i in 1 2 3 4 5 6 7 8; do fail "$HANGAR not built"; done
fi
out=$(rl_oci "$A" checkpoint --help 2>&1)
ok $? "checkpoint --help still works for clients that probe it (podman)"

rl_oci "$A" delete --force k1
ok $? "delete"

done_testing
