#!/bin/bash
# hangar migrate over ssh between two "hosts" on this machine: two network
# namespaces joined by a veth (192.168.77.1 and .2), each with its own state
# root, and an sshd (test key, test host key) in each.  Everything is made by
# the test and goes away with it; no traffic leaves the two namespaces.
#   - the workload continues on the target, with the same address, and is
#     gone from the source;
#   - a transfer cut before the dump leaves the source untouched, one cut
#     after the dump restores the source; the target is clean both times;
#   - the instance migrates back.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -x "$HANGAR" ] || { fail "$HANGAR is built"; done_testing; exit 1; }
"$HANGAR" migrate --help >/dev/null 2>&1 || { fail "hangar has the migrate verb (cli/hangar/hangar.h HANGAR_VERBS)"; done_testing; exit 1; }
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$SSHD" ] || { fail "sshd is installed (openssh-server)"; done_testing; exit 1; }
ip link add hgmtest-probe type veth peer name hgmtest-probe2 2>/dev/null || skip_all "the kernel has no veth"
ip link del hgmtest-probe

NSA=hgm-a-$$ NSB=hgm-b-$$
ip netns add "$NSA" && at_exit "ip netns del $NSA"
ip netns add "$NSB" && at_exit "ip netns del $NSB"
ip link add hgm-va-$$ netns "$NSA" type veth peer name hgm-vb-$$ netns "$NSB"
ip -n "$NSA" addr add 192.168.77.1/24 dev hgm-va-$$
ip -n "$NSB" addr add 192.168.77.2/24 dev hgm-vb-$$
for ns in "$NSA" "$NSB"; do ip -n "$ns" link set lo up; done
ip -n "$NSA" link set hgm-va-$$ up
ip -n "$NSB" link set hgm-vb-$$ up

# Keys and one sshd per host, in its namespace only.
ssh-keygen -q -t ed25519 -N '' -f "$TEST_TMP/id" && ssh-keygen -q -t ed25519 -N '' -f "$TEST_TMP/hostkey"
cp "$TEST_TMP/id.pub" "$TEST_TMP/authorized_keys"
if [ ! -d /run/sshd ]; then mkdir -p /run/sshd && at_exit "rmdir /run/sshd"; fi
start_sshd() { # ns address tag
	cat >"$TEST_TMP/sshd-$3.conf" <<EOF
Port 2222
ListenAddress $2
HostKey $TEST_TMP/hostkey
AuthorizedKeysFile $TEST_TMP/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $TEST_TMP/sshd-$3.pid
EOF
	nsenter --net="/run/netns/$1" "$SSHD" -f "$TEST_TMP/sshd-$3.conf" -E "$TEST_TMP/sshd-$3.log"
	wait_for "[ -s $TEST_TMP/sshd-$3.pid ]" && at_exit "kill \$(cat $TEST_TMP/sshd-$3.pid)"
}
start_sshd "$NSA" 192.168.77.1 a; ok $? "sshd runs on host A"
start_sshd "$NSB" 192.168.77.2 b; ok $? "sshd runs on host B"
nsenter --net="/run/netns/$NSA" bash -c ': </dev/tcp/192.168.77.2/2222'; ok $? "host A reaches host B's sshd over the test veth"
export HANGAR_SSH="ssh -i $TEST_TMP/id -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o LogLevel=ERROR -o ConnectTimeout=5"
export HANGAR_REMOTE=$HANGAR
# The remote side inherits nothing from us but what ssh passes: tell it
# which criu to use through the private install (the default) only.
nsenter --net="/run/netns/$NSA" $HANGAR_SSH -p 2222 root@192.168.77.2 true; ok $? "ssh from A to B works with the test key"

A=$TEST_TMP/hostA B=$TEST_TMP/hostB
ha() { HANGAR_ROOT=$A HANGAR_RUN=$A/run nsenter --net="/run/netns/$NSA" "$HANGAR" "$@"; }
hb() { HANGAR_ROOT=$B HANGAR_RUN=$B/run nsenter --net="/run/netns/$NSB" "$HANGAR" "$@"; }
_cleanup_hosts() {
	for n in $(ls "$A/instances" 2>/dev/null); do ha destroy --force "$n"; done
	for n in $(ls "$B/instances" 2>/dev/null); do hb destroy --force "$n"; done
}
at_exit _cleanup_hosts
state_a() { ha list --format json | jq -r --arg n "$1" '.[] | select(.name == $n) | .state'; }
state_b() { hb list --format json | jq -r --arg n "$1" '.[] | select(.name == $n) | .state'; }
# The loop truncates before it writes: retry an empty read.
read_counter() {
	local v i
	for i in 1 2 3 4 5; do
		v=$("$@" exec w -- cat /root/counter 2>/dev/null | tr -d '\r')
		[ -n "$v" ] && break
		sleep 0.05
	done
	echo "${v:-0}"
}
counter_a() { read_counter ha; }
counter_b() { read_counter hb; }

