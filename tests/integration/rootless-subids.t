#!/bin/bash
# Subordinate id ranges: spec --rootless --subids maps 0 -> the user and
# 1..65536 -> the /etc/subuid and /etc/subgid range through newuidmap and
# newgidmap; a user without ranges gets a single-id mapping with a note;
# mappings outside the user's ranges are refused naming the range.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootless-lib.sh"

rl_make_user A ranges || { echo "Bail out! cannot create a test user"; exit 1; }
rl_make_user N none || { echo "Bail out! cannot create a test user"; exit 1; }
uid=$(id -u "$A") gid=$(id -g "$A")
sub_u=$(awk -F: -v u="$A" '$1 == u {print $2; exit}' /etc/subuid)
sub_g=$(awk -F: -v u="$A" '$1 == u {print $2; exit}' /etc/subgid)
cnt_u=$(awk -F: -v u="$A" '$1 == u {print $3; exit}' /etc/subuid)
diag "$A: uid $uid, subuid $sub_u+$cnt_u, subgid $sub_g"

# --- a user with ranges
B=$TEST_TMP/b1
RL_SPEC_FLAGS=--subids rl_bundle "$A" "$B" sh -c 'cat /proc/self/uid_map /proc/self/gid_map;
	touch /tmp/made-by-root /tmp/made-by-1000; chown 1000:1000 /tmp/made-by-1000 && echo chown-ok;
	ls -ln /etc/passwd'
ok $? "spec --rootless --subids as $A"
is "$(jq -c '.linux.uidMappings' "$B/config.json")" \
	"[{\"containerID\":0,\"hostID\":$uid,\"size\":1},{\"containerID\":1,\"hostID\":$sub_u,\"size\":$cnt_u}]" \
	"uidMappings: 0 -> $uid, 1.. -> the subuid range"
is "$(jq -c '.linux.gidMappings[1].hostID' "$B/config.json")" "$sub_g" "gidMappings use the subgid range"
# chown needs CAP_CHOWN, which runc's default capability set leaves out.
cfg_edit "$B" '.process.capabilities.bounding += ["CAP_CHOWN"] | .process.capabilities.effective += ["CAP_CHOWN"] | .process.capabilities.permitted += ["CAP_CHOWN"]'
chown "$A:" "$B/config.json"
out=$(cd "$B" && rl_oci "$A" run s1 2>&1)
ok $? "run with the range mapping"
like "$out" "^ +0 +$uid +1
 +1 +$sub_u +$cnt_u
 +0 +$gid +1
 +1 +$sub_g +" "the kernel has both uid_map lines and both gid_map lines"
like "$out" "chown-ok" "root inside can chown to uid 1000"
like "$out" "-rw-r--r-- +1 0 +0 " "files owned by $A appear as root inside"
is "$(stat -c '%u:%g' "$B/rootfs/tmp/made-by-root")" "$uid:$gid" "a file made by root inside belongs to $A on the host"
is "$(stat -c '%u:%g' "$B/rootfs/tmp/made-by-1000")" "$((sub_u + 999)):$((sub_g + 999))" \
	"a file of uid 1000 inside belongs to subordinate id $((sub_u + 999)) on the host"

# exec as another mapped user
B2=$TEST_TMP/b2
RL_SPEC_FLAGS=--subids rl_bundle "$A" "$B2" sleep 300
rl_oci "$A" run -d --bundle "$B2" s2 </dev/null >/dev/null 2>&1
ok $? "run -d with the range mapping"
is "$(rl_oci "$A" exec --user 1000:1000 s2 id -u)" 1000 "exec --user 1000 inside"
pid=$(rl_oci "$A" state s2 | jq -r .pid)
is "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" "$uid" "init runs as $A on the host"
rl_oci "$A" delete --force s2

# a mapping outside the user's ranges is refused with the reason
cfg_edit "$B" ".linux.uidMappings[1].hostID = $((sub_u + cnt_u + 1000000))"
chown "$A:" "$B/config.json"
out=$(cd "$B" && rl_oci "$A" run s3 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ "outside $A's ranges in /etc/subuid" ]]
ok $? "a range the user does not own is refused: $out"
[ -z "$(ls "$TEST_TMP/xdg-$A/hangar-oci" 2>/dev/null)" ]
ok $? "the refused container left no state"

# --- a user without ranges
B3=$TEST_TMP/b3
mkdir -p "$B3" && chown "$N:" "$B3"
note=$(cd "$B3" && rl_oci "$N" spec --rootless --subids 2>&1)
ok $? "spec --rootless --subids without ranges still writes a config"
like "$note" "$N has no range in /etc/sub[ug]id; using a single-id mapping" "with a note saying why"
is "$(jq -c '[(.linux.uidMappings | length), (.linux.gidMappings | length)]' "$B3/config.json")" "[1,1]" \
	"and a single-id mapping"
rm -f "$B3/config.json"
RL_SPEC_FLAGS=--subids rl_bundle "$N" "$B3" sh -c 'id -u; cat /proc/self/uid_map' 2>/dev/null
out=$(cd "$B3" && rl_oci "$N" run n1 2>&1)
ok $? "the single-id fallback runs"
like "$out" "^0
 +0 +$(id -u "$N") +1$" "as root inside, one id mapped"
cfg_edit "$B3" ".linux.uidMappings += [{\"containerID\": 1, \"hostID\": $sub_u, \"size\": 100}]"
chown "$N:" "$B3/config.json"
out=$(cd "$B3" && rl_oci "$N" run n2 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ "need a subordinate range, but $N has none in /etc/subuid" ]]
ok $? "ranges without a subuid entry are refused clearly: $out"

done_testing
