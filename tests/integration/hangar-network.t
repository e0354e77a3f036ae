#!/bin/bash
# hangar --network bridge with a published port.  Every hangar command runs
# inside a network namespace made by this test (the "host" here), so the
# bridge, veths and nftables rules never touch the machine's own network.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hangar-netns-lib.sh"
need_tool curl curl
hangar_host_netns hangar-net nft
ip -n "$NS" link add hgprobe0 type veth peer name hgprobe1 2>/dev/null || skip_all "kernel lacks veth"
ip -n "$NS" link del hgprobe0

ip link show hangar0 >/dev/null 2>&1 && host_had_bridge=yes || host_had_bridge=no
web_cmd='mkdir -p /www && echo hello-from-$(hostname) > /www/index.html && exec httpd -f -p 80 -h /www'
out=$(hg create web --network bridge --publish 8080:80 -- sh -c "$web_cmd" 2>&1)
ok $? "create web with --publish 8080:80 ($out)"
out=$(hg start web 2>&1)
ok $? "start web ($out)"
ip=$(hg list --format json | jq -r '.[0].ipv4' | cut -d' ' -f1)
like "$ip" '^10\.213\.0\.[0-9]+$' "list shows the instance's IPv4 on hangar0 ($ip)"
ok "$(inH ip link show hangar0 >/dev/null 2>&1; echo $?)" "bridge hangar0 exists in the test namespace"
if [ "$host_had_bridge" = no ]; then
	ok "$(! ip link show hangar0 >/dev/null 2>&1; echo $?)" "no hangar0 bridge was made in the test's own namespace"
else
	skip "hangar0 already existed in the test's own namespace"
