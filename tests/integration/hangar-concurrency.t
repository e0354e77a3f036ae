#!/bin/bash
# Commands racing each other on one store: two `create X` at once (one wins,
# the other says the name is taken, exit 4), and `image rm` racing
# `create --image` (either the instance gets the image and the removal is
# refused as "in use", or the image goes and the create says so; never an
# instance without its image).  Each race is run several times.
HANGAR_TEST_PRIVATE_NET=1
. "$(dirname "$0")/lib.sh"
hangar_store
ROUNDS=6

# The default image is built by the first create; build it before racing.
hg create warm --network none -- true >/dev/null 2>&1
ok $? "create warm (builds the default image)"

# --- two `create X` at once
for i in $(seq $ROUNDS); do
	hg create "dup$i" --network none -- sleep 1 >"$TEST_TMP/a$i.out" 2>&1 &
	pa=$!
	hg create "dup$i" --network none -- sleep 2 >"$TEST_TMP/b$i.out" 2>&1 &
	pb=$!
	wait $pa; ra=$?
	wait $pb; rb=$?
	echo "$ra $rb" >>"$TEST_TMP/dup.rc"
done
is "$(awk '($1 == 0) + ($2 == 0) == 1' "$TEST_TMP/dup.rc" | wc -l)" $ROUNDS \
	"in each of $ROUNDS races exactly one create succeeds ($(tr '\n' ' ' <"$TEST_TMP/dup.rc"))"
is "$(awk '$1 + $2 != 4' "$TEST_TMP/dup.rc" | wc -l)" 0 "the loser exits 4 (conflict), as documented"
losers=$(for i in $(seq $ROUNDS); do grep -h . "$TEST_TMP/a$i.out" "$TEST_TMP/b$i.out"; done | sort -u)
is "$losers" "$(for i in $(seq $ROUNDS); do echo "hangar: instance dup$i already exists"; done | sort -u)" \
	"each loser prints one line naming the taken name"
good=0
for i in $(seq $ROUNDS); do
	cmd=$(jq -r '.cmd | join(" ")' "$HANGAR_ROOT/instances/dup$i/instance.json" 2>/dev/null)
	[[ "$cmd" == "sleep 1" || "$cmd" == "sleep 2" ]] && [ -d "$HANGAR_ROOT/instances/dup$i/upper" ] && good=$((good + 1))
done
is "$good" $ROUNDS "each winner's instance is whole (instance.json from one create, upper dir)"
is "$(hg list --format json | jq '[.[] | select(.name | startswith("dup"))] | length')" $ROUNDS "list shows one instance per name"

# --- image rm racing create --image
src=$HANGAR_ROOT/images/default/rootfs
for i in $(seq $ROUNDS); do
	hg image import "img$i" "$src" >/dev/null 2>&1 || echo "import img$i failed" >>"$TEST_TMP/race.err"
	hg create "user$i" --image "img$i" --network none -- true >"$TEST_TMP/c$i.out" 2>&1 &
	pc=$!
	# Half the rounds give create a head start, so both orders are seen.
	[ $((i % 2)) = 0 ] && sleep 0.05
	hg image rm "img$i" >"$TEST_TMP/r$i.out" 2>&1 &
	pr=$!
	wait $pc; rc_c=$?
	wait $pr; rc_r=$?
	have_inst=no; [ -e "$HANGAR_ROOT/instances/user$i" ] && have_inst=yes
	have_img=no; [ -d "$HANGAR_ROOT/images/img$i/rootfs" ] && have_img=yes
	c_out=$(cat "$TEST_TMP/c$i.out") r_out=$(cat "$TEST_TMP/r$i.out")
	if [ $rc_c = 0 ] && [ $rc_r = 4 ] && [ $have_inst = yes ] && [ $have_img = yes ] &&
		[ "$r_out" = "hangar: image img$i is in use by instance user$i" ]; then
		echo create-won >>"$TEST_TMP/race.log"
	elif [ $rc_r = 0 ] && [ $rc_c = 3 ] && [ $have_inst = no ] && [ $have_img = no ] &&
		[ "$c_out" = "hangar: no such image: img$i" ]; then
		echo rm-won >>"$TEST_TMP/race.log"
	else
		echo "round $i: create rc=$rc_c ($c_out), rm rc=$rc_r ($r_out), instance=$have_inst image=$have_img" >>"$TEST_TMP/race.err"
	fi
