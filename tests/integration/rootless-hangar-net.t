#!/bin/bash
# Rootless hangar instances with networking: `--network pasta|slirp4netns`
# (or `bridge`, which picks pasta, else slirp4netns) makes the monitor start
# that helper for the init's network namespace, with the published ports.
# A server in the instance is reached from the host's loopback on the
# published port; stop, destroy and a killed monitor leave no helper; a
# missing helper is one line of error and leaves nothing.
# Only the host's loopback is used.  /dev/net/tun is 0600 on this machine
# kind: as in rootless-net.t the test then runs in a private mount namespace
# with a 0666 node bind-mounted over /dev/net/tun.
if [ -z "${RL_NET_PRIVATE_TUN:-}" ] && [ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] &&
	! runuser -u nobody -- test -r /dev/net/tun -a -w /dev/net/tun 2>/dev/null; then
	d=$(mktemp -d /tmp/hangar-rl-tun.XXXXXX)
	unshare -m --propagation private env RL_NET_PRIVATE_TUN=1 bash -c '
		mount -t tmpfs -o mode=0755 tmpfs "$1" && mknod -m 0666 "$1/tun" c 10 200 &&
			mount --bind "$1/tun" /dev/net/tun || { echo "1..0 # SKIP cannot give the test a 0666 /dev/net/tun"; exit 77; }
		exec bash "$0"' "$0" "$d"
	rc=$?
	rmdir "$d"
	exit $rc
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootless-lib.sh"
[ -x "$HANGAR" ] || { echo "Bail out! $HANGAR not built"; exit 1; }
command -v pasta >/dev/null || command -v slirp4netns >/dev/null || { echo "Bail out! neither pasta nor slirp4netns installed (scripts/install-deps --test installs both)"; exit 1; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"
command -v socat >/dev/null || { echo "Bail out! socat not installed (scripts/install-deps --test installs it)"; exit 1; }

rl_make_user A ranges || { echo "Bail out! cannot create a test user"; exit 1; }
rl_as "$A" test -r /dev/net/tun -a -w /dev/net/tun ||
	skip_all "/dev/net/tun is $(stat -c '%a %U' /dev/net/tun): an unprivileged pasta/slirp4netns cannot open it here"
HOME_A=$(getent passwd "$A" | cut -d: -f6)
UH() { (cd "$HOME_A" && rl_as "$A" "$HANGAR" "$@"); }
at_exit 'for n in $(UH list 2>/dev/null | awk "NR > 1 {print \$1}"); do UH destroy --force "$n" >/dev/null 2>&1; done'

# helpers running as A (pasta renames itself "passt"/"pasta": match both)
helpers_of_a() { ps -u "$A" -o pid=,comm= | awk '$2 ~ /^(pasta|passt|slirp4netns)/ {print $1}'; }
store_snapshot() { ls -A "$HOME_A/.local/share/hangar/instances" "$TEST_TMP/xdg-$A/hangar/instances" 2>/dev/null | grep -v '^\.\|lock$\|:$\|^$'; }

SERVER='busybox nc -ll -p 8080 -e echo hello-from-instance'
for helper in pasta slirp4netns; do
	command -v $helper >/dev/null || { fail "$helper not installed (scripts/install-deps --test installs slirp4netns and passt)"; continue; }
	port=$((18900 + RANDOM % 500))
	n=w-$helper
	out=$(UH create $n --network $helper --publish 127.0.0.1:$port:8080 -- sh -c "$SERVER" 2>&1 </dev/null)
	ok $? "$helper: create --network $helper --publish 127.0.0.1:$port:8080 as $A ($out)"
	out=$(UH start $n 2>&1 </dev/null)
	ok $? "$helper: start ($out)"
	hp=$(helpers_of_a)
	[ -n "$hp" ]
	ok $? "$helper: the monitor started a helper ($hp)"
	rec=$TEST_TMP/xdg-$A/hangar/instances/$n/net-helper.json
	is "$(jq -r .pid "$rec" 2>&1)" "$hp" "$helper: its pid is recorded in the run dir"
	wait_for "socat -t2 -T2 - TCP:127.0.0.1:$port </dev/null 2>/dev/null | grep -q hello-from-instance" 50
	got=$(socat -t3 -T3 - TCP:127.0.0.1:$port </dev/null 2>&1)
	is "$got" hello-from-instance "$helper: the host's loopback reaches the instance's server on port $port"
	# /etc files for DNS under the helper (the image's own resolv.conf is empty)
	dns=10.0.2.3
	[ $helper = pasta ] && dns=169.254.1.1
	got=$(UH exec $n -- cat /etc/resolv.conf 2>&1 </dev/null)
	like "$got" "nameserver $dns" "$helper: /etc/resolv.conf inside names the helper's DNS address $dns ($(echo $got | tr '\n' ' '))"
	got=$(UH exec $n -- cat /etc/hosts 2>&1 </dev/null)
	like "$got" "127.0.0.1[[:space:]]+localhost" "$helper: /etc/hosts inside has localhost"
	like "$got" "$n" "$helper: and the instance's hostname"
	# published on 127.0.0.1 only: nothing listens on the machine's real interfaces
	is "$(ss -Hlnt "sport = :$port" | awk '{print $4}' | sort -u | tr '\n' ' ')" "127.0.0.1:$port " "$helper: port $port listens on 127.0.0.1 only"
	UH stop -t 1 $n >/dev/null 2>&1
	ok $? "$helper: stop"
	is "$(helpers_of_a)" "" "$helper: no helper left after stop"
	[ ! -e "$rec" ]
	ok $? "$helper: no helper record left after stop"
	! socat -t1 -T1 - TCP:127.0.0.1:$port </dev/null >/dev/null 2>&1
	ok $? "$helper: port $port is closed again"
	# A killed monitor: destroy must not leave its helper running.
	UH start $n >/dev/null 2>&1 </dev/null
	mon=$(jq -r .pid "$TEST_TMP/xdg-$A/hangar/instances/$n/monitor.json" 2>/dev/null)
	[ -n "$mon" ] && [ -n "$(helpers_of_a)" ]
	ok $? "$helper: started again (monitor $mon, helper $(helpers_of_a | tr '\n' ' '))"
	# A stopped helper outlives the SIGTERM of its parent's death: only
	# the record in the run dir can find it then.  It must really be
	# stopped before the monitor dies: with SIGSTOP and the death's
	# SIGTERM both pending, the lower-numbered SIGTERM is taken first
	# and ends it (seen on a loaded CI machine).
	hp=$(helpers_of_a)
	[ -n "$hp" ] && kill -STOP $hp
	[ -n "$hp" ] && wait_for "[ \"\$(awk '{print \$3}' /proc/$hp/stat 2>/dev/null)\" = T ]" 50
	[ -n "$mon" ] && kill -KILL "$mon"
	sleep 0.3
	[ -n "$hp" ] && [ "$(helpers_of_a)" = "$hp" ]
	ok $? "$helper: the stopped helper $hp survives its monitor"
	out=$(UH destroy --force $n 2>&1)
	ok $? "$helper: destroy --force after the monitor was killed ($out)"
	wait_for '[ -z "$(helpers_of_a)" ]' 50
	is "$(helpers_of_a)" "" "$helper: no helper left after destroy"
done

# `bridge` as a user picks a helper and records which.
UH create b1 --network bridge -- true >/dev/null 2>&1 </dev/null
ok $? "create --network bridge as $A"
like "$(jq -r .network "$HOME_A/.local/share/hangar/instances/b1/instance.json" 2>&1)" '^(pasta|slirp4netns)$' \
	"bridge is recorded as the helper it picked"

# No helper in PATH: one line, nothing made.
NOPATH=$TEST_TMP/nopath
mkdir -p "$NOPATH"
# newuidmap/newgidmap stay: the instances map $A's subordinate ranges.
for t in sh true sleep newuidmap newgidmap; do ln -sf "$(command -v $t)" "$NOPATH/$t"; done
before=$(store_snapshot)
out=$(cd "$HOME_A" && RL_ENV="PATH=$NOPATH" rl_as "$A" "$HANGAR" create nohelper --network bridge -- true 2>&1 >/dev/null </dev/null)
rc=$?
[ $rc != 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ "$out" == *"needs pasta"*"slirp4netns"* ]]
ok $? "create without pasta/slirp4netns in PATH: exit $rc, '$out'"
is "$(store_snapshot)" "$before" "it leaves nothing in the store"
# The helper went missing between create and start.
UH create late --network pasta -- sleep 100 >/dev/null 2>&1 </dev/null
out=$(cd "$HOME_A" && RL_ENV="PATH=$NOPATH" rl_as "$A" "$HANGAR" start late 2>&1 >/dev/null </dev/null)
rc=$?
[ $rc != 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ "$out" == *"pasta not found"* ]]
ok $? "start without the helper in PATH: exit $rc, '$out'"
like "$(UH list 2>&1)" "late +STOPPED" "the instance stays stopped"
[ ! -e "$TEST_TMP/xdg-$A/hangar/instances/late" ] && [ -z "$(helpers_of_a)" ] &&
	[ -z "$(ps -u "$A" -o comm= | grep -v '^ps$')" ]
ok $? "and leaves no run dir and no process of $A"
UH destroy late >/dev/null 2>&1
UH destroy b1 >/dev/null 2>&1
is "$(store_snapshot)" "" "nothing of the instances is left in $A's store"

done_testing
