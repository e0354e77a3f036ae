#!/bin/bash
# hangar-oci lifecycle: create -> created -> start -> running -> kill -> stopped -> delete.
. "$(dirname "$0")/lib.sh"

B=$TEST_TMP/b1
make_bundle "$B" sh -c 'echo started > /tmp/marker; trap "exit 3" TERM; while :; do sleep 0.1; done'

oci create --bundle "$B" --pid-file "$TEST_TMP/pid" c1 >"$TEST_TMP/create.out" 2>&1; rc=$?; out=$(cat "$TEST_TMP/create.out")
ok $rc "create succeeds ($out)"
st=$(oci state c1 | jq -r .status)
is "$st" created "state is created after create"
pid=$(cat "$TEST_TMP/pid" 2>/dev/null)
is "$(oci state c1 | jq -r .pid)" "$pid" "pid-file matches state pid"
[ -n "$pid" ] && [ -d /proc/$pid ]; ok $? "init process exists"
# the init waits at the sync point: the user process has not run yet
exe=$(readlink /proc/$pid/exe)
like "$exe" 'memfd:hangar:\[cloned-binary\]' "init runs from the sealed memfd copy until exec (CVE-2019-5736)"
is "$(oci state c1 | jq -r .bundle)" "$B" "state reports the bundle"
oci list -q | grep -qx c1; ok $? "list -q shows the container"
is "$(oci list --format json | jq -r '.[0].status')" created "list json shows created"

oci start c1; ok $? "start succeeds"
is "$(oci state c1 | jq -r .status)" running "state is running after start"
wait_for "[ -e $B/rootfs/tmp/marker ]"; ok $? "the user process ran"
oci start c1 2>"$TEST_TMP/err"; [ $? != 0 ]; ok $? "second start fails"
like "$(cat "$TEST_TMP/err")" "cannot start an already running container" "second start error text"

is "$(oci ps --format json c1 | jq -r 'length >= 1')" true "ps --format json lists pids"
oci ps c1 | grep -q "PID"; ok $? "ps table has a header"

out=$(oci exec c1 sh -c 'echo in-exec; cat /tmp/marker'); ok $? "exec runs in the container"
is "$out" "$(printf 'in-exec\nstarted')" "exec sees the container's filesystem"
oci exec c1 sh -c 'exit 7'; is $? 7 "exec returns the process exit code"
oci exec -d --pid-file "$TEST_TMP/epid" c1 sleep 2; ok $? "exec --detach"
[ -s "$TEST_TMP/epid" ]; ok $? "exec --pid-file written"
is "$(oci exec --cwd /etc -e FOO=bar c1 sh -c 'echo $PWD $FOO')" "/etc bar" "exec --cwd and -e"
is "$(oci exec -u 65534:65534 c1 id -u)" 65534 "exec --user"

oci pause c1; ok $? "pause"
is "$(oci state c1 | jq -r .status)" paused "state is paused"
oci exec c1 true 2>/dev/null; [ $? != 0 ]; ok $? "exec refused while paused"
oci resume c1; ok $? "resume"
is "$(oci state c1 | jq -r .status)" running "state is running after resume"

oci delete c1 2>"$TEST_TMP/err"; [ $? != 0 ]; ok $? "delete of a running container fails"
like "$(cat "$TEST_TMP/err")" "not stopped" "delete error says not stopped"
oci kill c1 TERM; ok $? "kill TERM"
wait_for "[ \"\$(oci state c1 | jq -r .status)\" = stopped ]"; ok $? "container stops after SIGTERM"
oci kill c1 KILL 2>/dev/null; [ $? != 0 ]; ok $? "kill of a stopped container fails"
oci delete c1; ok $? "delete stopped container"
[ ! -e "$OCI_ROOT/c1" ]; ok $? "state dir removed"
oci state c1 2>/dev/null; [ $? != 0 ]; ok $? "state of deleted container fails"

# run: exit code propagates, container removed afterwards
B2=$TEST_TMP/b2
make_bundle "$B2" sh -c 'exit 42'
oci run --bundle "$B2" r1; is $? 42 "run returns the process exit code"
[ ! -e "$OCI_ROOT/r1" ]; ok $? "run removes the container afterwards"
cfg_edit "$B2" '.process.args=["sleep","100"]'
(wait_for "[ \"\$(oci state r2 2>/dev/null | jq -r .status)\" = running ]" && oci kill r2 KILL) &
oci run --bundle "$B2" r2; is $? 137 "run reports death by signal as 128+N"
wait

# run --detach then delete --force
cfg_edit "$B2" '.process.args=["sleep","100"]'
oci run -d --bundle "$B2" r3; ok $? "run --detach"
is "$(oci state r3 | jq -r .status)" running "detached container runs"
rpid=$(oci state r3 | jq -r .pid)
oci delete --force r3; ok $? "delete --force of a running container"
! [ -d /proc/$rpid ] || grep -q '^State:.*Z' /proc/$rpid/status; ok $? "its process is gone"
oci delete --force nosuch; ok $? "delete --force of a missing container succeeds (runc compatible)"

# kill --all reaches every process
cfg_edit "$B2" '.process.args=["sh","-c","sleep 100 & sleep 100 & wait"]'
oci run -d --bundle "$B2" r4
wait_for "[ \$(oci ps --format json r4 | jq length) -ge 3 ]"; ok $? "three processes in the container"
oci kill --all r4 KILL; ok $? "kill --all"
wait_for "[ \"\$(oci state r4 | jq -r .status)\" = stopped ]"; ok $? "all processes killed"
oci delete r4

# signals by number and name
cfg_edit "$B2" '.process.args=["sh","-c","trap \"echo got-usr1 > /tmp/sig; exit 0\" USR1; touch /tmp/trapped; while :; do sleep 0.1; done"]'
rm -f "$B2/rootfs/tmp/trapped"
oci run -d --bundle "$B2" r5
# USR1 before the trap is set would just kill the shell
wait_for "[ -e $B2/rootfs/tmp/trapped ]"
oci kill r5 10; ok $? "kill by number"
wait_for "[ -e $B2/rootfs/tmp/sig ]"; ok $? "signal delivered (USR1 trap ran)"
oci delete --force r5
done_testing
