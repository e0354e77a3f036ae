#!/bin/bash
# Checkpoint/restore of a container with a terminal: the pty master lives
# outside (with the --console-socket receiver), so the dump treats the slave
# as external and the restore sends a new pty to a new console socket; the
# shell keeps writing into it with its in-memory counter intact.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "checkpoint/restore needs root"
RECV=$BUILD/tests/helpers/console-receiver
[ -x "$RECV" ] || { fail "console-receiver is built ($RECV)"; done_testing; exit 1; }

B=$TEST_TMP/tty
make_bundle "$B" sh -c 'n=0; while :; do n=$((n+1)); echo "tick $n"; echo $n > /tmp/counter; sleep 0.1; done'
cfg_edit "$B" '.process.terminal = true'

"$RECV" "$TEST_TMP/sock1" --out "$TEST_TMP/out1" --timeout 20 &
recv1=$!
at_exit "kill $recv1"
wait_for "[ -S $TEST_TMP/sock1 ]"
oci run -d --console-socket "$TEST_TMP/sock1" --bundle "$B" t1 </dev/null >/dev/null 2>"$TEST_TMP/err"
ok $? "run with a terminal ($(cat "$TEST_TMP/err"))"
wait_for "grep -q 'tick 5' $TEST_TMP/out1"; ok $? "the first console sees the output"
pid=$(oci state t1 | jq -r .pid)
[ "$(readlink "/proc/$pid/fd/1")" = /dev/pts/0 ]; ok $? "stdout is the container's pty"

oci checkpoint --image-path "$TEST_TMP/img" t1 2>"$TEST_TMP/err"; ok $? "checkpoint ($(cat "$TEST_TMP/err"))"
is "$(jq -r '.stdio[1].kind' "$TEST_TMP/img/hangar-checkpoint.json")" tty "the manifest records stdout as the external tty"
wait "$recv1"; ok $? "the first console sees EOF once the container is gone"
last=$(grep -o 'tick [0-9]*' "$TEST_TMP/out1" | tail -n1 | cut -d' ' -f2)

"$RECV" "$TEST_TMP/sock2" --out "$TEST_TMP/out2" --timeout 20 &
recv2=$!
at_exit "kill $recv2"
wait_for "[ -S $TEST_TMP/sock2 ]"
oci restore -d --console-socket "$TEST_TMP/sock2" --image-path "$TEST_TMP/img" --bundle "$B" t1 </dev/null >/dev/null 2>"$TEST_TMP/err"
ok $? "restore with a new console socket ($(cat "$TEST_TMP/err"))"
wait_for "grep -q 'tick $((last + 3))' $TEST_TMP/out2"; ok $? "the new console gets the output, counting on from tick $last"
first=$(grep -o 'tick [0-9]*' "$TEST_TMP/out2" | head -n1 | cut -d' ' -f2)
[ -n "$first" ] && [ "$first" -gt "$last" ] && [ "$first" -le $((last + 2)) ]; ok $? "the first tick after restore follows the last one before ($last -> $first)"
pid=$(oci state t1 | jq -r .pid)
[ -c "/proc/$pid/fd/1" ] && [ -e "/proc/$pid/fd/0" ]; ok $? "the restored shell has a terminal on its stdio"

# A second round trip with a terminal.
oci checkpoint --image-path "$TEST_TMP/img2" t1 2>"$TEST_TMP/err"; ok $? "checkpoint again ($(cat "$TEST_TMP/err"))"
wait "$recv2"; ok $? "the second console sees EOF"
last=$(grep -o 'tick [0-9]*' "$TEST_TMP/out2" | tail -n1 | cut -d' ' -f2)
"$RECV" "$TEST_TMP/sock3" --out "$TEST_TMP/out3" --timeout 20 &
recv3=$!
at_exit "kill $recv3"
wait_for "[ -S $TEST_TMP/sock3 ]"
oci restore -d --console-socket "$TEST_TMP/sock3" --image-path "$TEST_TMP/img2" --bundle "$B" t1 </dev/null >/dev/null 2>"$TEST_TMP/err"
ok $? "restore again ($(cat "$TEST_TMP/err"))"
wait_for "grep -q 'tick $((last + 3))' $TEST_TMP/out3"; ok $? "output continues on the third console from tick $last"

# Restore refuses a terminal checkpoint without a console socket when detached.
oci delete --force t1
oci restore -d --image-path "$TEST_TMP/img2" --bundle "$B" t2 </dev/null >/dev/null 2>"$TEST_TMP/err"
[ $? != 0 ]; ok $? "detached restore of a terminal checkpoint without --console-socket fails"
like "$(cat "$TEST_TMP/err")" "console socket" "and says why"
[ ! -e "$OCI_ROOT/t2" ]; ok $? "and leaves no state behind"

done_testing
