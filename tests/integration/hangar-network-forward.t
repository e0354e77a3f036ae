#!/bin/bash
# Another nftables table whose forward chain drops by default (as docker's
# iptables FORWARD policy DROP does): `hangar start` warns once, naming the
# table and chain and the rules to add; those rules really let the instance
# through, and then the warning is gone.  Every hangar command runs inside
# a network namespace made by this test (its "host"), with a second one as
# a client beyond it.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (rootless hangar is issue 8)"
[ -x "$HANGAR" ] || { echo "not ok 1 - $HANGAR not built"; echo "1..1"; exit 1; }
need_tool nft nftables
need_tool curl curl
export HANGAR_ROOT=$TEST_TMP/data HANGAR_RUN=$TEST_TMP/run
NS=hangar-fwd-$$
CL=hangar-fwdc-$$
ip netns add "$NS" || bail_out "ip netns add $NS failed"
at_exit "ip netns del $NS"
ip netns add "$CL" || bail_out "ip netns add $CL failed"
at_exit "ip netns del $CL"
ip -n "$NS" link set lo up
ip netns exec "$NS" nft add table inet hgprobe 2>/dev/null || skip_all "kernel lacks nf_tables"
ip netns exec "$NS" nft delete table inet hgprobe
ip -n "$NS" link add hgfup0 type veth peer name hgfdn0 netns "$CL" 2>/dev/null || skip_all "kernel lacks veth"
ip -n "$NS" addr add 10.77.0.1/24 dev hgfup0
ip -n "$NS" link set hgfup0 up
ip -n "$CL" addr add 10.77.0.2/24 dev hgfdn0
ip -n "$CL" link set hgfdn0 up
ip -n "$CL" link set lo up
inH() { nsenter --net="/run/netns/$NS" "$@"; }
hg() { inH "$HANGAR" "$@"; }
at_exit _hangar_cleanup

inC() { ip netns exec "$CL" "$@"; }
client_gets() { inC curl -s --max-time 2 http://10.77.0.1:18600/ | grep -q hello-from-w; }
web_cmd='mkdir -p /www && echo hello-from-$(hostname) > /www/index.html && exec httpd -f -p 80 -h /www'
hg create w --network bridge --publish 18600:80 -- sh -c "$web_cmd" >/dev/null 2>&1
out=$(hg start w 2>&1)
ok $? "start w ($out)"
is "$out" "" "no warning while no forward chain drops"
hg exec w -- ping -c1 -W2 10.77.0.2 >/dev/null 2>&1
ok $? "the instance reaches the client beyond the host (NAT)"
wait_for client_gets 50
ok $? "the client reaches the published port"
hg stop --timeout 1 w >/dev/null 2>&1

inH nft -f - <<'NFT'
table ip hgtfw {
	chain hgfwd {
		type filter hook forward priority 0; policy drop;
	}
}
NFT
ok $? "the test's table ip hgtfw has a forward chain with policy drop"
out=$(hg start w 2>&1)
ok $? "start w still succeeds"
like "$out" "^hangar: warning: network 'hangar0': chain 'hgfwd' of table 'ip hgtfw' drops forwarded packets" "start warns naming the table and chain ($out)"
ok "$([ -n "$out" ] && [ "$(echo "$out" | wc -l)" = 1 ]; echo $?)" "in one line"
ok "$(! hg exec w -- ping -c1 -W2 10.77.0.2 >/dev/null 2>&1; echo $?)" "as warned, the instance no longer reaches the client"
ip=$(hg list --format json | jq -r '.[0].ipv4')
wait_for "inH curl -s --max-time 2 http://$ip:80/ | grep -q hello-from-w" 50
ok $? "the server inside answers the host itself (not forwarded)"
ok "$(! client_gets; echo $?)" "but the client no longer reaches the published port"

# The rules the warning gives, as a user would paste them.
rules=$(echo "$out" | sed 's/.*to allow them: //')
IFS=';' read -ra cmds <<<"$rules"
is "${#cmds[@]}" 3 "the warning names three rules"
applied=0
for c in "${cmds[@]}"; do eval "inH $c" && applied=$((applied + 1)); done
is "$applied" 3 "the three rules apply"
hg exec w -- ping -c1 -W2 10.77.0.2 >/dev/null 2>&1
ok $? "with them the instance reaches the client again"
wait_for client_gets 50
ok $? "and the client the published port"
hg stop --timeout 1 w >/dev/null 2>&1
out=$(hg start w 2>&1)
ok $? "start w again"
is "$out" "" "no warning once the table has rules for the bridge"
done_testing
