#!/bin/bash
# Rootless networking as an unprivileged user: a rootless container with its
# own network namespace, the library's helper (pasta, else slirp4netns;
# netns/rootless.c, what the manager uses) started by the same user for it.
# A TCP server in the container is reached from the host's loopback through
# a published port; with pasta the container reaches a TCP server on the
# host's loopback through the gateway address, with slirp4netns it does not
# (--disable-host-loopback).
# The helper opens /dev/net/tun; distributions make it 0666 (udev), this
# machine kind has 0600, where no unprivileged helper can open it.  Then the
# test runs in a private mount namespace with a 0666 node bind-mounted over
# /dev/net/tun, so the unprivileged path is exercised without changing the
# machine; it skips only when that is impossible too.
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
TOOL=$BUILD/tests/unit/test_netns
[ -x "$TOOL" ] || { echo "Bail out! $TOOL not built"; exit 1; }
command -v pasta >/dev/null || command -v slirp4netns >/dev/null || { echo "Bail out! neither pasta nor slirp4netns installed (scripts/install-deps --test installs both)"; exit 1; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"
command -v socat >/dev/null || { echo "Bail out! socat not installed (scripts/install-deps --test installs it)"; exit 1; }

rl_make_user A ranges || { echo "Bail out! cannot create a test user"; exit 1; }
if ! rl_as "$A" test -r /dev/net/tun -a -w /dev/net/tun; then
	skip_all "/dev/net/tun is $(stat -c '%a %U' /dev/net/tun): an unprivileged pasta/slirp4netns cannot open it here"
fi

B=$TEST_TMP/b1
rl_bundle "$A" "$B" sh -c 'busybox nc -ll -p 8080 -e echo hello-from-container & sleep 600'
cfg_edit "$B" '.linux.namespaces += [{"type": "network"}]'
chown "$A:" "$B/config.json"
rl_oci "$A" run -d --bundle "$B" n1 </dev/null >/dev/null 2>&1
ok $? "a rootless container with its own network namespace"
pid=$(rl_oci "$A" state n1 | jq -r .pid)

for helper in pasta slirp4netns; do
	command -v $helper >/dev/null || { fail "$helper not installed (scripts/install-deps --test installs slirp4netns and passt)"; continue; }
	port=$((18300 + RANDOM % 500))
	out=$TEST_TMP/$helper.out
	rl_as "$A" "$TOOL" tool rootless "$pid" --helper $helper --port 127.0.0.1:$port:8080 \
		--runtime-dir "$TEST_TMP/xdg-$A/net-$helper" >"$out" 2>&1 &
	tool=$!
	at_exit "kill $tool"
	wait_for "grep -q '^helper_pid=\|^error\|rror' $out" 100
	hpid=$(sed -n 's/^helper_pid=//p' "$out")
	[ -n "$hpid" ]
	ok $? "$helper started by $A for the container ($(tr '\n' ' ' <"$out"))"
	[ -n "$hpid" ] && is "$(stat -c %U "/proc/$hpid")" "$A" "$helper runs as $A"
	got=$(socat -t3 -T3 - TCP:127.0.0.1:$port </dev/null 2>&1)
	is "$got" hello-from-container "$helper: the host's loopback reaches the container's server through port $port"
	# published on 127.0.0.1 only: nothing listens on the machine's real interfaces
	is "$(ss -Hlnt "sport = :$port" | awk '{print $4}' | sort -u | tr '\n' ' ')" "127.0.0.1:$port " "$helper: port $port listens on 127.0.0.1 only"
	# Outbound to the host's loopback: out of reach with either helper.
	# pasta would map its gateway address there (it gets --no-map-gw),
	# slirp4netns its 10.0.2.2 (it gets --disable-host-loopback).
	hport=$((port + 600))
	socat TCP-LISTEN:$hport,bind=127.0.0.1,reuseaddr,fork SYSTEM:'echo host-loopback-server' &
	srv=$!
	at_exit "kill $srv"
	wait_for "ss -lnt | grep -q '127.0.0.1:$hport '"
	gw=$(rl_oci "$A" exec n1 sh -c "ip route 2>/dev/null | awk '/^default/ {print \$3; exit}'")
	if [ $helper = pasta ]; then alias=$gw; else alias=10.0.2.2; fi
	got=$(rl_oci "$A" exec n1 busybox timeout 3 busybox nc "$alias" "$hport" </dev/null 2>&1)
	[[ "$got" != *host-loopback-server* ]]
	ok $? "$helper: the host's loopback is out of reach through $alias ($got)"
	# ... while the same server is there for the host itself
	got=$(socat -t3 -T3 - TCP:127.0.0.1:$hport </dev/null 2>&1)
	like "$got" "^host-loopback-server" "$helper: the host's loopback server answers the host"
	got=$(rl_oci "$A" exec n1 busybox timeout 3 busybox nc 127.0.0.1 $hport </dev/null 2>&1)
	[[ "$got" != *host-loopback-server* ]]
	ok $? "$helper: the container's own 127.0.0.1 is its own loopback, not the host's"
	kill "$srv" "$tool" 2>/dev/null
	wait "$tool" 2>/dev/null
done
rl_oci "$A" delete --force n1

done_testing
