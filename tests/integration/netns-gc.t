#!/bin/bash
# network_gc and crash leftovers, inside namespaces this script creates:
#  - an attach killed with SIGKILL mid-way (after the veth was made, before
#    the lease was bound) leaves no veth, lease or NAT chain after gc
#  - an instance whose owner process died, or whose namespace died, is
#    cleaned up; a live instance and a running attach are left alone
#  - 20 concurrent attaches never share an address
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$TOP/build}
TOOL="$BUILD/tests/unit/test_netns"

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; }
check() {
	local d=$1 out; shift
	if out=$("$@" 2>&1); then ok "$d"; else nok "$d"; sed 's/^/#   /' <<<"$out"; fi
}
skip_all() { echo "1..0 # SKIP $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip_all "needs root for network namespaces"
[ -x "$TOOL" ] || { echo "Bail out! $TOOL not built"; exit 1; }
command -v ip >/dev/null || { echo "Bail out! iproute2 not installed (scripts/install-deps --test installs it)"; exit 1; }

tag=$$
H=hgg-h-$tag
STATE=$(mktemp -d /tmp/hangar-netns-gc.XXXXXX)
pids=()
nsnames=()
cleanup() {
	exec 2>/dev/null # no job-control chatter about the servers we kill
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	for ns in "${nsnames[@]}" $H; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$STATE"
}
trap cleanup EXIT

inH() { ip netns exec "$H" "$@"; }
tool() { inH "$TOOL" tool "$@"; }
lease_count() { grep -c '"instance"' "$STATE/gcnet/leases.json" 2>/dev/null || echo 0; }
newns() { ip netns add "$1" && nsnames+=("$1"); }

newns "$H" || skip_all "ip netns add failed"
# kernel features the test needs, probed inside the test's own namespace
ip -n "$H" link add hgprobe0 type veth peer name hgprobe1 2>/dev/null || skip_all "kernel lacks veth"
ip -n "$H" link del hgprobe0
ip -n "$H" link add hgprobe0 type bridge 2>/dev/null || skip_all "kernel lacks bridge support"
ip -n "$H" link del hgprobe0
ip netns exec "$H" nft add table inet hgprobe 2>/dev/null || skip_all "kernel lacks nf_tables"
ip netns exec "$H" nft delete table inet hgprobe
ip -n "$H" link set lo up
check "create network" tool create "$STATE" gcnet --bridge hggcbr --subnet4 10.215.0.0/24 --subnet6 fd68:616e:6763::/64

# --- SIGKILL in the middle of an attach -----------------------------------
newns hgg-k-$tag
fifo=$STATE/attach.out
mkfifo "$fifo"
ip netns exec "$H" "$TOOL" tool attach "$STATE" gcnet killed /run/netns/hgg-k-$tag --port 9090:90 --pause-at veth >"$fifo" 2>&1 &
apid=$!
pids+=("$apid")
stage=$(timeout 10 grep -m1 '^paused=' "$fifo")
check "attach stopped after creating the veth ($stage)" [ "$stage" = "paused=veth" ]
killed_if=$(sed -n 's/.*"host_ifname":"\([^"]*\)".*/\1/p' <(tr -d ' \n' <"$STATE/gcnet/leases.json" | sed 's/},{/}\n{/g'))
check "its host veth exists ($killed_if)" ip -n "$H" link show "$killed_if"
check "its lease is pending" grep -q '"state":"pending"' "$STATE/gcnet/leases.json"
out=$(tool gc "$STATE")
check "gc leaves a running attach alone" bash -c "ip -n $H link show $killed_if && grep -q '\"killed\"' $STATE/gcnet/leases.json"
kill -9 "$apid"
wait "$apid" 2>/dev/null
out=$(tool gc "$STATE")
check "gc after kill -9 released one lease ($(tr '\n' ' ' <<<"$out"))" grep -q '^leases_released=1$' <<<"$out"
check "no veth left" bash -c "! ip -n $H link show $killed_if 2>/dev/null"
check "no eth0 left in the instance namespace" bash -c "! ip -n hgg-k-$tag link show eth0 2>/dev/null"
check "no lease left" bash -c "! grep -q '\"killed\"' $STATE/gcnet/leases.json"
check "no NAT chain left" bash -c "! ip netns exec $H nft list table inet hangar | grep -q $killed_if"
check "the instance can attach again" tool attach "$STATE" gcnet killed /run/netns/hgg-k-$tag --port 9090:90

# --- killed after the ports were published, before the lease was bound ----
newns hgg-p-$tag
ip netns exec "$H" "$TOOL" tool attach "$STATE" gcnet killed2 /run/netns/hgg-p-$tag --port 9191:91 --pause-at ports >"$STATE/p.out" 2>&1 &
apid=$!
pids+=("$apid")
for _ in $(seq 100); do grep -q paused= "$STATE/p.out" && break; sleep 0.05; done
check "second attach paused after publishing ports" grep -q '^paused=ports$' "$STATE/p.out"
chains_before=$(inH nft list table inet hangar | grep -c 'chain hg')
kill -9 "$apid"
wait "$apid" 2>/dev/null
out=$(tool gc "$STATE")
chains_after=$(inH nft list table inet hangar | grep -c 'chain hg')
check "its two NAT chains are removed ($chains_before -> $chains_after)" [ $((chains_before - chains_after)) = 2 ]
check "port 9191 can be published by someone else" tool attach "$STATE" gcnet other /run/netns/hgg-p-$tag --port 9191:91

# --- the owner process dies ---------------------------------------------------
unshare -n sleep 600 &
opid=$!
pids+=("$opid")
for _ in $(seq 50); do [ "$(readlink /proc/$opid/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break; sleep 0.05; done
out=$(tool attach "$STATE" gcnet owned /proc/$opid/ns/net --owner $opid --port 9292:92)
owned_if=$(sed -n 's/^host_ifname=//p' <<<"$out")
check "owned instance attached ($owned_if)" ip -n "$H" link show "$owned_if"
# keep the namespace alive without the owner: only the owner's death counts
ip netns attach hgg-o-$tag "$opid" && nsnames+=(hgg-o-$tag)
kill -9 "$opid"
wait "$opid" 2>/dev/null
out=$(tool gc "$STATE")
check "gc released the dead owner's lease" bash -c "! grep -q '\"owned\"' $STATE/gcnet/leases.json"
check "and deleted its veth although the namespace lives on" bash -c "! ip -n $H link show $owned_if 2>/dev/null"
check "and its NAT chains" bash -c "! ip netns exec $H nft list table inet hangar | grep -q $owned_if"

# --- the namespace dies --------------------------------------------------------
newns hgg-d-$tag
out=$(tool attach "$STATE" gcnet doomed /run/netns/hgg-d-$tag)
doomed_if=$(sed -n 's/^host_ifname=//p' <<<"$out")
check "attach an instance whose namespace will die ($doomed_if)" ip -n "$H" link show "$doomed_if"
ip netns del hgg-d-$tag
# the kernel dismantles a dead namespace's devices asynchronously
for _ in $(seq 100); do ip -n "$H" link show "$doomed_if" >/dev/null 2>&1 || break; sleep 0.05; done
check "its veth went with the namespace" bash -c "! ip -n $H link show $doomed_if 2>/dev/null"
out=$(tool gc "$STATE")
check "gc released the lease of the dead namespace" bash -c "! grep -q '\"doomed\"' $STATE/gcnet/leases.json"

# --- a live lease seen from elsewhere ------------------------------------------
# gc from another namespace (e.g. 'hangar list' there, same store) cannot see
# the veth of an instance attached in H: its lease must survive.
newns hgg-a-$tag
newns hgg-x-$tag
out=$(tool attach "$STATE" gcnet away /run/netns/hgg-a-$tag)
away_if=$(sed -n 's/^host_ifname=//p' <<<"$out")
away_ip=$(sed -n 's/^ipv4=//p' <<<"$out")
check "instance attached in H ($away_if $away_ip)" ip -n "$H" link show "$away_if"
out=$(ip netns exec hgg-x-$tag "$TOOL" tool gc "$STATE" 2>&1)
check "gc from another namespace released nothing ($(tr '\n' ' ' <<<"$out"))" grep -q '^leases_released=0$' <<<"$out"
check "the lease survives" grep -q '"away"' "$STATE/gcnet/leases.json"
check "and its veth in H" ip -n "$H" link show "$away_if"
out=$(tool attach "$STATE" gcnet next /run/netns/hgg-x-$tag)
check "the next attach gets another address ($(sed -n 's/^ipv4=//p' <<<"$out") vs $away_ip)" \
	bash -c "[ -n '$away_ip' ] && grep -q '^ipv4=' <<<'$out' && ! grep -q '^ipv4=$away_ip\$' <<<'$out'"
check "detach away" tool detach "$STATE" gcnet away
check "detach next" tool detach "$STATE" gcnet next

# A live owner keeps its lease even when its veth cannot be seen.
unshare -n sleep 600 &
kpid=$!
pids+=("$kpid")
for _ in $(seq 50); do [ "$(readlink /proc/$kpid/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break; sleep 0.05; done
out=$(tool attach "$STATE" gcnet keeper /proc/$kpid/ns/net --owner $kpid)
keeper_if=$(sed -n 's/^host_ifname=//p' <<<"$out")
ip -n "$H" link del "$keeper_if"
out=$(tool gc "$STATE")
check "gc keeps the lease of a live owner whose veth is gone" grep -q '"keeper"' "$STATE/gcnet/leases.json"
check "detach keeper" tool detach "$STATE" gcnet keeper
kill -9 "$kpid"
wait "$kpid" 2>/dev/null # the race below waits for all children

# --- another store in the same namespace ---------------------------------------
STATE2=$STATE/store2
check "a second store creates its own network" tool create "$STATE2" gcnet2 --bridge hggcbr2 --subnet4 10.219.0.0/24 --no-ipv6
newns hgg-s-$tag
check "and publishes a port" tool attach "$STATE2" gcnet2 st2 /run/netns/hgg-s-$tag --port 9393:93
out=$(tool gc "$STATE")
check "gc of the first store leaves the second store's chains ($(tr '\n' ' ' <<<"$out"))" \
	bash -c "ip netns exec $H nft list table inet hangar | grep -q 'chain net-gcnet2-[0-9a-f]*-post' && ip netns exec $H nft list table inet hangar | grep -q 'dport 9393'"
check "and its lease and veth" bash -c "grep -q '\"st2\"' $STATE2/gcnet2/leases.json && ip -n $H link show master hggcbr2 | grep -q hg"
check "detach st2 and remove gcnet2" bash -c "ip netns exec $H $TOOL tool detach $STATE2 gcnet2 st2 && ip netns exec $H $TOOL tool remove $STATE2 gcnet2"

# --- leftovers nobody knows ---------------------------------------------------
# chains carry the store's tag; take it from the network's own chain
stag=$(inH nft list table inet hangar | sed -n 's/.*chain net-gcnet-\([0-9a-f]*\)-post.*/\1/p' | head -1)
check "the network's chain carries a store tag ($stag)" [ -n "$stag" ]
ip -n "$H" link add hg0123456789ab type veth peer name stray0
ip -n "$H" link set hg0123456789ab master hggcbr
ip -n "$H" link add hgnotours type veth peer name stray1
inH nft add chain inet hangar hgaaaaaaaaaaaa-$stag-pre '{ type nat hook prerouting priority dstnat; }'
inH nft add chain inet hangar net-gone-$stag-post '{ type nat hook postrouting priority srcnat; }'
inH nft add chain inet hangar hgcccccccccccc-0badf00d-pre '{ type nat hook prerouting priority dstnat; }'
inH nft add table inet othertable
inH nft add chain inet othertable hgbbbbbbbbbbbb-pre '{ type nat hook prerouting priority dstnat; }'
out=$(tool gc "$STATE")
check "stray veth on the bridge removed" bash -c "! ip -n $H link show hg0123456789ab 2>/dev/null"
check "a link not on a hangar bridge is left alone" ip -n "$H" link show hgnotours
check "chain of an unknown instance removed" bash -c "! ip netns exec $H nft list table inet hangar | grep -q hgaaaaaaaaaaaa"
check "chain of a removed network removed" bash -c "! ip netns exec $H nft list table inet hangar | grep -q net-gone-"
check "a chain of another store's tag is left alone" bash -c "ip netns exec $H nft list table inet hangar | grep -q hgcccccccccccc-0badf00d-pre"
check "other tables are never touched" bash -c "ip netns exec $H nft list table inet othertable | grep -q hgbbbbbbbbbbbb"
check "live instances survive gc" bash -c "grep -q '\"killed\"' $STATE/gcnet/leases.json && grep -q '\"other\"' $STATE/gcnet/leases.json"
check "the live instance's chains survive" bash -c "[ \$(ip netns exec $H nft list table inet hangar | grep -c 'chain hg[0-9a-f]*-$stag-') = 4 ]"
out=$(tool gc "$STATE")
check "a second gc finds nothing ($(tr '\n' ' ' <<<"$out"))" grep -q 'leases_released=0' <<<"$out"

# --- 20 concurrent attaches ----------------------------------------------------
check "create a network for the race" tool create "$STATE" race --bridge hgracebr --subnet4 10.216.0.0/24 --no-ipv6
for i in $(seq 20); do newns hgg-r$i-$tag; done
for i in $(seq 20); do
	tool attach "$STATE" race r$i /run/netns/hgg-r$i-$tag >"$STATE/r$i.out" 2>&1 &
done
wait
fails=0
for i in $(seq 20); do grep -q '^ipv4=' "$STATE/r$i.out" || { fails=$((fails + 1)); sed 's/^/#   /' "$STATE/r$i.out"; }; done
check "20 concurrent attaches succeeded ($fails failed)" [ "$fails" = 0 ]
dups=$(cat "$STATE"/r*.out | sed -n 's/^ipv4=//p' | sort | uniq -d | wc -l)
distinct=$(cat "$STATE"/r*.out | sed -n 's/^ipv4=//p' | sort -u | wc -l)
check "20 distinct addresses, none twice (distinct=$distinct dups=$dups)" [ "$distinct" = 20 -a "$dups" = 0 ]
inside=$(for i in $(seq 20); do ip -n hgg-r$i-$tag -br addr show eth0 | awk '{print $3}'; done | sort -u | wc -l)
check "the namespaces carry 20 distinct addresses" [ "$inside" = 20 ]
check "r1 reaches r20 over the bridge" ip netns exec hgg-r1-$tag busybox ping -c1 -W3 "$(sed -n 's/^ipv4=\(.*\)\/24/\1/p' "$STATE/r20.out")"

echo "1..$n"
