#!/bin/bash
# hangar: ten instances created and started concurrently (the locks keep
# the store consistent), listed correctly, stopped and destroyed together.
HANGAR_TEST_PRIVATE_NET=1
. "$(dirname "$0")/lib.sh"
hangar_store
N=10

pids=()
for i in $(seq 1 $N); do
	hg run -d --network none --memory 32M "many$i" -- sh -c "echo I am $i; exec sleep 1000" >"$TEST_TMP/out$i" 2>&1 &
	pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
is "$failed" 0 "$N concurrent 'run -d' succeeded"
[ "$failed" = 0 ] || cat "$TEST_TMP"/out* | sed 's/^/# /'
json=$(hg list --format json)
is "$(jq length <<<"$json")" $N "list shows $N instances"
is "$(jq '[.[] | select(.state == "RUNNING")] | length' <<<"$json")" $N "all $N RUNNING"
is "$(jq '[.[].pid] | unique | length' <<<"$json")" $N "$N distinct init pids"
is "$(jq -r '[.[].name] | join(" ")' <<<"$json")" "$(printf 'many%s\n' $(seq 1 $N) | sort | tr '\n' ' ' | sed 's/ $//')" "names listed sorted"
ok "$(jq -e 'all(.[]; .memory_usage > 0 and .memory_limit == 33554432)' <<<"$json" >/dev/null; echo $?)" "memory usage and 32M limit per instance"
bad=0
for i in $(seq 1 $N); do
	[ "$(hg exec "many$i" -- hostname 2>/dev/null | tr -d '\r')" = "many$i" ] || bad=$((bad + 1))
done
is "$bad" 0 "exec reaches each instance (its own hostname)"
table=$(hg list)
is "$(grep -c ' RUNNING ' <<<"$table")" $N "table view: $N RUNNING rows"
like "$(head -1 <<<"$table")" "^NAME +STATE +IPV4 +IMAGE +MEMORY +UPTIME" "table header"
is "$(hg image list --format json | jq -r '.[] | select(.name == "default") | .instances | length')" $N "image list: default used by $N instances"

pids=()
for i in $(seq 1 $N); do hg stop --timeout 1 "many$i" & pids+=($!); done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
is "$failed" 0 "$N concurrent stops succeeded"
is "$(hg list --format json | jq '[.[] | select(.state == "STOPPED")] | length')" $N "all $N STOPPED"
pids=()
for i in $(seq 1 $N); do hg destroy "many$i" & pids+=($!); done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
is "$failed" 0 "$N concurrent destroys succeeded"
is "$(hg list --format json | jq length)" 0 "nothing listed"
ok "$(! grep -q "$TEST_TMP" /proc/self/mountinfo && [ -z "$(ls -A "$HANGAR_RUN/oci")" ]; echo $?)" "no mounts or OCI state left"
done_testing
