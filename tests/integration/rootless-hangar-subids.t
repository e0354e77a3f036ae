#!/bin/bash
# `hangar` as a user maps the user's subordinate ranges (newuidmap and
# newgidmap), keeps the mapping in the instance across restarts, and imports
# images inside that mapping, so image owners survive: image uid N belongs
# to the host id mapped to N.  A user without ranges gets the single-id
# mapping and one note.  Device nodes in an image are skipped with a note.
HANGAR_TEST_PRIVATE_NET=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootless-lib.sh"
[ -x "$HANGAR" ] || { echo "Bail out! $HANGAR not built"; exit 1; }

rl_make_user A ranges || { echo "Bail out! cannot create a test user"; exit 1; }
rl_make_user N none || { echo "Bail out! cannot create a test user"; exit 1; }
uid=$(id -u "$A")
sub_u=$(awk -F: -v u="$A" '$1 == u {print $2; exit}' /etc/subuid)
sub_g=$(awk -F: -v u="$A" '$1 == u {print $2; exit}' /etc/subgid)
UH() { (cd / && rl_as "$A" "$HANGAR" "$@"); }
NH() { (cd / && rl_as "$N" "$HANGAR" "$@"); }
at_exit 'for n in $(UH list 2>/dev/null | awk "NR > 1 {print \$1}"); do UH destroy --force "$n"; done'

# A tarball with files of root, of 1000, a setgid directory and a device node.
T=$TEST_TMP/img
mkdir -p "$T" && cp -a "$(_rootfs_cache)/." "$T/"
mkdir -p "$T/data/shared" "$T/dev"
echo root >"$T/data/f0" && chown 0:0 "$T/data/f0"
echo user >"$T/data/f1000" && chown 1000:1000 "$T/data/f1000"
chown 0:1000 "$T/data/shared" && chmod 2775 "$T/data/shared"
mknod "$T/dev/hangar-test-null" c 1 3
tar -C "$T" --numeric-owner -cf "$TEST_TMP/img.tar" .
chmod 644 "$TEST_TMP/img.tar"

out=$(UH image import img "$TEST_TMP/img.tar" 2>&1)
ok $? "image import as $A: $out"
is "$out" "hangar: warning: 1 device node skipped: an unprivileged user cannot create them (the instance's /dev is made at start)" \
	"the skipped device node is said in one line"
store=$(getent passwd "$A" | cut -d: -f6)/.local/share/hangar
R=$store/images/img/rootfs
is "$(stat -c %u:%g "$R/data/f1000")" "$((sub_u + 999)):$((sub_g + 999))" "image uid/gid 1000 is subuid/subgid base + 999 on the host"
is "$(stat -c %u:%g "$R/data/f0")" "$uid:$(id -g "$A")" "image root is $A on the host"
is "$(stat -c %a:%g "$R/data/shared")" "2775:$((sub_g + 999))" "the setgid directory keeps its mode and group"
[ ! -e "$R/dev/hangar-test-null" ]
ok $? "the device node is not in the image"

# A directory import: the user's own tree, with files of its subordinate
# ids, keeps them; a tree with a file of another owner is refused.
UD=$TEST_TMP/udir
mkdir -p "$UD/etc" && echo mine >"$UD/etc/own" && echo sub >"$UD/etc/sub"
chown -R "$A:$A" "$UD" && chown $((sub_u + 999)):$((sub_g + 999)) "$UD/etc/sub"
out=$(UH image import dimg "$UD" 2>&1)
ok $? "directory import as $A: $out"
DR=$store/images/dimg/rootfs
is "$(stat -c %u:%u "$DR/etc/own" "$DR/etc/sub" | tr '\n' ' ')" "$uid:$uid $((sub_u + 999)):$((sub_u + 999)) " \
	"owners are kept: $A stays $A, subuid base + 999 stays"
echo root >"$UD/etc/rootfile"
out=$(UH image import dimg2 "$UD" 2>&1)
rc=$?
[ $rc != 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
	[[ "$out" == *"$UD/etc/rootfile belongs to 0:0, outside your id mapping"* ]]
ok $? "a file of root in the directory is refused, naming it: $out"
[ ! -e "$store/images/dimg2" ] && [ -z "$(ls -A "$store/images" | grep '^\.')" ]
ok $? "the refused import leaves nothing in the store"
UH image rm dimg >/dev/null 2>&1

UH create s1 --image img -- sleep 300 >"$TEST_TMP/create.out" 2>&1
ok $? "create from the imported image as $A"
is "$(cat "$TEST_TMP/create.out")" "" "no note with ranges"
like "$(jq -c .uidMappings "$store/instances/s1/instance.json")" "\"hostID\":$sub_u" "the mapping is stored with the instance"
UH start s1 >/dev/null 2>&1
ok $? "start s1"
map=$(UH exec s1 cat /proc/self/uid_map | tr -d '\r' | awk '{print $1, $2, $3}')
like "$map" "^0 $uid 1
1 $sub_u 65536" "uid_map inside: 0 -> $A, 1.. -> the subordinate range"
is "$(UH exec s1 sh -c 'ls -ln /data | awk "NR > 1 {print \$3, \$4, \$9}"' | tr -d '\r')" "0 0 f0
1000 1000 f1000
0 1000 shared" "ls -ln inside shows the image's owners"
UH exec s1 sh -c 'echo x >/data/new && chown 1000:1000 /data/new' >/dev/null 2>&1
ok $? "chown to 1000 inside works"
is "$(stat -c %u "$store/instances/s1/upper/data/new" 2>&1)" "$((sub_u + 999))" "it lands on subuid base + 999 in the upper dir"
UH stop -t 1 s1 >/dev/null 2>&1
UH start s1 >/dev/null 2>&1
ok $? "start again"
is "$(UH exec s1 stat -c %u /data/new | tr -d '\r')" 1000 "after a restart the mapping agrees: still 1000"
UH stop -t 1 s1 >/dev/null 2>&1
out=$(UH destroy s1 2>&1)
ok $? "destroy removes files of subordinate ids: $out"
out=$(UH image rm img 2>&1)
ok $? "image rm removes them as well: $out"
is "$(ls -A "$store/instances" "$store/images" 2>&1 | grep -v -e ':$' -e '^$' -e '^default$')" "" "nothing left in the store"

# Without ranges: the single-id mapping with one note; owners collapse to the user.
out=$(NH create n1 -- true 2>&1)
ok $? "create as $N (no ranges)"
is "$(printf '%s\n' "$out" | wc -l)" 1 "exactly one line"
like "$out" "^hangar: warning: $N has no range in /etc/subuid; using a single-id mapping" "it says why: $out"
out=$(NH image import img "$TEST_TMP/img.tar" 2>&1)
ok $? "import as $N: $out"
NR=$(getent passwd "$N" | cut -d: -f6)/.local/share/hangar/images/img/rootfs
is "$(stat -c %u "$NR/data/f1000")" "$(id -u "$N")" "without ranges every file is $N's"
NH destroy n1 >/dev/null 2>&1
NH image rm img >/dev/null 2>&1
ok $? "image rm as $N"

done_testing