out=$(ha create w -- sh -c 'n=0; while :; do n=$((n+1)); echo tick $n; echo $n > /root/counter; sleep 0.1; done' 2>&1)
ok $? "create w on A ($out)"
ha start w >/dev/null 2>&1; ok $? "start w on A"
wait_for "[ \"\$(counter_a)\" -ge 5 ]"; ok $? "w counts on A"
addr=$(ha exec w -- ip -4 -o addr show eth0 | awk '{print $4}')
like "$addr" '^10\.' "w has an address on A's bridge ($addr)"

# ---- cut before the dump: the source never stops ----------------------------
cat >"$TEST_TMP/cut-ssh" <<EOF
#!/bin/bash
# Drops the connection of the phase named in CUT_AT after CUT_BYTES bytes.
for a in "\$@"; do
	if [ "\$a" = "\$CUT_AT" ]; then head -c \${CUT_BYTES:-2000} >/dev/null; exit 255; fi
done
exec $HANGAR_SSH "\$@"
EOF
chmod +x "$TEST_TMP/cut-ssh"
c0=$(counter_a)
out=$(HANGAR_SSH=$TEST_TMP/cut-ssh CUT_AT=rootfs ha migrate w ssh://root@192.168.77.2:2222$B 2>&1); [ $? != 0 ]
ok $? "a transfer cut during the copy fails"
like "$out" "copy" "the error names the copy phase ($out)"
is "$(state_a w)" RUNNING "the source keeps running"
[ ! -d "$B/instances/w" ]; ok $? "the target has nothing of w"
wait_for "[ \"\$(counter_a)\" -gt $c0 ]"; ok $? "w still counts on A"

# ---- cut after the dump: the source is restored -----------------------------
c0=$(counter_a)
# After the freeze one receiver takes delta, deletions, images and the
# restore: cut it well into the images (the delta is ~20 KiB, they ~320 KiB).
out=$(HANGAR_SSH=$TEST_TMP/cut-ssh CUT_AT=finish CUT_BYTES=100000 ha migrate w ssh://root@192.168.77.2:2222$B 2>&1); [ $? != 0 ]
ok $? "a transfer cut while sending the images fails"
like "$out" "images" "the error names the images phase"
like "$out" "restored from its checkpoint" "and says the source was restored"
is "$(state_a w)" RUNNING "the source runs again"
[ ! -d "$B/instances/w" ]; ok $? "the target has nothing of w"
c1=$(counter_a)
[ -n "$c1" ] && [ "$c1" -ge "$c0" ]; ok $? "the restored source continues from its counter ($c0 -> $c1), no restart"
is "$(ha exec w -- ip -4 -o addr show eth0 | awk '{print $4}')" "$addr" "with its address"

# ---- the real migration ------------------------------------------------------
c0=$(counter_a)
out=$(ha migrate w ssh://root@192.168.77.2:2222$B 2>&1); rc=$?
ok $rc "migrate w from A to B over ssh"
echo "$out" | sed 's/^/# /'
is "$(state_b w)" RUNNING "w runs on B"
[ ! -d "$A/instances/w" ]; ok $? "w is gone from A"
wait_for "[ \"\$(counter_b)\" -ge $((c0 + 5)) ]"; ok $? "the counter continues on B from $c0"
is "$(hb exec w -- ip -4 -o addr show eth0 | awk '{print $4}')" "$addr" "w keeps its address on B"
hb exec w -- ping -c1 -W2 10.213.0.1 >/dev/null 2>&1; ok $? "w reaches its gateway on B's bridge"

# ---- and back -----------------------------------------------------------------
c0=$(counter_b)
out=$(hb migrate --format json w ssh://root@192.168.77.1:2222$A 2>&1); ok $? "migrate w back from B to A"
is "$(echo "$out" | jq -r .ok)" true "json report says ok"
is "$(state_a w)" RUNNING "w runs on A again"
[ ! -d "$B/instances/w" ]; ok $? "and is gone from B"
wait_for "[ \"\$(counter_a)\" -ge $((c0 + 3)) ]"; ok $? "the counter continues on A"

done_testing