fi
like "$(hg exec web -- cat /etc/hosts 2>&1 | tr -d '\r')" "$ip[[:space:]]+web" "/etc/hosts names the instance's address"
hg exec web -- test -f /etc/resolv.conf
ok $? "/etc/resolv.conf written"
hg exec web -- ping -c1 -W3 10.213.0.1 >/dev/null 2>&1
ok $? "instance reaches its gateway"
wait_for "inH curl -s --max-time 2 http://$ip:80/ | grep -q hello-from-web" 50
ok $? "host side reaches the instance directly"
got=$(inH curl -s --max-time 3 http://10.213.0.1:8080/)
is "$got" hello-from-web "published port 8080 answers on the host's bridge address"
got=$(inH curl -s --max-time 3 http://127.0.0.1:8080/)
is "$got" hello-from-web "published port 8080 answers on the host's localhost"
ok "$(inH nft list table inet hangar | grep -q 'dport 8080'; echo $?)" "DNAT rule for 8080 in the test namespace"

hg create web2 --network bridge --publish 8081:80 -- sh -c "$web_cmd" >/dev/null 2>&1
hg start web2
ip2=$(hg list --format json | jq -r '.[] | select(.name=="web2") | .ipv4' | cut -d' ' -f1)
ok "$([ -n "$ip2" ] && [ "$ip2" != "$ip" ]; echo $?)" "second instance gets another address ($ip2)"
hg exec web2 -- wget -q -O - "http://$ip/" 2>/dev/null | tr -d '\r' | grep -q hello-from-web
ok $? "instances reach each other over the bridge"
wait_for "inH curl -s --max-time 2 http://127.0.0.1:8081/ | grep -q hello-from-web2" 50
ok $? "second published port answers"

host_if=$(inH ip -o link show master hangar0 | awk -F': ' '{print $2}' | cut -d@ -f1 | head -1)
hg stop --timeout 1 web
ok "$(! inH curl -s --max-time 2 http://127.0.0.1:8080/ >/dev/null; echo $?)" "after stop the published port no longer answers"
ok "$(! inH nft list table inet hangar | grep -q 'dport 8080'; echo $?)" "after stop the DNAT rule is gone"
is "$(inH ip -o link show master hangar0 | wc -l)" 1 "after stop only web2's veth remains on the bridge"
got=$(inH curl -s --max-time 3 http://127.0.0.1:8081/)
is "$got" hello-from-web2 "after web's stop web2's published port still answers"
ok "$(inH nft list table inet hangar | grep -q 'dport 8081'; echo $?)" "after web's stop web2's DNAT rule is still there"
is "$(jq -r '[.. | objects | select(.instance? == "web")] | length' "$HANGAR_ROOT/networks/hangar0/leases.json" 2>&1)" 0 "the lease file has no entry for the stopped web"
hg start web
ip_again=$(hg list --format json | jq -r '.[] | select(.name=="web") | .ipv4' | cut -d' ' -f1)
is "$ip_again" "$ip" "restart keeps the instance's address"
wait_for "inH curl -s --max-time 2 http://127.0.0.1:8080/ | grep -q hello-from-web" 50
ok $? "published port answers again after restart"

# kill -9 everything: the next list cleans the lease and the veth.
mon=$(hg list --format json | jq -r '.[] | select(.name=="web") | .monitor_pid')
init=$(hg list --format json | jq -r '.[] | select(.name=="web") | .pid')
kill -9 "$mon" "$init"
wait_for "! kill -0 $init 2>/dev/null" 50
is "$(hg list --format json | jq -r '.[] | select(.name=="web") | .state')" STOPPED "killed instance listed STOPPED"
ok "$(! inH nft list table inet hangar | grep -q 'dport 8080'; echo $?)" "its DNAT rule was cleaned up"

# Several networks per instance: eth0 on hangar0, eth1 on a network made
# with 'hangar network create'; ports are published on the first.
out=$(hg network create hgt-back --subnet 10.222.0.0/24 --no-ipv6 --bridge hgtback0 2>&1)
ok $? "hangar network create hgt-back ($out)"
is "$(hg network list --format json | jq -r '.[] | select(.name=="hgt-back") | .subnet + " " + .bridge')" "10.222.0.0/24 hgtback0" "network list shows it"
out=$(hg create multi --network bridge --network hgt-back --publish 8082:80 -- sh -c "$web_cmd" 2>&1)
ok $? "create multi with --network bridge --network hgt-back ($out)"
is "$(jq -c .networks "$HANGAR_ROOT/instances/multi/instance.json")" '["hangar0","hgt-back"]' "instance.json keeps both networks in order"
out=$(hg start multi 2>&1)
ok $? "start multi ($out)"
eth0=$(hg exec multi -- ip -o -4 addr show eth0 2>&1 | tr -d '\r')
like "$eth0" 'inet 10\.213\.0\.[0-9]+/24' "eth0 is on hangar0"
eth1=$(hg exec multi -- ip -o -4 addr show eth1 2>&1 | tr -d '\r')
like "$eth1" 'inet 10\.222\.0\.2/24' "eth1 is on hgt-back"
mip=$(hg list --format json | jq -r '.[] | select(.name=="multi") | .addresses[0].address')
is "$(hg list --format json | jq -r '.[] | select(.name=="multi") | [.addresses[] | select(.family == "ipv4") | .network + "=" + .interface + "=" + .address + "/" + (.prefix_length | tostring)] | join(" ")')" "hangar0=eth0=$mip/24 hgt-back=eth1=10.222.0.2/24" "list --format json shows both addresses"
like "$(hg list | grep '^multi ')" "$mip \\(eth0\\), 10\\.222\\.0\\.2 \\(eth1\\)" "list shows both addresses"
info=$(hg info multi)
like "$info" "network: +hangar0 hgt-back" "info shows both networks"
like "$info" "address: +eth1 10\\.222\\.0\\.2/24 \\(hgt-back\\)" "info shows the eth1 address"
hosts=$(hg exec multi -- cat /etc/hosts 2>&1 | tr -d '\r')
like "$hosts" "$mip[[:space:]]+multi" "/etc/hosts names the hangar0 address"
like "$hosts" "10\\.222\\.0\\.2[[:space:]]+multi" "/etc/hosts names the hgt-back address"
wait_for "inH curl -s --max-time 2 http://10.222.0.2:80/ | grep -q hello-from-multi" 50
ok $? "the host side reaches multi over hgt-back"
got=$(inH curl -s --max-time 3 http://127.0.0.1:8082/)
is "$got" hello-from-multi "multi's published port answers"
out=$(hg network rm hgt-back 2>&1)
rc=$?
ok "$([ $rc = 4 ] && [[ "$out" == *"in use by instance 'multi'"* ]]; echo $?)" "network rm of a network in use is refused (exit $rc: $out)"
hg stop --timeout 1 multi
is "$(inH ip -o link show master hgtback0 2>/dev/null | wc -l)" 0 "after stop multi has no veth on hgt-back"
is "$(jq -r '[.. | objects | select(.instance? == "multi")] | length' "$HANGAR_ROOT/networks/hgt-back/leases.json" 2>&1)" 0 "after stop no hgt-back lease of multi"
got=$(inH curl -s --max-time 3 http://127.0.0.1:8081/)
is "$got" hello-from-web2 "after multi's stop web2's published port still answers"
hg destroy --force multi
out=$(hg network rm hgt-back 2>&1)
ok $? "network rm once multi is destroyed ($out)"
ok "$(! inH ip link show hgtback0 >/dev/null 2>&1; echo $?)" "its bridge is gone"

# 'hangar list' (its network gc) from another namespace, same store: it
# cannot see web2's veth, but web2 lives, so its lease must stay and the
# next start must not get web2's address.
NS2=hangar-net2-$$
ip netns add "$NS2" && at_exit "ip netns del $NS2"
web2_ip=$(hg list --format json | jq -r '.[] | select(.name=="web2") | .ipv4' | cut -d' ' -f1)
web2_if=$(inH ip -o link show master hangar0 | awk -F': ' '{print $2}' | cut -d@ -f1 | head -1)
nsenter --net="/run/netns/$NS2" "$HANGAR" list >/dev/null 2>&1
is "$(jq -r '[.. | objects | select(.instance? == "web2")] | length' "$HANGAR_ROOT/networks/hangar0/leases.json")" 1 "list from another namespace keeps web2's lease ($web2_ip)"
ok "$(inH ip link show "$web2_if" >/dev/null 2>&1; echo $?)" "and its veth $web2_if"
hg create nextone --network bridge -- sleep 1000 >/dev/null 2>&1
hg start nextone >/dev/null 2>&1
next_ip=$(hg list --format json | jq -r '.[] | select(.name=="nextone") | .ipv4' | cut -d' ' -f1)
ok "$([ -n "$next_ip" ] && [ -n "$web2_ip" ] && [ "$next_ip" != "$web2_ip" ]; echo $?)" "the next start gets another address ($next_ip, web2 has $web2_ip)"
hg destroy --force nextone

# A port a service of the host side listens on is refused at start, in one
# line naming the port; nothing of the attach is left.
inH socat TCP-LISTEN:8083,reuseaddr,fork SYSTEM:'echo host-service' &
lpid=$!
at_exit "kill $lpid"
for _ in $(seq 100); do inH ss -lnt | grep -q ':8083 ' && break; sleep 0.05; done
hg create taken --network bridge --publish 8083:80 -- sleep 1000 >/dev/null 2>&1
out=$(hg start taken 2>&1)
rc=$?
ok "$([ $rc != 0 ]; echo $?)" "start with --publish 8083:80 while the host listens on 8083 fails (exit $rc)"
like "$out" "port 8083/tcp: a socket on this host already listens on it" "the message names the port ($out)"
is "$(jq -r '[.. | objects | select(.instance? == "taken")] | length' "$HANGAR_ROOT/networks/hangar0/leases.json")" 0 "no lease left"
ok "$(! inH nft list table inet hangar | grep -q 'dport 8083'; echo $?)" "no rule left"
is "$(inH socat -t3 -T3 - TCP:127.0.0.1:8083 </dev/null 2>&1)" host-service "the host's service still answers"
hg create badip --network bridge --publish 192.0.2.99:8084:80 -- sleep 1000 >/dev/null 2>&1
out=$(hg start badip 2>&1)
like "$out" "host IP 192.0.2.99 is not an address of this host" "a host IP that is not local is refused ($out)"
hg destroy --force taken
hg destroy --force badip

# instance.json from before several networks: one "network" string.
hg create old --network none -- true >/dev/null 2>&1
jq 'del(.networks) | .network = "host"' "$HANGAR_ROOT/instances/old/instance.json" >"$TEST_TMP/old.json" &&
	cp "$TEST_TMP/old.json" "$HANGAR_ROOT/instances/old/instance.json"
like "$(hg info old)" "network: +host" "an old instance.json with a single network field is read"
hg destroy --force old

hg destroy --force web
hg destroy --force web2
is "$(jq -r '[.. | objects | select(.instance?)] | length' "$HANGAR_ROOT/networks/hangar0/leases.json" 2>&1)" 0 "after destroy the lease file has no entries"
is "$(inH ip -o link show master hangar0 2>/dev/null | wc -l)" 0 "destroy removed every veth"
ok "$(! grep -q "$TEST_TMP" /proc/self/mountinfo; echo $?)" "no mounts left"
done_testing
