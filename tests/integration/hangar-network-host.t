#!/bin/bash
# hangar --network host: the instance shares the network namespace of the
# hangar that started it.  That "host" is a network namespace made by this
# test (hangar runs under nsenter --net, as in hangar-network.t), with a
# veth pair and an address only it has, so the machine's own interfaces are
# neither needed nor touched.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hangar-netns-lib.sh"
need_tool busybox busybox-static
hangar_host_netns hangar-nhost
ip -n "$NS" link add hgh$$a type veth peer name hgh$$b 2>/dev/null || skip_all "kernel lacks veth"
ip -n "$NS" addr add 198.51.100.7/24 dev hgh$$a
ip -n "$NS" link set hgh$$a up
ip -n "$NS" link set hgh$$b up

out=$(hg create hostnet --network host -- sh -c 'exec sleep 1000' 2>&1)
ok $? "create hostnet --network host ($out)"
is "$(jq -r '[.linux.namespaces[].type] | index("network")' "$HANGAR_ROOT/instances/hostnet/config.json")" null \
	"its OCI config has no network namespace"
out=$(hg start hostnet 2>&1)
ok $? "start hostnet ($out)"
links=$(hg exec hostnet -- ip -o link 2>&1 | tr -d '\r')
like "$links" "hgh$$a" "the instance sees the host's veth hgh$$a"
like "$links" "hgh$$b" "and its peer hgh$$b"
like "$(hg exec hostnet -- ip -o -4 addr show dev hgh$$a 2>&1 | tr -d '\r')" "inet 198\.51\.100\.7/24" \
	"and the host's address on it"
is "$(hg exec hostnet -- readlink /proc/1/ns/net 2>&1 | tr -d '\r')" "$(inH readlink /proc/self/ns/net)" \
	"its init is in the host's network namespace"
ok "$(! ip -o link show hgh$$a >/dev/null 2>&1; echo $?)" "(the veth exists only in the test's namespace, not the machine's)"
# A server in the instance answers on the host's address: same stack.
hg exec hostnet -- sh -c 'nc -ll -p 18081 -e echo from-hostnet </dev/null >/dev/null 2>&1 &' >/dev/null 2>&1
wait_for "inH sh -c 'ss -ltn | grep -q :18081'" 50
is "$(inH timeout 3 busybox nc 198.51.100.7 18081 </dev/null 2>&1)" \
	from-hostnet "a server in the instance answers on the host's own address"
ll=$(hg list --format json | jq -r '.[0].ipv4')
is "$ll" null "list shows no instance address for a host-network instance"
hg destroy --force hostnet
ok $? "destroy"
is "$(ip -n "$NS" -o link | grep -c hgh$$)" 2 "the host's interfaces are left as they were"
out=$(hg network create hgtnone --subnet 10.231.0.0/24 2>&1) && out=$(hg network rm hgtnone 2>&1)
ok $? "network create + rm of a network never used ($out)"
is "$(inH nft list tables 2>&1)" "" "no nftables table was made in a namespace hangar published nothing in"
done_testing
