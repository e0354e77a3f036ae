#!/bin/bash
# CVE-2019-5736: a runtime process inside the container's namespaces runs
# from a sealed memfd copy whenever the container could write to the
# runtime's binary through /proc/PID/exe, and skips the copy (3 ms of a
# `run`) only when it provably cannot: a read-only mount, or a new user
# namespace that maps neither a writing owner or group, nor "other" write.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -x "$OCI" ] || skip_all "hangar-oci not built at $OCI"
unshare -U true 2>/dev/null || skip_all "user namespaces unavailable"

B=$TEST_TMP/b
make_bundle "$B" sleep 100 || { fail "make bundle"; done_testing; exit; }
cp "$B/config.json" "$TEST_TMP/config.orig"
with() { jq "$1" "$TEST_TMP/config.orig" >"$B/config.json"; }
# The rootfs must be usable by the unmapped owner: it is world-readable.
USERNS='.linux.namespaces += [{type: "user"}] |
	.linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}] |
	.linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'

# init_exe BINARY ID: create with BINARY, print what the waiting init runs from.
init_exe() {
	local bin=$1 id=$2
	"$bin" --root "$OCI_ROOT" create --bundle "$B" "$id" >"$TEST_TMP/$id.out" 2>&1 </dev/null ||
		{ echo "create failed: $(cat "$TEST_TMP/$id.out")"; return; }
	readlink "/proc/$(oci state "$id" | jq -r .pid)/exe"
	oci delete --force "$id" >/dev/null 2>&1
}
memfd='memfd:hangar:\[cloned-binary\]'

with '.'
like "$(init_exe "$OCI" c1)" "$memfd" "no user namespace: the init runs from the sealed copy"

with "$USERNS"
is "$(init_exe "$OCI" c2)" "$(readlink -f "$OCI")" \
	"user namespace not mapping the binary's owner (root, mode $(stat -c %a "$OCI")): no copy"
cfg_edit "$B" '.process.args = ["sh", "-c", "id -u; echo ran"]'
is "$(oci run --bundle "$B" c2r 2>&1 | tr '\n' ' ')" "0 ran " "... and the container runs"

with '.linux.namespaces += [{type: "user"}] |
	.linux.uidMappings = [{containerID: 0, hostID: 0, size: 1}, {containerID: 1, hostID: 100001, size: 65535}] |
	.linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
like "$(init_exe "$OCI" c3)" "$memfd" "user namespace mapping host root (the owner): sealed copy"

# A copy of the binary that "other" may write.
mkdir -p "$TEST_TMP/bin"
cp "$OCI" "$TEST_TMP/bin/hangar-oci-ow"
chmod 0757 "$TEST_TMP/bin/hangar-oci-ow"
with "$USERNS"
like "$(init_exe "$TEST_TMP/bin/hangar-oci-ow" c4)" "$memfd" "binary writable by others: sealed copy in a user namespace too"
# Group-writable, with the group mapped into the container.
cp "$OCI" "$TEST_TMP/bin/hangar-oci-gw"
chown 0:100005 "$TEST_TMP/bin/hangar-oci-gw"
chmod 0775 "$TEST_TMP/bin/hangar-oci-gw"
like "$(init_exe "$TEST_TMP/bin/hangar-oci-gw" c5)" "$memfd" "binary writable by a mapped group: sealed copy"
chown 0:0 "$TEST_TMP/bin/hangar-oci-gw"
is "$(init_exe "$TEST_TMP/bin/hangar-oci-gw" c6)" "$TEST_TMP/bin/hangar-oci-gw" \
	"the same binary with an unmapped group: no copy"
# A POSIX ACL could grant write to a mapped uid: keep the copy.
if command -v setfacl >/dev/null && setfacl -m u:100000:rwx "$TEST_TMP/bin/hangar-oci-gw" 2>/dev/null; then
	like "$(init_exe "$TEST_TMP/bin/hangar-oci-gw" c7)" "$memfd" "binary with a POSIX ACL: sealed copy"
else
	skip "setfacl unavailable or ACLs unsupported on $TEST_TMP"
fi

# Joining an existing user namespace: its mappings are not in the config.
with '.process.args = ["sleep", "100"]'"| $USERNS"
oci run -d --bundle "$B" owner >/dev/null 2>&1 </dev/null
opid=$(oci state owner | jq -r .pid)
with ".linux.namespaces += [{type: \"user\", path: \"/proc/$opid/ns/user\"}]"
like "$(init_exe "$OCI" c8)" "$memfd" "joined user namespace: sealed copy"
oci delete --force owner >/dev/null 2>&1

# A read-only mount of the binary: nothing can reopen it for writing.
with '.'
mkdir -p "$TEST_TMP/robin"
cp "$OCI" "$TEST_TMP/robin/hangar-oci"
out=$(unshare -m --propagation private sh -c '
	mount --bind "$1/robin" "$1/robin" && mount -o remount,bind,ro "$1/robin" &&
	"$1/robin/hangar-oci" --root "$2" create --bundle "$3" c9 </dev/null >/dev/null 2>&1 &&
	readlink /proc/$("$1/robin/hangar-oci" --root "$2" state c9 | jq -r .pid)/exe' sh "$TEST_TMP" "$OCI_ROOT" "$B")
oci delete --force c9 >/dev/null 2>&1
is "$out" "$TEST_TMP/robin/hangar-oci" "binary on a read-only mount: no copy"

# exec follows the container's config.
with '.process.args = ["sleep", "100"]'"| $USERNS"
oci run -d --bundle "$B" e1 >/dev/null 2>&1 </dev/null
is "$(oci exec e1 sh -c 'id -u; echo exec-ok' 2>&1 | tr '\n' ' ')" "0 exec-ok " "exec into a user-namespace container"
oci delete --force e1 >/dev/null 2>&1
with '.process.args = ["sleep", "100"]'
oci run -d --bundle "$B" e2 >/dev/null 2>&1 </dev/null
is "$(oci exec e2 echo exec-ok 2>&1)" exec-ok "exec into a container without a user namespace"
oci delete --force e2 >/dev/null 2>&1

done_testing
