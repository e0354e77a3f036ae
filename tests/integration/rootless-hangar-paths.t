#!/bin/bash
# Where a rootless hangar keeps its store, and that it accepts only places
# that are the user's alone: the run directory (console sockets,
# monitor.json, OCI state) falls back to /tmp/hangar-run-UID without
# XDG_RUNTIME_DIR, and one pre-created there by someone else, as a symlink or
# writable by others is refused, as hangar-oci refuses its /tmp fallback.
# XDG_DATA_HOME is honoured; without HOME and XDG_DATA_HOME there is no store
# under /tmp.  Everything runs as throwaway users.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootless-lib.sh"
[ -x "$HANGAR" ] || { echo "Bail out! $HANGAR not built"; exit 1; }

rl_make_user A ranges || { echo "Bail out! cannot create a test user"; exit 1; }
uid=$(id -u "$A")
HOME_A=$(getent passwd "$A" | cut -d: -f6)
FB=/tmp/hangar-run-$uid
# No XDG_RUNTIME_DIR, as from a su or a cron job; HOME only.
noxdg() { (cd "$HOME_A" && runuser -u "$A" -- env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
	HOME="$HOME_A" USER="$A" LOGNAME="$A" ${RL_ENV:-} "$HANGAR" "$@"); }
at_exit "rm -rf $FB"
owned_by_a() { [ "$(stat -c %U "$1" 2>/dev/null)" = "$A" ]; }
at_exit 'for n in $(noxdg list 2>/dev/null | awk "NR > 1 {print \$1}"); do noxdg destroy --force "$n"; done'

# --- hostile run directories made before the user's first command
rm -rf "$FB"
mkdir -m 0755 "$FB"
out=$(noxdg list 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ "run directory $FB is owned by uid 0, not by us" ]] && [ "$(wc -l <<<"$out")" = 1 ]
ok $? "a run directory owned by another user is refused in one line: $out"
rmdir "$FB"
mkdir -m 0700 "$TEST_TMP/elsewhere"
ln -s "$TEST_TMP/elsewhere" "$FB"
out=$(noxdg list 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ "$FB is not a directory (a symlink?)" ]]
ok $? "a symlink as run directory is refused: $out"
rm -f "$FB"
chown "$A:" "$TEST_TMP/elsewhere"
ln -s "$TEST_TMP/elsewhere" "$FB"
out=$(noxdg list 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ "not a directory" ]] && [ -z "$(ls -A "$TEST_TMP/elsewhere")" ]
ok $? "also a symlink to a directory $A owns, and nothing is made through it"
rm -f "$FB"
mkdir -m 0777 "$FB"
chown "$A:" "$FB"
out=$(noxdg list 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ "has mode 0777 (writable by others)" ]] && [[ "$out" =~ "set XDG_RUNTIME_DIR or pass --run" ]]
ok $? "a run directory writable by others is refused, even when $A owns it: $out"
[ -z "$(ls -A "$FB")" ]
ok $? "nothing was made inside a refused run directory"
rm -rf "$FB"
out=$(cd "$HOME_A" && rl_as "$A" env XDG_RUNTIME_DIR=/tmp "$HANGAR" list 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ "XDG_RUNTIME_DIR /tmp is owned by uid 0" ]] && ! owned_by_a /tmp/hangar
ok $? "an XDG_RUNTIME_DIR that is not $A's is refused: $out"

# --- no XDG_RUNTIME_DIR: a private /tmp/hangar-run-UID, and instances work
out=$(noxdg list 2>&1)
ok $? "list without XDG_RUNTIME_DIR works ($out)"
is "$(stat -c '%U %a' "$FB" 2>&1)" "$A 700" "the run directory $FB is made 0700 and owned by $A"
is "$(stat -c '%U %a' "$HOME_A/.local/share/hangar" 2>&1)" "$A 700" "the store is in \$HOME/.local/share/hangar, 0700"
chmod 0750 "$FB"
noxdg list >/dev/null 2>&1
is "$(stat -c %a "$FB")" 700 "a run directory of $A's with wider read bits is tightened to 0700"
out=$(noxdg create p1 --network none -- sleep 600 2>&1) && out=$(noxdg start p1 2>&1)
ok $? "create and start an instance without XDG_RUNTIME_DIR ($out)"
is "$(noxdg exec p1 -- id -u 2>&1)" 0 "exec into it"
[ -f "$FB/instances/p1/monitor.json" ] && [ "$(stat -c %U "$FB/instances/p1/monitor.json")" = "$A" ]
ok $? "its monitor state is in $FB, owned by $A"
noxdg destroy --force p1 >/dev/null 2>&1
ok $? "destroy it"
[ ! -e "$FB/instances/p1" ] && [ ! -e "$HOME_A/.local/share/hangar/instances/p1" ]
ok $? "nothing of it is left"

# --- the data directory
XD=$TEST_TMP/xdgdata-$A
install -d -m 0700 -o "$A" -g "$A" "$XD"
out=$(cd "$HOME_A" && rl_as "$A" env XDG_DATA_HOME="$XD" "$HANGAR" create x1 --network none -- true 2>&1)
ok $? "create with XDG_DATA_HOME set ($out)"
[ -f "$XD/hangar/instances/x1/instance.json" ] && [ ! -e "$HOME_A/.local/share/hangar/instances/x1" ]
ok $? "the instance is kept in \$XDG_DATA_HOME/hangar, not in \$HOME/.local/share"
is "$(stat -c '%U %a' "$XD/hangar")" "$A 700" "\$XDG_DATA_HOME/hangar is 0700 and $A's"
(cd "$HOME_A" && rl_as "$A" env XDG_DATA_HOME="$XD" "$HANGAR" destroy x1 >/dev/null 2>&1)
ok $? "destroy it from the same store"
XD2=$TEST_TMP/xdgdata2-$A
install -d -m 0755 -o "$A" -g "$A" "$XD2"
mkdir -m 0755 "$XD2/hangar"
out=$(cd "$HOME_A" && rl_as "$A" env XDG_DATA_HOME="$XD2" "$HANGAR" list 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ "data directory $XD2/hangar is owned by uid 0" ]]
ok $? "a data directory owned by another user is refused: $out"
out=$(cd / && runuser -u "$A" -- env -i PATH=/usr/bin:/bin XDG_RUNTIME_DIR="$TEST_TMP/xdg-$A" "$HANGAR" list 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ "neither HOME nor XDG_DATA_HOME is set: refusing to keep instances under /tmp" ]] &&
	! owned_by_a /tmp/.local && [ "$(wc -l <<<"$out")" = 1 ]
ok $? "without HOME and XDG_DATA_HOME nothing is kept under /tmp: $out"

done_testing
