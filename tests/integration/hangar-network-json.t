#!/bin/bash
# How list and info report addresses: the table stays human
# ("10.213.0.5 (eth0)"), JSON carries the bare address in "ipv4" and every
# live address with its interface in "addresses".  Every hangar command runs
# inside a network namespace made by this test (as in hangar-network.t).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -x "$HANGAR" ] || { echo "not ok 1 - $HANGAR not built"; echo "1..1"; exit 1; }
command -v nft >/dev/null || { echo "not ok 1 - nft (nftables, a test dependency) is not installed"; echo "1..1"; exit 1; }
export HANGAR_ROOT=$TEST_TMP/data HANGAR_RUN=$TEST_TMP/run
NS=hangar-njson-$$
ip netns add "$NS" || bail_out "ip netns add $NS failed"
at_exit "ip netns del $NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" nft add table inet hgprobe 2>/dev/null || skip_all "kernel lacks nf_tables"
ip netns exec "$NS" nft delete table inet hgprobe
ip -n "$NS" link add hgprobe0 type veth peer name hgprobe1 2>/dev/null || skip_all "kernel lacks veth"
ip -n "$NS" link del hgprobe0
inH() { nsenter --net="/run/netns/$NS" "$@"; }
hg() { inH "$HANGAR" "$@"; }
_hangar_cleanup() { for n in $(ls "$HANGAR_ROOT/instances" 2>/dev/null); do hg destroy --force "$n"; done; }
at_exit _hangar_cleanup

hg create b1 --network bridge -- sleep 1000 >/dev/null 2>&1 && hg start b1
ok $? "start b1 on the bridge"
inside=$(hg exec b1 -- ip -o -4 addr show dev eth0 2>&1 | tr -d '\r' | awk '{print $4}')
addr=${inside%/*} plen=${inside#*/}
like "$addr" '^10\.213\.0\.[0-9]+$' "b1 has an address on eth0 inside ($inside)"
j=$(hg list --format json)
is "$(jq -r '.[0].ipv4' <<<"$j")" "$addr" "list json: ipv4 is the bare address"
is "$(jq -c '[.[0].addresses[] | select(.family == "ipv4")]' <<<"$j")" \
	"[{\"address\":\"$addr\",\"prefix_length\":$plen,\"family\":\"ipv4\",\"interface\":\"eth0\",\"network\":\"hangar0\"}]" \
	"list json: addresses has address, prefix length, family, interface and network"
inside6=$(hg exec b1 -- ip -o -6 addr show dev eth0 scope global 2>&1 | tr -d '\r' | awk '{print $4}')
is "$(jq -r '.[0].addresses[] | select(.family == "ipv6") | "\(.address)/\(.prefix_length) \(.interface)"' <<<"$j")" \
	"${inside6:+$inside6 eth0}" "list json: the IPv6 address, when the network has one, is listed the same way (${inside6:-none})"
like "$(hg list | awk '$1 == "b1"')" "^b1 +RUNNING +$addr \(eth0\) +default" "the table keeps \"ADDRESS (eth0)\""
i=$(hg info --format json b1)
is "$(jq -c '.addresses' <<<"$i")" "$(jq -c '.[0].addresses' <<<"$j")" "info json: the same addresses"
is "$(jq -r '.ipv4' <<<"$i")" "$addr" "info json: ipv4 (the address kept for the next start) is bare too"
is "$(jq -r 'has("address")' <<<"$i")" false "info json: no \"ADDRESS (IFACE)\" string any more"
like "$(hg info b1)" "ipv4: +$addr \(eth0\)" "info text keeps \"ADDRESS (eth0)\""
hg create n1 --network none -- sleep 1000 >/dev/null 2>&1 && hg start n1
j=$(hg list --format json)
is "$(jq -c '.[] | select(.name == "n1") | [.ipv4, .addresses]' <<<"$j")" '[null,[]]' \
	"an instance without a network: ipv4 null, addresses empty"
hg stop --timeout 0 b1
is "$(hg list --format json | jq -c '.[] | select(.name == "b1") | [.ipv4, .addresses]')" '[null,[]]' \
	"a stopped instance: ipv4 null, addresses empty"
is "$(hg info --format json b1 | jq -c '[.ipv4, .addresses]')" "[\"$addr\",[]]" \
	"info of the stopped instance: the kept ipv4, no live addresses"
done_testing
