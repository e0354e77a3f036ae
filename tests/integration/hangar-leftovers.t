#!/bin/bash
# Image builds do not hold the global lock: an import stuck on its source
# (a FIFO held open) does not block `create` of another instance, and a name
# taken while it built is a clean one-line error leaving no temporary dir.
# Hidden leftovers of commands killed -9 mid-way (.NAME.tmp.PID,
# .NAME.destroy.PID, .NAME.rm.PID) are removed by the next `list` once their
# PID is gone, and kept while it lives.
HANGAR_TEST_PRIVATE_NET=1
. "$(dirname "$0")/lib.sh"
hangar_store
images=$HANGAR_ROOT/images

hg create warm --network none -- true >/dev/null 2>&1
ok $? "create warm (builds the default image)"
tar -C "$images/default/rootfs" -cf "$TEST_TMP/img.tar" .

# --- an import blocked on a FIFO holds no global lock
mkfifo "$TEST_TMP/fifo"
exec 7<>"$TEST_TMP/fifo" # a writer that never writes: tar waits
"$HANGAR" image import slow "$TEST_TMP/fifo" >"$TEST_TMP/slow.out" 2>&1 &
pimp=$!
at_exit "kill -9 $pimp"
wait_for "ls -d '$images'/.slow.tmp.* " 100
ok $? "the import is under way (.slow.tmp.PID exists)"
timeout 20 "$HANGAR" create other --network none -- true >/dev/null 2>&1
ok $? "create of another instance does not wait for the import"
timeout 20 "$HANGAR" destroy other >/dev/null 2>&1
ok $? "nor does destroy"
# The name is taken while the import builds: the import fails at its rename.
out=$(timeout 20 "$HANGAR" image import slow "$images/default/rootfs" 2>&1)
ok $? "another import takes the name meanwhile ($out)"
cat "$TEST_TMP/img.tar" >&7
exec 7>&-
wait $pimp
rc=$?
is "$rc $(cat "$TEST_TMP/slow.out")" "4 hangar: import slow: image slow already exists" \
	"the slow import finds the name taken at its rename: one line, exit 4"
is "$(ls -A "$images" | grep '^\.')" "" "and leaves no temporary directory"
is "$(jq -r .source "$images/slow/image.json")" "$images/default/rootfs" "the winner's image is intact"

# --- an import killed -9 mid-way leaves .NAME.tmp.PID; list removes it
mkfifo "$TEST_TMP/fifo2"
exec 7<>"$TEST_TMP/fifo2"
"$HANGAR" image import killed "$TEST_TMP/fifo2" >/dev/null 2>&1 &
pkill_me=$!
wait_for "ls -d '$images'/.killed.tmp.$pkill_me" 100
ok $? "import of killed under way ($images/.killed.tmp.$pkill_me)"
hg list >/dev/null 2>&1
ok "$([ -d "$images/.killed.tmp.$pkill_me" ]; echo $?)" "list keeps the temporary dir of a live import"
kill -9 $pkill_me
wait $pkill_me 2>/dev/null
exec 7>&-
ok "$([ -d "$images/.killed.tmp.$pkill_me" ]; echo $?)" "killed -9: its temporary dir is left behind"
out=$(hg list 2>&1 >/dev/null)
is "$out" "" "list says nothing about it"
ok "$([ ! -e "$images/.killed.tmp.$pkill_me" ]; echo $?)" "list removed the dead import's temporary dir"
is "$(hg image list 2>/dev/null | grep -c killed)" 0 "no image killed was made"

# --- destroy and image rm leftovers: a dead PID's go, a live PID's stay
sleep 1000 &
live=$!
at_exit "kill -9 $live"
sh -c 'exit 0' &
dead=$!
wait $dead
mkdir -p "$HANGAR_ROOT/instances/.gone.destroy.$dead/upper/etc" "$HANGAR_ROOT/instances/.busy.destroy.$live" \
	"$images/.old.rm.$dead/rootfs/bin" "$images/.busy.rm.$live" "$images/.busy.tmp.$live"
echo x >"$HANGAR_ROOT/instances/.gone.destroy.$dead/upper/etc/f"
chattr +i "$HANGAR_ROOT/instances/.gone.destroy.$dead/upper/etc/f" 2>/dev/null && immutable=1 || immutable=0
if [ $immutable = 1 ]; then
	# rm fails (an immutable file): list says why in one line, removes what it can later
	out=$(hg list 2>&1 >/dev/null)
	ok "$([ "$(echo "$out" | wc -l)" = 1 ] && [[ "$out" == *".gone.destroy.$dead"* ]]; echo $?)" \
		"a leftover that cannot be removed: one warning naming it ($out)"
	chattr -i "$HANGAR_ROOT/instances/.gone.destroy.$dead/upper/etc/f"
fi
hg list >/dev/null 2>&1
ok "$([ ! -e "$HANGAR_ROOT/instances/.gone.destroy.$dead" ] && [ ! -e "$images/.old.rm.$dead" ]; echo $?)" \
	"list removed the destroy and rm leftovers of a dead PID"
is "$(cd "$HANGAR_ROOT/instances" && ls -A | grep '^\.'; cd "$images" && ls -A | grep '^\.')" \
	"$(printf '.busy.destroy.%s\n.busy.rm.%s\n.busy.tmp.%s' $live $live $live)" \
	"those of a live PID are kept"
is "$(hg list --format json | jq -r '.[].name' | tr '\n' ' ')" "warm " "list shows only the real instance"
done_testing
