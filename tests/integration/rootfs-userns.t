#!/bin/bash
# The container's filesystem view inside a user namespace (device nodes bound
# from the host, flags the kernel locks kept on remounts) and idmapped bind
# mounts, through hangar-oci.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -x "$OCI" ] || skip_all "no $OCI (build first)"
command -v jq >/dev/null || skip_all "jq missing"
unshare -U true 2>/dev/null || skip_all "user namespaces unavailable"

USERNS='.linux.namespaces += [{"type":"user"}]
	| .linux.uidMappings = [{"containerID":0,"hostID":0,"size":65536}]
	| .linux.gidMappings = [{"containerID":0,"hostID":0,"size":65536}]'

B=$TEST_TMP/userns
make_bundle "$B" sh -c 'echo "userns=$(cat /proc/self/uid_map | wc -l)"; echo "nullmount=$(grep -c " /dev/null " /proc/self/mountinfo)"; echo "null=$(stat -c %t:%T /dev/null)"; echo "write_null=$(echo x >/dev/null && echo ok)"; echo "timer_list=$(wc -c </proc/timer_list)"; echo "root=$(touch /x 2>&1)"; echo "procsys=$(echo 1 2>&1 >/proc/sys/kernel/domainname)"; echo "ptmx=$(readlink /dev/ptmx)"; echo "ro=$(echo y 2>&1 >/mnt/ro/f)"; echo "roflags=$(grep " /mnt/ro " /proc/self/mountinfo | cut -d" " -f6)"'
SRC=$TEST_TMP/locked
mkdir -p "$SRC"
# A nosuid,nodev,noexec source: inside the user namespace those flags are
# locked, so the ro remount must repeat them or fail with EPERM.
mount -t tmpfs -o nosuid,nodev,noexec,size=1m tmpfs "$SRC" && at_exit umount -l "$SRC"
echo data >"$SRC/f"
cfg_edit "$B" "$USERNS | .root.readonly = true | .mounts += [{\"destination\":\"/mnt/ro\",\"type\":\"bind\",\"source\":\"$SRC\",\"options\":[\"bind\",\"ro\"]}]"
timeout 60 "$OCI" --root "$OCI_ROOT" run --bundle "$B" u1 >"$TEST_TMP/u1.out" 2>&1
ok $? "container in a user namespace runs ($(head -c 300 "$TEST_TMP/u1.out" | tr '\n' ' '))"
out=$(cat "$TEST_TMP/u1.out")
val() { sed -n "s/^$1=//p" <<<"$out"; }
is "$(val nullmount)" 1 "/dev/null is a bind of the host node (no mknod in a user namespace)"
is "$(val null)" 1:3 "/dev/null is char 1:3"
is "$(val write_null)" ok "/dev/null is usable"
is "$(val timer_list)" 0 "masked /proc/timer_list reads as empty"
like "$(val root)" "Read-only file system" "root.readonly in a user namespace"
like "$(val procsys)" "Read-only file system" "/proc/sys read-only in a user namespace"
is "$(val ptmx)" pts/ptmx "/dev/ptmx -> pts/ptmx"
like "$(val ro)" "Read-only file system" "bind,ro of a locked mount is read-only"
like "$(val roflags)" "^ro,nosuid,nodev,noexec" "the locked nosuid,nodev,noexec flags are kept"

# Idmapped bind: files owned by 0 and 5 on disk appear as 1000 and 1005.
B=$TEST_TMP/idmap
IDSRC=$TEST_TMP/idsrc
mkdir -p "$IDSRC" && touch "$IDSRC/zero" "$IDSRC/five" && chown 5:5 "$IDSRC/five"
make_bundle "$B" sh -c 'stat -c "%n %u:%g" /idm/zero /idm/five'
cfg_edit "$B" ".mounts += [{\"destination\":\"/idm\",\"type\":\"bind\",\"source\":\"$IDSRC\",\"options\":[\"bind\"],
	\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":10}],
	\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":10}]}]"
timeout 60 "$OCI" --root "$OCI_ROOT" run --bundle "$B" idm >"$TEST_TMP/idm.out" 2>&1; rc=$?
if [ $rc != 0 ] && grep -q "does not support idmapped mounts" "$TEST_TMP/idm.out"; then
	skip "idmapped mounts unsupported: $(cat "$TEST_TMP/idm.out")"
else
	ok $rc "container with an idmapped bind mount runs ($(tr '\n' ' ' <"$TEST_TMP/idm.out"))"
	is "$(tr '\n' ' ' <"$TEST_TMP/idm.out")" "/idm/zero 1000:1000 /idm/five 1005:1005 " "idmapped ownership seen in the container"
	is "$(stat -c %u "$IDSRC/zero")" 0 "the source keeps its ownership"
fi

done_testing