done
is "$(cat "$TEST_TMP/race.err" 2>/dev/null)" "" "every race ends whole: the image in use and kept, or removed and the create refused"
diag "outcomes: $(sort "$TEST_TMP/race.log" 2>/dev/null | uniq -c | tr '\n' ' ')"
is "$(ls -A "$HANGAR_ROOT/images" | grep -v '^default$\|^img[0-9]*$')" "" "no half-made or half-removed image directory is left"
for i in $(seq $ROUNDS); do
	if [ -e "$HANGAR_ROOT/instances/user$i" ]; then
		hg start "user$i" >/dev/null 2>&1 || echo "user$i does not start" >>"$TEST_TMP/start.err"
	fi
done
is "$(cat "$TEST_TMP/start.err" 2>/dev/null)" "" "every instance that won its race starts from its image"
# --- concurrent `set --save` with different flags: none is lost
for i in $(seq $ROUNDS); do
	hg create "lim$i" --network none -- true >/dev/null 2>&1
	hg set "lim$i" --save --memory 64M >/dev/null 2>&1 &
	p1=$!
	hg set "lim$i" --save --cpus 0.5 >/dev/null 2>&1 &
	p2=$!
	hg set "lim$i" --save --pids 77 >/dev/null 2>&1 &
	p3=$!
	hg set "lim$i" --save --io-weight 300 >/dev/null 2>&1 &
	p4=$!
	hg set "lim$i" --save --cpuset 0 >/dev/null 2>&1 &
	p5=$!
	wait $p1 $p2 $p3 $p4 $p5
	jq -c '.limits | [.memory, .cpu_quota, .pids, .io_weight, .cpuset]' "$HANGAR_ROOT/instances/lim$i/instance.json" \
		>>"$TEST_TMP/lim.out"
done
is "$(sort -u "$TEST_TMP/lim.out")" '[67108864,50000,77,300,"0"]' \
	"$ROUNDS rounds of 5 parallel set --save: instance.json holds every change"

# --- destroy racing start and set on one name (destroy unlinks the lock
# file waited on): every outcome whole, never two holders of one name's lock.
for i in $(seq $ROUNDS); do
	hg create "dr$i" --network none -- sleep 1000 >/dev/null 2>&1
	hg destroy --force "dr$i" >"$TEST_TMP/dr-d$i.out" 2>&1 &
	pd=$!
	hg start "dr$i" >"$TEST_TMP/dr-s$i.out" 2>&1 &
	ps1=$!
	hg set "dr$i" --save --pids 50 >"$TEST_TMP/dr-t$i.out" 2>&1 &
	pt=$!
	hg create "dr$i" --network none -- sleep 1000 >/dev/null 2>&1 &
	pc=$!
	wait $pd $ps1 $pt $pc
	# Whatever the order, a name is either gone or a whole instance.
	if [ -e "$HANGAR_ROOT/instances/dr$i" ]; then
		jq -e '.name' "$HANGAR_ROOT/instances/dr$i/instance.json" >/dev/null 2>&1 &&
			[ -d "$HANGAR_ROOT/instances/dr$i/upper" ] ||
			echo "round $i: dr$i half made: $(ls -A "$HANGAR_ROOT/instances/dr$i")" >>"$TEST_TMP/dr.err"
		st=$(hg list --format json | jq -r --arg n "dr$i" '.[] | select(.name == $n) | .state')
		[ "$st" = RUNNING ] || [ "$st" = STOPPED ] || echo "round $i: dr$i is $st" >>"$TEST_TMP/dr.err"
		hg destroy --force "dr$i" >/dev/null 2>&1 || echo "round $i: destroy dr$i after the race failed" >>"$TEST_TMP/dr.err"
	fi
	grep -q " $HANGAR_ROOT/instances/dr$i/rootfs " /proc/self/mountinfo &&
		echo "round $i: dr$i rootfs still mounted" >>"$TEST_TMP/dr.err"
	[ -e "$HANGAR_RUN/oci/dr$i" ] && echo "round $i: OCI state of dr$i left" >>"$TEST_TMP/dr.err"
done
is "$(cat "$TEST_TMP/dr.err" 2>/dev/null)" "" "destroy racing start/set/create: every name whole or gone, nothing left mounted"
is "$(ls -A "$HANGAR_ROOT/instances" | grep '^\.')" "" "no hidden half-destroyed directory is left"
done_testing
