#!/bin/bash
# Rootless networking helpers (pasta, slirp4netns) started through the
# library, each for an instance namespace given by PID and by path.  All of
# it runs inside a test "host" namespace H (its loopback is where ports are
# published), never in the machine's own.
# This runs as root: /dev/net/tun is 0600 on this machine kind, so an
# unprivileged helper could not open it; the helpers' root code paths
# (--runas, namespace fd) are exercised instead.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$TOP/build}
TOOL="$BUILD/tests/unit/test_netns"

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $*"; }
check() {
	local d=$1 out; shift
	if out=$("$@" 2>&1); then ok "$d"; else nok "$d"; sed 's/^/#   /' <<<"$out"; fi
}
skip_all() { echo "1..0 # SKIP $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip_all "needs root for network namespaces"
[ -x "$TOOL" ] || { echo "Bail out! $TOOL not built"; exit 1; }
command -v socat >/dev/null || { echo "Bail out! socat not installed (scripts/install-deps --test installs it)"; exit 1; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

tag=$$
H=hgr-h-$tag
WORK=$(mktemp -d /tmp/hangar-netns-rl.XXXXXX)
pids=()
nsnames=()
cleanup() {
	exec 2>/dev/null # no job-control chatter about the servers we kill
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	for ns in "${nsnames[@]}" $H; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$WORK" "/etc/netns/$H"
	# the parent only when this test made it (and nobody else uses it)
	[ "$made_etc_netns" = yes ] && rmdir /etc/netns
}
made_etc_netns=no
trap cleanup EXIT

ip netns add "$H" || skip_all "ip netns add failed"
nsnames+=("$H")
# pasta copies the host side's address and route: give H an uplink that
# leads nowhere (a veth whose peer stays in H)
ip -n "$H" link set lo up
ip -n "$H" link add up0 type veth peer name up1
ip -n "$H" addr add 198.18.9.1/24 dev up0
ip -n "$H" link set up0 up
ip -n "$H" link set up1 up
ip -n "$H" route add default via 198.18.9.254
# a client "elsewhere": its own namespace C, on a second link into H
C=hgr-c-$tag
ip netns add "$C" || skip_all "ip netns add failed"
nsnames+=("$C")
ip -n "$C" link set lo up
ip -n "$H" link add cl0 type veth peer name cl1 netns "$C"
ip -n "$H" addr add 198.18.10.1/24 dev cl0
ip -n "$H" link set cl0 up
ip -n "$C" addr add 198.18.10.2/24 dev cl1
ip -n "$C" link set cl1 up

# Servers in C for the instance's outbound traffic, and a "nameserver": ip
# netns exec bind-mounts /etc/netns/H/resolv.conf over /etc/resolv.conf, so
# the helpers started in H take C for the host's resolver.
made_etc_netns=no
[ -d /etc/netns ] || made_etc_netns=yes
mkdir -p "/etc/netns/$H"
echo "nameserver 198.18.10.2" >"/etc/netns/$H/resolv.conf"
ip netns exec "$C" socat TCP-LISTEN:9500,reuseaddr,fork SYSTEM:'echo hello-from-c' &
pids+=($!)
ip netns exec "$C" socat UDP-RECVFROM:53,reuseaddr,fork SYSTEM:'read -r x; echo dns-from-c' &
pids+=($!)
for _ in $(seq 100); do ip netns exec "$C" ss -lnt | grep -q ':9500 ' && ip netns exec "$C" ss -lnu | grep -q ':53 ' && break; sleep 0.05; done

h_ns=$(ip netns exec "$H" readlink /proc/self/ns/net)
port=18100
run_case() { # helper, pid|path
	local helper=$1 mode=$2 target enter nsname spid
	port=$((port + 1))
	if [ "$mode" = pid ]; then
		ip netns exec "$H" unshare -n sleep 600 &
		spid=$!
		pids+=("$spid")
		# first ip netns exec moves it into H, then unshare into its own
		for _ in $(seq 100); do
			local cur
			cur=$(readlink /proc/$spid/ns/net)
			[ -n "$cur" ] && [ "$cur" != "$(readlink /proc/self/ns/net)" ] && [ "$cur" != "$h_ns" ] && break
			sleep 0.05
		done
		target=$spid
		enter="nsenter -t $spid -n"
	else
		nsname=hgr-$helper-$tag
		ip netns add "$nsname"
		nsnames+=("$nsname")
		target="0 --netns /run/netns/$nsname"
		enter="ip netns exec $nsname"
	fi
	local out=$WORK/$helper-$mode.out
	# pid mode: a runtime dir of the caller's; path mode: none, so the
	# library makes a temporary one in XDG_RUNTIME_DIR, which must go again
	local xdg=$WORK/xdg-$helper-$mode rdir=()
	mkdir -p "$xdg"
	[ "$mode" = pid ] && rdir=(--runtime-dir "$WORK/$helper-$mode")
	# shellcheck disable=SC2086
	ip netns exec "$H" env XDG_RUNTIME_DIR="$xdg" "$TOOL" tool rootless $target --helper "$helper" \
		--port $port:80 --port $port:53/udp "${rdir[@]}" >"$out" 2>&1 &
	local tpid=$!
	pids+=("$tpid")
	for _ in $(seq 200); do grep -q '^helper_pid=\|^error' "$out" && break; sleep 0.05; done
	local hpid
	hpid=$(sed -n 's/^helper_pid=//p' "$out")
	if [ -z "$hpid" ]; then
		nok "$helper ($mode): helper started"
		sed 's/^/#   /' "$out"
		return
	fi
	ok "$helper ($mode): helper started, pid $hpid is our child"
	if [ "$mode" = path ]; then
		check "$helper ($mode): no temporary directory left in XDG_RUNTIME_DIR ($(ls "$xdg"))" \
			bash -c "[ -z \"\$(ls -A $xdg)\" ]"
	else
		check "$helper ($mode): the caller's runtime dir keeps the helper's log" \
			bash -c "ls $WORK/$helper-$mode | grep -q '\.log$'"
	fi
	check "$helper ($mode): namespace has a configured uplink" \
		bash -c "$enter ip -4 -o addr show scope global | grep -q inet"
	check "$helper ($mode): default route inside" bash -c "$enter ip route show default | grep -q default"
	$enter socat TCP-LISTEN:80,reuseaddr,fork SYSTEM:'echo hello-tcp' &
	pids+=($!)
	$enter socat UDP-RECVFROM:53,reuseaddr,fork SYSTEM:'read -r x; echo hello-udp' &
	pids+=($!)
	for _ in $(seq 100); do $enter ss -lnt | grep -q ':80 ' && $enter ss -lnu | grep -q ':53 ' && break; sleep 0.05; done
	local got
	got=$(ip netns exec "$H" socat -t3 -T3 - TCP:127.0.0.1:$port </dev/null 2>&1)
	check "$helper ($mode): published TCP port $port answers ($got)" [ "$got" = hello-tcp ]
	got=$(ip netns exec "$H" socat -t3 -T3 - TCP:198.18.9.1:$port </dev/null 2>&1)
	check "$helper ($mode): published TCP port answers on the uplink address ($got)" [ "$got" = hello-tcp ]
	# UDP from the host itself gets no reply with Debian 12's libslirp 4.7
	# through 127.0.0.1, nor with pasta (its replies to the host's own
	# address stay in the namespace, which pasta gave the same address;
	# only --map-gw, which would open the host's loopback, maps them): a
	# client elsewhere is answered
	got=$(echo ping | ip netns exec "$C" socat -t3 -T3 - UDP:198.18.10.1:$port 2>&1)
	check "$helper ($mode): published UDP port $port answers a client elsewhere ($got)" [ "$got" = hello-udp ]
	got=$($enter socat -t3 -T3 - TCP:198.18.10.2:9500 </dev/null 2>&1)
	# (with pasta the reply arrived more than once in a test run: only its
	# arrival is checked)
	check "$helper ($mode): outbound TCP from inside reaches a server elsewhere ($(head -1 <<<"$got"))" grep -qx hello-from-c <<<"$got"
	local dns=10.0.2.3
	[ "$helper" = pasta ] && dns=169.254.1.1
	got=$(echo query | $enter socat -t3 -T3 - UDP:$dns:53 2>&1)
	check "$helper ($mode): the helper's DNS address $dns reaches the host's nameserver ($got)" [ "$got" = dns-from-c ]
	kill "$tpid"
	wait "$tpid" 2>/dev/null
	for _ in $(seq 100); do [ -d /proc/$hpid ] || break; sleep 0.05; done
	check "$helper ($mode): helper ends with its owner" bash -c "[ ! -d /proc/$hpid ]"
}

for helper in slirp4netns pasta; do
	bin=$helper
	if ! command -v "$bin" >/dev/null; then
		nok "$helper not installed (scripts/install-deps --test installs slirp4netns and passt)"
		continue
	fi
	run_case "$helper" pid
	run_case "$helper" path
done

err=$(ip netns exec "$H" env PATH=/nonexistent "$TOOL" tool rootless $$ 2>&1)
check "no helper installed: clear error ($err)" grep -q "needs pasta (package passt) or slirp4netns" <<<"$err"
err=$(ip netns exec "$H" env PATH=/nonexistent "$TOOL" tool rootless $$ --helper slirp4netns 2>&1)
check "asked-for helper missing: names the package ($err)" grep -q "install package slirp4netns" <<<"$err"
err=$(ip netns exec "$H" "$TOOL" tool rootless 999999999 --helper slirp4netns 2>&1)
check "target that does not exist: clear error ($err)" grep -q "network namespace /proc/999999999/ns/net" <<<"$err"

echo "1..$n"
