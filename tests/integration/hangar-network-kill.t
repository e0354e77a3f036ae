#!/bin/bash
# kill -9 of the monitor and of `hangar start` while the monitor is attaching
# the instance to the bridge network: list shows the truth, its cleanup pass
# leaves no veth, lease or nftables chain, and the next start works.  The
# monitor is stopped at a given attach stage by the test-only
# HANGAR_TEST_NET_PAUSE hook (docs/networking.md).  Every hangar command
# runs inside a network namespace made by this test (its "host").
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hangar-netns-lib.sh"
hangar_host_netns hangar-nkill nft
field() { hg list --format json | jq -r --arg n "$1" ".[] | select(.name == \$n) | .$2"; }
leases=$HANGAR_ROOT/networks/hangar0/leases.json
n_leases() { jq '[.. | objects | select(.instance?)] | length' "$leases" 2>/dev/null || echo 0; }
n_veths() { inH ip -o link show | grep -c ': hg[0-9a-f]\{12\}'; }
n_chains() { inH nft list table inet hangar 2>/dev/null | grep -c 'chain hg'; }

i=0
for stage in veth ports; do
	i=$((i + 1))
	name=k$i
	hg create "$name" --network bridge --publish "$((18500 + i)):80" -- sleep 1000 >/dev/null 2>&1
	mark=$TEST_TMP/paused-$stage
	inH env HANGAR_TEST_NET_PAUSE="$stage:$mark" "$HANGAR" start "$name" >"$TEST_TMP/start-$name.out" 2>&1 &
	start_pid=$!
	for _ in $(seq 100); do [ -s "$mark" ] && break; sleep 0.05; done
	mon=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' "$mark" 2>/dev/null)
	is "$(cut -d' ' -f1 "$mark" 2>/dev/null)" "paused=$stage" "$stage: the monitor stopped in the attach after '$stage'"
	is "$(cat /proc/$mon/comm 2>/dev/null)" hangar-monitor "$stage: it is the monitor (pid $mon)"
	is "$(jq -r --arg n "$name" '.[]? | .[]? | objects | select(.instance? == $n) | .state' "$leases" 2>/dev/null)" pending "$stage: its lease is pending"
	is "$(n_veths)" 1 "$stage: its veth exists"
	[ $stage = ports ] && is "$(n_chains)" 2 "$stage: its two nftables chains exist"
	# The init is created (the attach runs between create and start) and
	# is still the monitor's child: its pid is not in the OCI state yet.
	init=$(cat /proc/"$mon"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -m1 .)
	ok "$([ -n "$init" ] && [ "$init" -gt 1 ] && kill -0 "$init"; echo $?)" "$stage: the instance's init was created (pid $init)"
	kill -9 "$mon" "$start_pid"
	wait "$start_pid" 2>/dev/null
	wait_for "! kill -0 $mon 2>/dev/null && ! kill -0 $start_pid 2>/dev/null" 50
	ok $? "$stage: monitor and start command killed -9"
	state=$(field "$name" state)
	ok "$([ "$state" != RUNNING ] && [ "$state" != ORPHANED ]; echo $?)" "$stage: list shows it not running ($state)"
	wait_for "! kill -0 ${init:-1} 2>/dev/null" 50
	ok $? "$stage: the half-started init is gone"
	is "$(ls "$HANGAR_RUN/oci" 2>/dev/null | wc -l)" 0 "$stage: no OCI container left"
	is "$(n_leases)" 0 "$stage: list's cleanup pass released the lease"
	is "$(n_veths)" 0 "$stage: and deleted the veth"
	is "$(n_chains)" 0 "$stage: and the nftables chains"
	out=$(hg start "$name" 2>&1)
	ok $? "$stage: start afterwards works ($out)"
	is "$(field "$name" state)" RUNNING "$stage: RUNNING"
	like "$(hg exec "$name" -- ip -o -4 addr show eth0 2>&1)" 'inet 10\.213\.0\.[0-9]+/24' "$stage: the instance has an address"
	is "$(n_leases)" 1 "$stage: one bound lease"
	hg destroy --force "$name" >/dev/null 2>&1
done
done_testing
