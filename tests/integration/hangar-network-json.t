#!/bin/bash
# How list and info report addresses: the table stays human
# ("10.213.0.5 (eth0)"), JSON carries the bare address in "ipv4" and every
# live address with its interface in "addresses".  Every hangar command runs
# inside a network namespace made by this test (as in hangar-network.t).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hangar-netns-lib.sh"
hangar_host_netns hangar-njson nft
ip -n "$NS" link add hgprobe0 type veth peer name hgprobe1 2>/dev/null || skip_all "kernel lacks veth"
ip -n "$NS" link del hgprobe0

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
