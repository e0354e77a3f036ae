#!/bin/bash
# Subnets that collide with the host's own routes and addresses.  Every
# hangar command runs inside a network namespace made by this test (its
# "host"), whose other interface (hgcext0) holds the colliding routes and addresses.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hangar-netns-lib.sh"
hangar_host_netns hangar-collide nft
# This kernel has no dummy interface type; a veth pair stands in for the
# host's other network (its peer is brought up so the routes are live).
ip -n "$NS" link add hgcext0 type veth peer name hgcext1 2>/dev/null || skip_all "kernel lacks veth"
ip -n "$NS" link set hgcext1 up
field() { hg list --format json | jq -r --arg n "$1" ".[] | select(.name == \$n) | .$2"; }

# The host already uses the default subnets on another interface.
ip -n "$NS" addr add 10.213.0.1/24 dev hgcext0
ip -n "$NS" addr add fd68:616e:6761::5/64 dev hgcext0 nodad
ip -n "$NS" link set hgcext0 up
hg create first --network bridge -- sleep 1000 >/dev/null 2>&1
out=$(hg start first 2>&1)
ok $? "start on the implicit default network despite the collision ($out)"
cfg=$HANGAR_ROOT/networks/hangar0/network.json
is "$(jq -r '.subnet4 + " " + .subnet6' "$cfg")" "10.213.1.0/24 fd68:616e:6761:1::/64" "hangar0 took the next free /24 and /64 of the pool"
like "$(field first ipv4)" '^10\.213\.1\.[0-9]+' "the instance got an address of 10.213.1.0/24"
like "$(hg exec first -- ip -o -4 addr show eth0 2>&1)" 'inet 10\.213\.1\.[0-9]+/24' "inside, eth0 has it"
is "$(inH ip -o route show 10.213.0.0/24 | awk '{print $3}')" hgcext0 "the host's route to 10.213.0.0/24 still goes to its other interface"
# hangar0's own connected routes are not a collision on the next start.
hg stop --timeout 1 first >/dev/null 2>&1
out=$(hg start first 2>&1)
ok $? "start again: the network's own bridge routes are not a collision ($out)"

# With hangar0 in place, networks created without --subnet6 (the README
# example) each take a free /64 of the pool instead of hangar0's.
out=$(hg network create hgcb1 --subnet 10.220.0.0/24 --bridge hgcb1 2>&1)
ok $? "network create without --subnet6 next to hangar0 ($out)"
out=$(hg network create hgcb2 --subnet 10.221.0.0/24 --bridge hgcb2 2>&1)
ok $? "a second one too ($out)"
s6a=$(jq -r .subnet6 "$HANGAR_ROOT/networks/hgcb1/network.json")
s6b=$(jq -r .subnet6 "$HANGAR_ROOT/networks/hgcb2/network.json")
is "$s6a $s6b" "fd68:616e:6761:2::/64 fd68:616e:6761:3::/64" "they got the next free /64s, not hangar0's (:1::) or the host's (::)"
out=$(hg network rm hgcb1 2>&1) && out=$(hg network rm hgcb2 2>&1)
ok $? "and are removed again ($out)"

# An explicit subnet overlapping a route of the host is refused.
ip -n "$NS" route add 10.231.5.0/24 dev hgcext0
out=$(hg network create hgcx --subnet 10.231.0.0/16 --no-ipv6 --bridge hgcx0 2>&1)
rc=$?
is "$rc" 2 "network create over a host route fails with exit 2"
like "$out" '10\.231\.0\.0/16.*route 10\.231\.5\.0/24 on interface hgcext0' "the message names the subnet, the route and the interface ($out)"
is "$(echo "$out" | wc -l)" 1 "in one line"
ok "$([ ! -e "$HANGAR_ROOT/networks/hgcx" ] && ! inH ip link show hgcx0 >/dev/null 2>&1; echo $?)" "no state or bridge left for the refused network"
out=$(hg network create hgcx --subnet 10.213.0.0/23 --no-ipv6 --bridge hgcx0 2>&1)
like "$out" 'overlaps' "a subnet over hangar0 and the host address is refused too ($out)"

# A stored network the host later collides with: the attach refuses.
out=$(hg network create hgcy --subnet 10.232.0.0/24 --no-ipv6 --bridge hgcy0 2>&1)
ok $? "network hgcy created while its subnet is free ($out)"
ip -n "$NS" route add 10.232.0.128/25 dev hgcext0
hg create late --network hgcy -- sleep 1000 >/dev/null 2>&1
out=$(hg start late 2>&1)
rc=$?
ok "$([ $rc != 0 ]; echo $?)" "start on a network that now collides fails (exit $rc)"
like "$out" 'subnet 10\.232\.0\.0/24 overlaps route 10\.232\.0\.128/25 on interface hgcext0' "the message names the route and interface ($out)"
like "$(field late state)" '^(STOPPED|CREATED)$' "the instance is not listed running"
ok "$(! inH ip link show hgcy0 >/dev/null 2>&1; echo $?)" "no bridge was added next to the host's route"
is "$(jq -r '[.. | objects | select(.instance? == "late")] | length' "$HANGAR_ROOT/networks/hgcy/leases.json" 2>/dev/null || echo 0)" 0 "no lease left"
is "$(inH ip -o route get 10.232.0.130 | awk '{print $3}')" hgcext0 "the host still routes the subnet to its other interface"
ip -n "$NS" route del 10.232.0.128/25 dev hgcext0
out=$(hg start late 2>&1)
ok $? "once the host's route is gone the start works ($out)"
like "$(field late ipv4)" '^10\.232\.0\.[0-9]+' "and the instance has an address on hgcy"

# A host that uses the whole pool: the first use fails, naming the pool and
# the route, and stores no default network.  A store and namespace of their
# own, so that the hangar0 above does not count.
NS2=hangar-collide2-$$
ip netns add "$NS2" || bail_out "ip netns add $NS2 failed"
at_exit "ip netns del $NS2"
ip -n "$NS2" link set lo up
ip -n "$NS2" link add hgcext2 type veth peer name hgcext3
ip -n "$NS2" link set hgcext2 up
ip -n "$NS2" link set hgcext3 up
ip -n "$NS2" route add 10.213.0.0/16 dev hgcext2
ROOT2=$TEST_TMP/data2
hg2() { HANGAR_ROOT=$ROOT2 HANGAR_RUN=$TEST_TMP/run2 nsenter --net="/run/netns/$NS2" "$HANGAR" "$@"; }
at_exit "hg2 destroy --force full"
hg2 create full --network bridge -- sleep 1000 >/dev/null 2>&1
out=$(hg2 start full 2>&1)
rc=$?
ok "$([ $rc != 0 ]; echo $?)" "with 10.213.0.0/16 routed elsewhere the first use fails (exit $rc)"
like "$out" "no free subnet in the default pool 10\.213\.0\.0/16 \(first refusal: subnet 10\.213\.0\.0/24 overlaps route 10\.213\.0\.0/16 on interface hgcext2" "the message names the pool and the route ($out)"
ok "$([ -n "$out" ] && [ "$(echo "$out" | wc -l)" = 1 ]; echo $?)" "in one line"
ok "$([ ! -e "$ROOT2/networks/hangar0" ]; echo $?)" "no default network was stored"
ok "$(! nsenter --net="/run/netns/$NS2" ip link show hangar0 >/dev/null 2>&1; echo $?)" "and no bridge made"
done_testing
