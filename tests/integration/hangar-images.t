#!/bin/bash
# hangar images (import a directory and a tarball, list, rm refused while in
# use), logs (rotation at 1 MiB, -f), bind mounts and bash completion.
HANGAR_TEST_PRIVATE_NET=1
. "$(dirname "$0")/lib.sh"
hangar_store

# A source tree with what an image copy must keep.
src=$TEST_TMP/src
out=$("$TOP/scripts/mkrootfs-busybox" "$src" 2>&1) ||
	bail_out "scripts/mkrootfs-busybox failed (busybox-static missing? scripts/install-deps installs it): $(tail -1 <<<"$out")"
echo marker-dir > "$src/etc/marker"
chown 123:456 "$src/etc/marker"
chmod 4711 "$src/etc/marker"
ln "$src/etc/marker" "$src/etc/marker-link"
setfattr -n user.hangar -v kept "$src/etc/marker" 2>/dev/null && xattr=1 || xattr=0

out=$(hg image import fromdir "$src" 2>&1)
ok $? "image import from a directory ($out)"
img=$HANGAR_ROOT/images/fromdir/rootfs
is "$(stat -c '%a %u %g' "$img/etc/marker")" "4711 123 456" "mode (set-uid) and owner kept"
is "$(stat -c %i "$img/etc/marker")" "$(stat -c %i "$img/etc/marker-link")" "hard link kept"
if [ "$xattr" = 1 ]; then
	is "$(getfattr --only-values -n user.hangar "$img/etc/marker" 2>/dev/null)" kept "xattr kept"
else
	skip "no user xattrs on $TEST_TMP"
fi
tar -C "$src" -czf "$TEST_TMP/img.tar.gz" --numeric-owner .
echo marker-tar > "$TEST_TMP/marker"
out=$(hg image import fromtar "$TEST_TMP/img.tar.gz" 2>&1)
ok $? "image import from a tarball ($out)"
is "$(stat -c '%a %u %g' "$HANGAR_ROOT/images/fromtar/rootfs/etc/marker")" "4711 123 456" "tarball: mode and numeric owner kept"
out=$(hg image import fromtar "$src" 2>&1)
ok "$([ $? = 4 ] && [[ "$out" == *"already exists"* ]]; echo $?)" "import under a taken name refused: $out"
printf 'not a tarball' > "$TEST_TMP/bad.tar"
out=$(hg image import bad "$TEST_TMP/bad.tar" 2>&1)
ok "$([ $? != 0 ] && [[ "$out" == *"tar failed"* ]] && [ ! -e "$HANGAR_ROOT/images/bad" ] && [ -z "$(ls -A "$HANGAR_ROOT/images" | grep '^\.')" ]; echo $?)" "a broken tarball fails with tar's reason and leaves nothing: $out"

hg create fromimg --image fromdir --network none --mount "$TEST_TMP:/host:ro" -- sh -c 'exec sleep 1000' >/dev/null
hg start fromimg
is "$(hg exec fromimg -- cat /etc/marker 2>&1 | tr -d '\r')" marker-dir "instance runs on the imported image"
is "$(hg exec fromimg -- cat /host/marker 2>&1 | tr -d '\r')" marker-tar "--mount binds a host directory"
hg exec fromimg -- sh -c 'echo x > /host/new' 2>/dev/null
ok "$([ ! -e "$TEST_TMP/new" ]; echo $?)" "--mount ...:ro is read-only"
json=$(hg image list --format json)
is "$(jq -r '.[] | select(.name=="fromdir") | .instances | join(",")' <<<"$json")" fromimg "image list: fromdir used by fromimg"
ok "$(jq -e '.[] | select(.name=="fromdir") | .size > 500000' <<<"$json" >/dev/null; echo $?)" "image list: size"
like "$(hg image list | grep '^fromtar ')" "^fromtar +[0-9.]+[KM]iB +20[0-9-]+T" "image list table: name, size, created"
out=$(hg image rm fromdir 2>&1)
ok "$([ $? = 4 ] && [[ "$out" == *"in use by instance fromimg"* ]]; echo $?)" "image rm refused while in use: $out"
hg destroy --force fromimg
out=$(hg image rm fromdir 2>&1)
ok $? "image rm once unused ($out)"
ok "$([ ! -e "$HANGAR_ROOT/images/fromdir" ]; echo $?)" "image directory removed"

# Logs: rotation keeps two generations of at most 1 MiB.
hg create chatty --network none -- sh -c 'i=0; while [ $i -lt 40000 ]; do echo "line $i of chatter padding padding padding"; i=$((i+1)); done; echo chatty-done; exec sleep 1000' >/dev/null
hg start chatty
wait_for "hg logs chatty | grep -q chatty-done" 300
ok $? "logs shows the whole output"
log=$HANGAR_ROOT/instances/chatty/log
ok "$([ -f "$log.1" ] && [ "$(stat -c %s "$log")" -le 1048576 ] && [ "$(stat -c %s "$log.1")" -le 1048576 ]; echo $?)" "log rotated at 1 MiB ($(stat -c %s "$log" "$log.1" 2>/dev/null | tr '\n' ' '))"
hg logs -f chatty > "$TEST_TMP/follow" 2>&1 &
fpid=$!
sleep 0.5
hg exec chatty -- sh -c 'echo late-line > /proc/1/fd/1'
wait_for "grep -q late-line '$TEST_TMP/follow'" 50
ok $? "logs -f shows new console output"
hg stop --timeout 0 chatty
wait_for "! kill -0 $fpid" 50
ok $? "logs -f ends when the instance stops"

# Bash completion offers verbs and instance names.
if [ ! -f /usr/share/bash-completion/bash_completion ]; then
	fail "bash-completion is not installed (package bash-completion: scripts/install-deps --test)"
else
	comp=$(HANGAR_ROOT=$HANGAR_ROOT bash -c '
		. /usr/share/bash-completion/bash_completion
		. "$0"
		COMP_WORDS=(hangar sta); COMP_CWORD=1; COMP_LINE="hangar sta"; COMP_POINT=${#COMP_LINE}
		_hangar; echo "${COMPREPLY[*]}"
		COMP_WORDS=(hangar start ch); COMP_CWORD=2; COMP_LINE="hangar start ch"; COMP_POINT=${#COMP_LINE}
		_hangar; echo "${COMPREPLY[*]}"' "$TOP/cli/hangar/hangar.bash-completion" 2>&1)
	is "$comp" "$(printf 'start stats\nchatty')" "bash completion: verbs and instance names"
fi
done_testing
