#!/bin/bash
# Two unprivileged users and `hangar`: B can neither see nor touch A's
# instances, through A's store (--root/--run) or through its own; B may use
# the same name; A's instance survives B's attempts.  A's home, data parent
# and XDG_RUNTIME_DIR are 0755, so what protects A is hangar's own 0700
# directories, not a parent directory.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootless-lib.sh"
[ -x "$HANGAR" ] || { echo "Bail out! $HANGAR not built"; exit 1; }

rl_make_user A ranges || { echo "Bail out! cannot create a test user"; exit 1; }
rl_make_user B ranges || { echo "Bail out! cannot create a test user"; exit 1; }
ahome=$(getent passwd "$A" | cut -d: -f6)
chmod 0755 "$ahome" "$TEST_TMP/xdg-$A"
install -d -m 0755 -o "$A" -g "$A" "$ahome/.local" "$ahome/.local/share"
ADATA=$ahome/.local/share/hangar
ARUN=$TEST_TMP/xdg-$A/hangar
HA() { (cd / && rl_as "$A" "$HANGAR" "$@"); }
HB() { (cd / && rl_as "$B" "$HANGAR" "$@"); }

HA run -d shared --network none -- sleep 300 </dev/null >/dev/null 2>&1
ok $? "$A starts an instance with hangar"
like "$(HA list 2>&1)" "shared +RUNNING" "$A's list shows it running"
is "$(stat -c %a "$ADATA" "$ARUN" 2>&1 | tr '\n' ' ')" "700 700 " "hangar made $A's data and run directories 0700"
apid=$(pgrep -u "$A" -f "sleep 300" | head -1)
[ -n "$apid" ]
ok $? "its process runs as $A ($apid)"

for verb in list "info shared" "exec shared true" "stop -t 1 shared" "destroy --force shared" "console shared" \
	"logs shared" "stats shared" "set shared --pids 10 --save"; do
	out=$(HB --root "$ADATA" --run "$ARUN" $verb 2>&1 </dev/null)
	rc=$?
	[ $rc != 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ "$out" =~ "$ADATA belongs to uid $(id -u "$A")".*[Pp]ermission\ denied ]]
	ok $? "$B: hangar --root/--run <$A's> $verb fails in one line, permission denied ($out)"
done
# The run directory alone (B's own data directory): refused the same way.
for verb in list "console shared" "exec shared true"; do
	out=$(HB --run "$ARUN" $verb 2>&1 </dev/null)
	rc=$?
	[ $rc != 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ "$out" =~ "$ARUN belongs to uid".*[Pp]ermission\ denied ]]
	ok $? "$B: hangar --run <$A's> $verb fails in one line, permission denied ($out)"
done

out=$(HB list 2>&1)
ok $? "$B lists its own store"
! [[ "$out" =~ shared ]]
ok $? "$B's list shows nothing of $A's"
out=$(HB info shared 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ (no such instance|not found|does not exist) ]]
ok $? "$B: info shared in its own store: not found ($out)"

HB run -d shared --network none -- sleep 301 </dev/null >/dev/null 2>&1
ok $? "$B can use the same name in its own store"
like "$(HB list 2>&1)" "shared +RUNNING" "$B's own shared runs"
HB destroy --force shared
ok $? "$B destroys its own"

like "$(HA list 2>&1)" "shared +RUNNING" "$A's instance is still running"
kill -0 "$apid" 2>/dev/null
ok $? "with the same process ($apid)"
is "$(HA exec shared id -u 2>&1 | tr -d '\r')" 0 "$A can still exec in it"
HA destroy --force shared
ok $? "$A destroys it"
is "$(ls -A "$ADATA/instances" 2>&1)" "" "nothing of it is left in $A's store"

done_testing
