#!/bin/bash
# Bridge networking end to end, entirely inside network namespaces this
# script creates:
#   H  the "host": bridge, NAT table, forwarding (the library runs here)
#   C  a client/server on the far side of a veth to H (198.18.x = RFC 2544)
#   I1, I2, I3  instance namespaces (I2 is held by a sleeping process)
#   I4  an instance that tries to reach the host's loopback (CVE-2020-8558)
#   I5  an instance on a pre-made bridge with its own MTU (which survives
#       the network's removal)
# The machine's own interfaces, routes and sysctls are never touched.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$TOP/build}
TOOL="$BUILD/tests/unit/test_netns"

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; }
check() { # description, command...; the command's output shows only on failure
	local d=$1 out; shift
	if out=$("$@" 2>&1); then ok "$d"; else nok "$d"; sed 's/^/#   /' <<<"$out"; fi
}
skip_all() { echo "1..0 # SKIP $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip_all "needs root for network namespaces"
[ -x "$TOOL" ] || { echo "Bail out! $TOOL not built"; exit 1; }
command -v socat >/dev/null || { echo "Bail out! socat not installed (scripts/install-deps --test)"; exit 1; }
command -v ip >/dev/null || { echo "Bail out! iproute2 not installed (scripts/install-deps --test installs it)"; exit 1; }

tag=$$
H=hgt-h-$tag C=hgt-c-$tag I1=hgt-i1-$tag I2=hgt-i2-$tag I3=hgt-i3-$tag I4=hgt-i4-$tag I5=hgt-i5-$tag
STATE=$(mktemp -d /tmp/hangar-netns-t.XXXXXX)
pids=()
cleanup() {
	exec 2>/dev/null # no job-control chatter about the servers we kill
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	for ns in $H $C $I1 $I2 $I3 $I4 $I5; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$STATE"
}
trap cleanup EXIT

inH() { ip netns exec "$H" "$@"; }
tool() { inH "$TOOL" tool "$@"; }

host_forward_before=$(cat /proc/sys/net/ipv4/ip_forward)
host_forward6_before=$(cat /proc/sys/net/ipv6/conf/all/forwarding)

for ns in $H $C $I1 $I3 $I4 $I5; do ip netns add "$ns" || skip_all "ip netns add failed"; done
# kernel features the test needs, probed inside the test's own namespace
ip -n "$H" link add hgprobe0 type veth peer name hgprobe1 2>/dev/null || skip_all "kernel lacks veth"
ip -n "$H" link del hgprobe0
ip -n "$H" link add hgprobe0 type bridge 2>/dev/null || skip_all "kernel lacks bridge support"
ip -n "$H" link del hgprobe0
ip netns exec "$H" nft add table inet hgprobe 2>/dev/null || skip_all "kernel lacks nf_tables"
ip netns exec "$H" nft delete table inet hgprobe
ip -n "$H" link set lo up
ip -n "$C" link set lo up
ip -n "$H" link add vh type veth peer name vc netns "$C"
ip -n "$H" addr add 198.18.7.1/24 dev vh
ip -n "$C" addr add 198.18.7.2/24 dev vc
ip -n "$H" addr add 2001:db8:7::1/64 dev vh nodad
ip -n "$C" addr add 2001:db8:7::2/64 dev vc nodad
ip -n "$H" link set vh up
ip -n "$C" link set vc up

# I2: a namespace kept alive only by a process, reached as /proc/PID/ns/net
unshare -n sleep 600 &
I2PID=$!
pids+=("$I2PID")
for _ in $(seq 50); do
	[ "$(readlink /proc/$I2PID/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break
	sleep 0.05
done

# an "uplink" configured by router advertisements must keep accepting them
ip -n "$H" link add ra0 type veth peer name ra1
ip netns exec "$H" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/ra0/accept_ra; echo 0 >/proc/sys/net/ipv6/conf/ra1/accept_ra'

check "create network" tool create "$STATE" tnet --bridge hgtbr0 --subnet4 10.213.0.0/24

out=$(tool attach "$STATE" tnet inst1 /run/netns/$I1 --port 8080:80 --port 5353:53/udp --port 127.0.0.1:8090:80 --port '[2001:db8:7::1]:8092:80' 2>&1)
check "attach inst1 with published ports" grep -q '^ipv4=10.213.0.2/24$' <<<"$out"
out2=$(tool attach "$STATE" tnet inst2 /proc/$I2PID/ns/net --owner $I2PID --port 8081:81 2>&1)
check "attach inst2 through /proc/PID/ns/net" grep -q '^ipv4=10.213.0.3/24$' <<<"$out2"
host_if1=$(sed -n 's/^host_ifname=//p' <<<"$out")

check "inst1 has eth0 with its address" bash -c "ip -n $I1 -br addr show eth0 | grep -q 10.213.0.2/24"
check "inst1 loopback is up" bash -c "ip -n $I1 link show lo | grep -q 'UP'"
check "inst1 default route via the gateway" bash -c "ip -n $I1 route show default | grep -q 'via 10.213.0.1 dev eth0'"
check "inst1 IPv6 default route" bash -c "ip -n $I1 -6 route show default | grep -q 'via fd68:616e:6761::1'"
check "host end $host_if1 is enslaved to the bridge" bash -c "ip -n $H link show $host_if1 | grep -q 'master hgtbr0'"
check "no eth0 on the host side" bash -c "! ip -n $H link show eth0 2>/dev/null"
check "forwarding enabled in the test host namespace" bash -c "[ \$(ip netns exec $H cat /proc/sys/net/ipv4/ip_forward) = 1 ]"
check "IPv6 forwarding enabled in the test host namespace" bash -c "[ \$(ip netns exec $H cat /proc/sys/net/ipv6/conf/all/forwarding) = 1 ]"
check "an interface taking RAs keeps taking them (accept_ra 1 -> 2)" bash -c "[ \$(ip netns exec $H cat /proc/sys/net/ipv6/conf/ra0/accept_ra) = 2 ]"
check "an interface ignoring RAs is left alone" bash -c "[ \$(ip netns exec $H cat /proc/sys/net/ipv6/conf/ra1/accept_ra) = 0 ]"
check "the machine's own ip_forward is untouched" bash -c "[ \$(cat /proc/sys/net/ipv4/ip_forward) = $host_forward_before ]"
check "the machine's own IPv6 forwarding is untouched" bash -c "[ \$(cat /proc/sys/net/ipv6/conf/all/forwarding) = $host_forward6_before ]"

check "inst1 pings inst2 over the bridge" ip netns exec "$I1" busybox ping -c1 -W3 10.213.0.3
check "inst1 pings inst2 over IPv6" ip netns exec "$I1" busybox ping -c1 -W3 fd68:616e:6761::3
check "inst2 pings the gateway" nsenter -t "$I2PID" -n busybox ping -c1 -W3 10.213.0.1

# Outbound NAT: the server in C sees the host namespace's address.
ip netns exec "$C" socat TCP-LISTEN:9000,reuseaddr,fork SYSTEM:'echo peer=$SOCAT_PEERADDR' &
pids+=($!)
ip netns exec "$C" socat TCP6-LISTEN:9001,reuseaddr,fork SYSTEM:'echo peer=$SOCAT_PEERADDR' &
pids+=($!)
# Published ports: servers inside inst1.
ip netns exec "$I1" socat TCP6-LISTEN:80,ipv6only=0,reuseaddr,fork SYSTEM:'echo hello-tcp' &
pids+=($!)
ip netns exec "$I1" socat UDP-RECVFROM:53,reuseaddr,fork SYSTEM:'read -r x; echo hello-udp' &
pids+=($!)
nsenter -t "$I2PID" -n socat TCP-LISTEN:81,reuseaddr,fork SYSTEM:'echo hello-inst2' &
pids+=($!)
wait_listen() { # netns, ss flags, port
	for _ in $(seq 100); do
		ip netns exec "$1" ss "$2" | grep -q ":$3 " && return 0
		sleep 0.05
	done
	return 1
}
wait_listen "$C" -lnt 9000; wait_listen "$C" -lnt 9001; wait_listen "$I1" -lnt 80; wait_listen "$I1" -lnu 53
for _ in $(seq 100); do nsenter -t "$I2PID" -n ss -lnt | grep -q ':81 ' && break; sleep 0.05; done

peer=$(ip netns exec "$I1" socat -t3 -T3 - TCP:198.18.7.2:9000 </dev/null 2>&1)
check "outbound NAT: server sees the host address ($peer)" [ "$peer" = "peer=198.18.7.1" ]
got=$(ip netns exec "$C" socat -t3 -T3 - TCP:198.18.7.1:8080 </dev/null 2>&1)
check "client reaches published TCP port 8080 ($got)" [ "$got" = hello-tcp ]
peer=$(ip netns exec "$I1" socat -t3 -T3 - TCP6:[2001:db8:7::2]:9001 </dev/null 2>&1)
check "outbound NAT66: server sees the host address ($peer)" grep -Eq '^peer=\[(2001:db8:7::1|2001:0db8:0007:0000:0000:0000:0000:0001)\]$' <<<"$peer"
got=$(ip netns exec "$C" socat -t3 -T3 - TCP6:[2001:db8:7::1]:8080 </dev/null 2>&1)
check "client reaches published TCP port 8080 over IPv6 ($got)" [ "$got" = hello-tcp ]
got=$(inH socat -t3 -T3 - TCP:127.0.0.1:8090 </dev/null 2>&1)
check "port published on 127.0.0.1 answers there ($got)" [ "$got" = hello-tcp ]
got=$(ip netns exec "$C" socat -t2 -T2 - TCP:198.18.7.1:8090 </dev/null 2>&1)
check "port published on 127.0.0.1 is not reachable from outside" [ "$got" != hello-tcp ]
got=$(ip netns exec "$C" socat -t3 -T3 - TCP6:[2001:db8:7::1]:8092 </dev/null 2>&1)
check "port published on an IPv6 host IP answers there ($got)" [ "$got" = hello-tcp ]
got=$(ip netns exec "$C" socat -t2 -T2 - TCP:198.18.7.1:8092 </dev/null 2>&1)
check "port published on an IPv6 host IP is not published on IPv4" [ "$got" != hello-tcp ]
got=$(ip netns exec "$C" socat -t3 -T3 - TCP:198.18.7.1:8081 </dev/null 2>&1)
check "client reaches inst2's published port 8081 ($got)" [ "$got" = hello-inst2 ]
got=$(echo ping | ip netns exec "$C" socat -t3 -T3 - UDP:198.18.7.1:5353 2>&1)
check "client reaches published UDP port 5353 ($got)" [ "$got" = hello-udp ]
got=$(inH socat -t3 -T3 - TCP:127.0.0.1:8080 </dev/null 2>&1)
check "host-side localhost reaches the published port ($got)" [ "$got" = hello-tcp ]
got=$(inH socat -t3 -T3 - TCP:198.18.7.1:8080 </dev/null 2>&1)
check "host-side own address reaches the published port ($got)" [ "$got" = hello-tcp ]
got=$(nsenter -t "$I2PID" -n socat -t3 -T3 - TCP:198.18.7.1:8080 </dev/null 2>&1)
check "another instance reaches it through the host port (hairpin) ($got)" [ "$got" = hello-tcp ]

# CVE-2020-8558: route_localnet=1 on the bridge (for ports published on
# 127.0.0.1) must not let an instance reach the host's loopback services by
# routing 127.0.0.0/8 via the gateway.  The attacker drops its own loopback
# addresses and accepts 127/8 on eth0, as a root process inside could.
inH socat TCP-LISTEN:9100,bind=127.0.0.1,reuseaddr,fork SYSTEM:'echo host-secret' &
pids+=($!)
wait_listen "$H" -lnt 9100
aim_at_host_loopback() {
	ip -n "$I4" addr flush dev lo &&
	ip netns exec "$I4" sysctl -qw net.ipv4.conf.eth0.route_localnet=1 &&
	ip -n "$I4" route add 127.0.0.0/8 via 10.213.0.1 dev eth0
}
check "attach the attacker" tool attach "$STATE" tnet attacker /run/netns/$I4
check "attacker routes 127.0.0.0/8 via the gateway" aim_at_host_loopback
got=$(ip netns exec "$I4" socat -t2 -T2 - TCP:127.0.0.1:9100,connect-timeout=2 </dev/null 2>&1)
check "an instance cannot reach a server on the host's 127.0.0.1 ($got)" [ "$got" != host-secret ]
got=$(inH socat -t3 -T3 - TCP:127.0.0.1:8090 </dev/null 2>&1)
check "a port published on 127.0.0.1 still answers there ($got)" [ "$got" = hello-tcp ]
# Control: the same attack without the guard chain gets through, so the
# check above can fail.
guard=$(inH nft list table inet hangar | grep -o 'net-tnet-[0-9a-f]*-guard' | head -1)
inH nft flush chain inet hangar "$guard"
got=$(ip netns exec "$I4" socat -t3 -T3 - TCP:127.0.0.1:9100,connect-timeout=2 </dev/null 2>&1)
check "control: without the guard the attack reaches the host's 127.0.0.1 ($got)" [ "$got" = host-secret ]
# The next attach restores the guard (network_setup_host is idempotent).
check "detach the attacker" tool detach "$STATE" tnet attacker
check "re-attach the attacker" tool attach "$STATE" tnet attacker /run/netns/$I4
check "attacker aims at the host's loopback again" aim_at_host_loopback
got=$(ip netns exec "$I4" socat -t2 -T2 - TCP:127.0.0.1:9100,connect-timeout=2 </dev/null 2>&1)
check "the guard is back after the next attach ($got)" [ "$got" != host-secret ]
check "detach the attacker for good" tool detach "$STATE" tnet attacker

# Bad input gives clear errors.
err=$(tool attach "$STATE" tnet inst3 /run/netns/$I3 --port 8080:81 2>&1)
check "port already published: clear error ($err)" grep -q "port 8080/tcp: already published by instance 'inst1'" <<<"$err"
check "failed attach left no lease for inst3" bash -c "! grep -q '\"inst3\"' $STATE/tnet/leases.json"
check "failed attach left no interface in inst3" bash -c "! ip -n $I3 link show eth0 2>/dev/null"
err=$(tool create "$STATE" overlap --subnet4 10.213.0.0/16 --no-ipv6 2>&1)
check "overlapping subnet: clear error ($err)" grep -q "overlaps subnet 10.213.0.0/24 of network 'tnet'" <<<"$err"
err=$(tool create "$STATE" badcidr --subnet4 10.1.2.0/40 --no-ipv6 2>&1)
check "invalid CIDR: clear error ($err)" grep -q "invalid CIDR '10.1.2.0/40'" <<<"$err"
err=$(tool attach "$STATE" tnet inst1 /run/netns/$I3 2>&1)
check "attaching the same instance twice is refused ($err)" grep -q "already attached" <<<"$err"
err=$(tool attach "$STATE" tnet inst3 /run/netns/$I3 --port '[::1]:8095:80' 2>&1)
check "publishing on [::1] is refused ($err)" grep -q "port \[::1\]:8095/tcp: host IP ::1 cannot be forwarded to an instance" <<<"$err"
check "refused [::1] publish left no lease and no interface" bash -c "! grep -q '\"inst3\"' $STATE/tnet/leases.json && ! ip -n $I3 link show eth0 2>/dev/null"
# A port something on the host side already listens on would be taken
# over by the DNAT rule: refused, naming the port.
inH socat TCP-LISTEN:8085,reuseaddr,fork SYSTEM:'echo host-service' &
pids+=($!)
inH socat UDP-RECVFROM:5355,reuseaddr,fork SYSTEM:'echo host-udp' &
pids+=($!)
wait_listen "$H" -lnt 8085; wait_listen "$H" -lnu 5355
err=$(tool attach "$STATE" tnet inst3 /run/netns/$I3 --port 8085:80 2>&1)
check "publishing a port a host TCP socket listens on is refused ($err)" grep -q "port 8085/tcp: a socket on this host already listens on it (0.0.0.0:8085)" <<<"$err"
err=$(tool attach "$STATE" tnet inst3 /run/netns/$I3 --port 5355:53/udp 2>&1)
check "the same for a bound UDP socket ($err)" grep -q "port 5355/udp: a socket on this host already listens on it" <<<"$err"
err=$(tool attach "$STATE" tnet inst3 /run/netns/$I3 --port 192.0.2.99:8087:80 2>&1)
check "a host IP that is not local is refused ($err)" grep -q "port 192.0.2.99:8087: host IP 192.0.2.99 is not an address of this host" <<<"$err"
check "the refusals left no lease, interface or chain" bash -c "! grep -q '\"inst3\"' $STATE/tnet/leases.json && ! ip -n $I3 link show eth0 2>/dev/null && ! ip netns exec $H nft list table inet hangar | grep -q 'dport 808[57]'"
got=$(ip netns exec "$C" socat -t3 -T3 - TCP:198.18.7.1:8085 </dev/null 2>&1)
check "the host's service still answers ($got)" [ "$got" = host-service ]

# A second network: inst1 gets eth1 and keeps its default route on eth0.
check "create a second network with MTU 1400" tool create "$STATE" tnet2 --bridge hgtbr1 --subnet4 10.214.0.0/24 --subnet6 fd68:616e:6762::/64 --mtu 1400
out=$(tool attach "$STATE" tnet2 inst1 /run/netns/$I1 2>&1)
check "second attachment is eth1" grep -q '^ifname=eth1$' <<<"$out"
check "eth1 has the second network's address" bash -c "ip -n $I1 -br addr show eth1 | grep -q 10.214.0.2/24"
check "eth1 has the network's MTU" bash -c "ip -n $I1 link show eth1 | grep -q 'mtu 1400'"
check "the second bridge has it too" bash -c "ip -n $H link show hgtbr1 | grep -q 'mtu 1400'"
check "default route stays on eth0" bash -c "[ \$(ip -n $I1 route show default | wc -l) = 1 ] && ip -n $I1 route show default | grep -q eth0"

# MTU taken from a pre-made bridge when the network sets none.
ip -n "$H" link add hgtbr2 type bridge
ip -n "$H" link set hgtbr2 mtu 1450
check "create a network on a pre-made bridge, no --mtu" tool create "$STATE" tnet3 --bridge hgtbr2 --subnet4 10.215.0.0/24 --no-ipv6
out=$(tool attach "$STATE" tnet3 inst5 /run/netns/$I5 2>&1)
check "attach reports the bridge's MTU ($out)" grep -q '^mtu=1450$' <<<"$out"
check "eth0 inside has the bridge's MTU 1450" bash -c "ip -n $I5 link show eth0 | grep -q 'mtu 1450'"
out=$(tool attachments "$STATE" inst5 2>&1)
check "listed attachments report the real MTU ($out)" grep -q '^mtu=1450$' <<<"$out"
# A host IP of a family the network lacks is refused, not silently dropped.
err=$(tool attach "$STATE" tnet3 inst6 /run/netns/$I3 --port '[2001:db8:7::1]:8094:80' 2>&1)
check "IPv6 host IP on an IPv4-only network is refused ($err)" grep -q "host IP 2001:db8:7::1 is IPv6 but network 'tnet3' has no IPv6 subnet" <<<"$err"
check "create an IPv6-only network" tool create "$STATE" tnet6 --bridge hgtbr3 --no-ipv4 --subnet6 fd68:616e:6763::/64
err=$(tool attach "$STATE" tnet6 inst6 /run/netns/$I3 --port 127.0.0.1:8093:80 2>&1)
check "IPv4 host IP on an IPv6-only network is refused ($err)" grep -q "host IP 127.0.0.1 is IPv4 but network 'tnet6' has no IPv4 subnet" <<<"$err"
check "refused publishes left no lease and no interface" bash -c "! grep -q '\"inst6\"' $STATE/tnet3/leases.json $STATE/tnet6/leases.json 2>/dev/null && ! ip -n $I3 link show eth0 2>/dev/null"
# A second attach finds hangar's gateway on the admin's bridge: that address
# and its connected route are hangar's own, not a collision.
check "second attach to the pre-made bridge (its gateway is hangar's)" tool attach "$STATE" tnet3 inst7 /run/netns/$I3
check "detach inst7" tool detach "$STATE" tnet3 inst7
check "detach inst5" tool detach "$STATE" tnet3 inst5
check "the pre-made bridge has hangar's gateway before the remove" bash -c "ip -n $H -br addr show hgtbr2 | grep -q 10.215.0.1/24"
check "remove tnet3" tool remove "$STATE" tnet3
check "the pre-made bridge survives the remove" ip -n "$H" link show hgtbr2
check "... with its MTU 1450" bash -c "ip -n $H link show hgtbr2 | grep -q 'mtu 1450'"
check "... without hangar's gateway 10.215.0.1" bash -c "! ip -n $H -br addr show hgtbr2 | grep -q 10.215.0.1"
check "... and without its NAT chain" bash -c "! ip netns exec $H nft list table inet hangar | grep -q 'net-tnet3-'"
# A pre-made bridge whose own address lies in the subnet is the admin's
# network, not a free subnet.
ip -n "$H" addr add 10.218.0.5/24 dev hgtbr2
err=$(tool create "$STATE" tnet4 --bridge hgtbr2 --subnet4 10.218.0.0/24 --no-ipv6 2>&1)
check "pre-made bridge with an address in the subnet refused ($err)" grep -q "subnet 10.218.0.0/24 overlaps address 10.218.0.5/24 on interface hgtbr2" <<<"$err"
check "... and nothing stored" test ! -e "$STATE/tnet4"
ip -n "$H" addr del 10.218.0.5/24 dev hgtbr2
# A link that is not a bridge (here the uplink veth) is never taken as one.
err=$(tool create "$STATE" tnet4 --bridge vh --subnet4 10.218.0.0/24 --no-ipv6 2>&1)
check "--bridge naming a veth refused ($err)" grep -q "^.*network 'tnet4': bridge vh: an existing veth link of that name is not a bridge$" <<<"$err"
check "... and nothing stored, the veth intact" bash -c "test ! -e $STATE/tnet4 && ip -n $H -br addr show vh | grep -q 198.18.7.1/24"
check "remove tnet6" tool remove "$STATE" tnet6

# /etc files for the instance.
mkdir -p "$STATE/rootfs/etc"
check "etc files written" tool etc "$STATE" inst1 web1 "$STATE/rootfs"
check "/etc/hosts names both addresses" bash -c "grep -q '^10.213.0.2	web1' $STATE/rootfs/etc/hosts && grep -q '^10.214.0.2	web1' $STATE/rootfs/etc/hosts"
check "/etc/hosts names the host side" grep -Eq '^10.21[34].0.1	host.hangar.internal' "$STATE/rootfs/etc/hosts"
check "/etc/resolv.conf generated" grep -q "generated by hangar" "$STATE/rootfs/etc/resolv.conf"

# Detach inst1 from tnet: its veth, rules and lease go, inst2's stay.
check "detach inst1 from tnet" tool detach "$STATE" tnet inst1
check "detach again is a no-op" tool detach "$STATE" tnet inst1
check "host veth of inst1 removed" bash -c "! ip -n $H link show $host_if1 2>/dev/null"
check "inst1's eth0 removed, eth1 kept" bash -c "! ip -n $I1 link show eth0 2>/dev/null && ip -n $I1 link show eth1 >/dev/null"
check "inst1's NAT chains removed" bash -c "! ip netns exec $H nft list table inet hangar | grep -q $host_if1"
check "network NAT chain kept" bash -c "ip netns exec $H nft list table inet hangar | grep -q 'chain net-tnet-[0-9a-f]*-post'"
check "inst1 lease released" bash -c "! grep -q '\"inst1\"' $STATE/tnet/leases.json"
got=$(ip netns exec "$C" socat -t2 -T2 - TCP:198.18.7.1:8080 </dev/null 2>&1)
check "published port no longer answers" [ "$got" != hello-tcp ]
check "inst2 still reachable" ip netns exec "$H" busybox ping -c1 -W3 10.213.0.3
got=$(ip netns exec "$C" socat -t3 -T3 - TCP:198.18.7.1:8081 </dev/null 2>&1)
check "inst2's published port still answers after inst1's detach ($got)" [ "$got" = hello-inst2 ]
check "inst2's NAT chains kept" bash -c "ip netns exec $H nft list table inet hangar | grep -q 'dport 8081'"
err=$(tool attach "$STATE" tnet inst3 /run/netns/$I3 --ip 10.213.0.3 2>&1)
check "a static address already leased is refused ($err)" grep -q "10.213.0.3: already leased to instance 'inst2'" <<<"$err"
out=$(tool attach "$STATE" tnet inst3 /run/netns/$I3 --port 8080:80 --ip 10.213.0.50 2>&1)
check "port 8080 can be published again, with a static address" grep -q '^ipv4=10.213.0.50/24$' <<<"$out"
check "the static address is configured" bash -c "ip -n $I3 -br addr show eth0 | grep -q 10.213.0.50/24"

# The address moves to another namespace (a restore or migration): the
# attach announces it, so the host side's neighbour entry follows at once.
inH busybox ping -c1 -W3 10.213.0.50 >/dev/null 2>&1
old_mac=$(ip -n "$I3" link show eth0 | awk '/link\/ether/ {print $2}')
check "host side learned inst3's MAC" bash -c "ip -n $H neigh show 10.213.0.50 | grep -q $old_mac"
check "detach inst3" tool detach "$STATE" tnet inst3
check "inst1 takes over 10.213.0.50" tool attach "$STATE" tnet inst1 /run/netns/$I1 --ip 10.213.0.50 --ifname eth0
new_mac=$(ip -n "$I1" link show eth0 | awk '/link\/ether/ {print $2}')
for _ in $(seq 40); do ip -n "$H" neigh show 10.213.0.50 | grep -q "$new_mac" && break; sleep 0.05; done
check "the gratuitous ARP moved the host's entry to the new MAC without traffic" \
	bash -c "ip -n $H neigh show 10.213.0.50 | grep -q $new_mac"
check "detach inst1 again" tool detach "$STATE" tnet inst1

# 'none' and 'host' pseudo networks.
ip netns add "$I1-n" 2>/dev/null
check "attach to none" tool attach "$STATE" none inst9 /run/netns/$I1-n
check "none: loopback up, nothing else" bash -c "ip -n $I1-n link show lo | grep -q UP && [ \$(ip -n $I1-n -o link | wc -l) = 1 ]"
ip netns del "$I1-n"
check "attach to host does nothing" tool attach "$STATE" host inst9 /run/netns/$I3

check "removing a network in use is refused" bash -c "! ip netns exec $H $TOOL tool remove $STATE tnet 2>/dev/null"
check "detach-all" tool detach-all "$STATE" inst1
check "remove tnet2 once empty" tool remove "$STATE" tnet2
check "its bridge is gone" bash -c "! ip -n $H link show hgtbr1 2>/dev/null"

echo "1..$n"
