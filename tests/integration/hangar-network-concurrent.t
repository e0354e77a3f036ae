#!/bin/bash
# IPAM under load through the whole manager: 20 `hangar start` at once on
# the bridge network hand out 20 distinct addresses, and 20 concurrent
# destroys leave no veth, lease or nftables chain.  Every hangar command
# runs inside a network namespace made by this test (its "host").
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hangar-netns-lib.sh"
hangar_host_netns hangar-conc nft
N=20
leases=$HANGAR_ROOT/networks/hangar0/leases.json

# Each publishes a port of its own, so each also has nftables chains.
made=0
for i in $(seq $N); do
	hg create "c$i" --network bridge --publish "$((18000 + i)):80" -- sleep 1000 >/dev/null 2>&1 && made=$((made + 1))
done
is "$made" $N "created $N instances"

for i in $(seq $N); do
	hg start "c$i" >"$TEST_TMP/start$i.out" 2>&1 &
	echo $! >>"$TEST_TMP/start.pids"
done
failed=0
while read -r p; do wait "$p" || failed=$((failed + 1)); done <"$TEST_TMP/start.pids"
is "$failed" 0 "$N concurrent starts all succeed$(cat "$TEST_TMP"/start*.out | sort -u | head -3 | tr '\n' ' ')"
list=$(hg list --format json)
is "$(echo "$list" | jq '[.[] | select(.state == "RUNNING")] | length')" $N "all $N listed RUNNING"
is "$(echo "$list" | jq -r '.[].ipv4' | grep -E '^10\.213\.0\.[0-9]+$' | sort -u | wc -l)" $N "list --format json shows $N distinct IPv4 addresses"
is "$(echo "$list" | jq -r '.[].addresses[] | select(.family == "ipv6") | .address' | sort -u | wc -l)" $N "and $N distinct IPv6 addresses"
inside=$(for i in $(seq $N); do hg exec "c$i" -- ip -o -4 addr show eth0 2>/dev/null | awk '{print $4}'; done)
is "$(echo "$inside" | grep -c '^10\.213\.0\.[0-9]*/24$')" $N "each instance has an address on eth0 inside"
is "$(echo "$inside" | sort -u | wc -l)" $N "the $N addresses seen inside are distinct"
is "$(echo "$inside" | cut -d/ -f1 | sort)" "$(echo "$list" | jq -r '.[].ipv4' | sort)" "inside and list agree"
is "$(jq '[.. | objects | select(.instance?)] | length' "$leases")" $N "the lease file holds exactly $N leases"
is "$(jq -r '[.. | objects | select(.instance?) | .ipv4] | unique | length' "$leases")" $N "with $N distinct addresses"
is "$(inH ip -o link show master hangar0 | wc -l)" $N "$N veths on hangar0"
is "$(inH nft list table inet hangar | grep -c 'chain hg[0-9a-f]*-[0-9a-f]*-pre')" $N "$N per-instance prerouting chains"

: >"$TEST_TMP/destroy.pids"
for i in $(seq $N); do
	hg destroy --force "c$i" >"$TEST_TMP/destroy$i.out" 2>&1 &
	echo $! >>"$TEST_TMP/destroy.pids"
done
failed=0
while read -r p; do wait "$p" || failed=$((failed + 1)); done <"$TEST_TMP/destroy.pids"
is "$failed" 0 "$N concurrent destroys all succeed$(cat "$TEST_TMP"/destroy*.out | sort -u | head -3 | tr '\n' ' ')"
is "$(hg list --format json | jq length)" 0 "no instance left"
is "$(inH ip -o link show | grep -c ': hg[0-9a-f]\{12\}')" 0 "no veth left"
is "$(jq '[.. | objects | select(.instance?)] | length' "$leases")" 0 "no lease left"
is "$(inH nft list table inet hangar | grep -c 'chain hg')" 0 "no per-instance nftables chain left"
done_testing
