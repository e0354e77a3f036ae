#!/bin/bash
# hangar --init: busybox init as PID 1 with a console; the console is
# attached and detached through a real terminal (tmux); stop shuts the init
# down cleanly with its own poweroff signal.
HANGAR_TEST_PRIVATE_NET=1
. "$(dirname "$0")/lib.sh"
hangar_store
need_tool tmux tmux
state_of() { hg list --format json | jq -r --arg n "$1" '.[] | select(.name == $n) | .state'; }
session=hangar-init-$$
export TMUX_TMPDIR=$TEST_TMP
at_exit "tmux kill-session -t $session"
pane() { tmux capture-pane -p -t "$session" -S -200; }

out=$(hg create vm1 --init --network none 2>&1)
ok $? "create --init ($out)"
is "$(jq -c '.process.args' "$HANGAR_ROOT/instances/vm1/config.json")" '["/sbin/init"]' "--init runs /sbin/init"
hg start vm1
ok $? "start vm1"
wait_for "grep -q 'busybox init started' '$HANGAR_ROOT/instances/vm1/log'" 50
ok $? "busybox init ran its sysinit entry (log)"
is "$(hg exec vm1 -- cat /proc/1/comm 2>&1 | tr -d '\r')" init "PID 1 is init"
wait_for "hg exec vm1 -- ps -o ppid,comm | tr -d '\\r' | grep -qE '^ *1 +sh$'" 50
ok $? "init respawned the console shell"

tmux new-session -d -s "$session" -x 150 -y 40 "'$HANGAR' console vm1; echo CONSOLE-RC=\$?; sleep 60"
wait_for "pane | grep -q 'Ctrl-a q to detach'" 50
ok $? "console prints the detach hint"
tmux send-keys -t "$session" 'echo marker-$((6*7)); cat /proc/1/comm' Enter
wait_for "pane | grep -q 'marker-42'" 50
ok $? "console: typed command ran in the instance's shell"
tmux send-keys -t "$session" 'echo size-$(stty size | tr " " x)' Enter
wait_for "pane | grep -q 'size-40x150'" 50
ok $? "console: the pty has the client's terminal size (40x150)"
tmux resize-window -t "$session" -x 120 -y 33
# ask again until the resize has travelled through the console to the pty
wait_for "tmux send-keys -t '$session' 'echo size-\$(stty size | tr \" \" x)' Enter; sleep 0.3; pane | grep -q 'size-33x120'" 20
ok $? "console: a terminal resize reaches the pty (33x120)"
out=$(timeout 10 "$HANGAR" console vm1 2>&1 </dev/null)
rc=$?
ok "$([ $rc = 4 ] && [[ "$out" == *"another client is attached"* ]]; echo $?)" "second console client refused: $out"
tmux send-keys -t "$session" C-a q
wait_for "pane | grep -q 'CONSOLE-RC=0'" 50
ok $? "Ctrl-a q detaches (console exits 0)"
is "$(state_of vm1)" RUNNING "instance keeps running after detach"
tmux kill-session -t "$session"
tmux new-session -d -s "$session" -x 150 -y 40 "'$HANGAR' console vm1; echo CONSOLE-RC=\$?; sleep 60"
wait_for "pane | grep -q 'Ctrl-a q to detach'" 50
tmux send-keys -t "$session" 'echo again-$((5*5))' Enter
wait_for "pane | grep -q 'again-25'" 50
ok $? "a new client can attach after a detach"
tmux send-keys -t "$session" C-a q
wait_for "pane | grep -q 'CONSOLE-RC=0'" 50

# exec -t gets a terminal of its own.
tmux kill-session -t "$session"
tmux new-session -d -s "$session" -x 150 -y 40 "'$HANGAR' exec -t vm1 -- sh -c 'tty; test -t 0 && echo stdin-is-a-tty'; echo EXEC-RC=\$?; sleep 60"
wait_for "pane | grep -q 'EXEC-RC=0'" 50
ok "$(pane | grep -q stdin-is-a-tty && pane | grep -q '^/dev/pts/'; echo $?)" "exec -t runs the command on a pty"
[ "$(pane | grep -c stdin-is-a-tty)" = 1 ] || pane | sed "s/^/# pane: /"

# run attaches a terminal and returns the instance's exit status.
tmux kill-session -t "$session"
tmux new-session -d -s "$session" -x 150 -y 40 "'$HANGAR' run --rm --network none tty1; echo RUN-RC=\$?; sleep 60"
wait_for "pane | grep -q 'Ctrl-a q to detach'" 50
tmux send-keys -t "$session" 'echo in-run-$((2*21)); exit 5' Enter
wait_for "pane | grep -q 'RUN-RC=5'" 100
ok $? "run: interactive shell, its exit status (5) comes back"
ok "$(pane | grep -q 'in-run-42'; echo $?)" "run: typed command ran"
ok "$([ ! -e "$HANGAR_ROOT/instances/tty1" ]; echo $?)" "run --rm removed the instance"
tmux kill-session -t "$session"

t0=$(date +%s)
out=$(hg stop --timeout 20 vm1 2>&1)
ok $? "stop vm1 ($out)"
t1=$(date +%s)
ok "$([ $((t1 - t0)) -lt 20 ]; echo $?)" "init shut down before the timeout ($((t1 - t0))s): no SIGKILL needed"
grep -q 'shutting down' "$HANGAR_ROOT/instances/vm1/log"
ok $? "busybox init ran its shutdown entries (poweroff via SIGUSR2)"
is "$(hg list --format json | jq -r '.[0].exit_code')" 0 "init exited 0 (clean poweroff)"
is "$(state_of vm1)" STOPPED "STOPPED after stop"

# A command that ignores SIGTERM as PID 1 needs the SIGKILL escalation.
hg create stubborn --network none -- sh -c 'trap "" TERM; while :; do sleep 1; done' >/dev/null
hg start stubborn
t0=$(date +%s)
hg stop --timeout 2 stubborn
t1=$(date +%s)
ok "$([ $((t1 - t0)) -ge 2 ] && [ $((t1 - t0)) -le 8 ]; echo $?)" "SIGTERM ignored: SIGKILL after the 2s timeout ($((t1 - t0))s)"
is "$(hg list --format json | jq -r '.[] | select(.name=="stubborn") | .exit_code')" 137 "stubborn instance killed (137)"
done_testing
