#!/bin/bash
# Rootless podman with hangar-oci as its runtime.  podman runs the runtime
# as uid 0 of its own user namespace, without --root: hangar-oci must see
# that as rootless (runc's rule: uid 0 of a namespace an unprivileged user
# made, $USER not "root"), keep its state in $XDG_RUNTIME_DIR and not try
# host cgroups.  The same rule is checked directly with unshare -r.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootless-lib.sh"

rl_make_user A ranges || { echo "Bail out! cannot create a test user"; exit 1; }
XDG=$TEST_TMP/xdg-$A

# --- runc's rule, without podman: uid 0 in an unprivileged user namespace
B=$TEST_TMP/b1
rl_bundle "$A" "$B" sleep 300
rl_oci "$A" run -d --bundle "$B" u1 </dev/null >/dev/null 2>&1
ok $? "$A runs a container"
out=$(rl_as "$A" unshare -U -r "$OCI" list 2>&1)
like "$out" "u1 +[0-9]+ +running" "as uid 0 of $A's user namespace the default root is still \$XDG_RUNTIME_DIR/hangar-oci"
out=$(rl_as "$A" unshare -U -r env USER=root "$OCI" create --bundle "$B" u2 2>&1 </dev/null)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ /run/hangar-oci ]]
ok $? "with USER=root it is treated as privileged (like runc) and /run is not writable: $out"
rl_oci "$A" delete --force u1

# --- podman
command -v podman >/dev/null || { skip "podman not installed"; done_testing; exit; }
home=$(getent passwd "$A" | cut -d: -f6)
mkdir -p "$home/.config/containers"
# No CAP_SYS_RESOURCE on this machine kind (docs/clients.md).
printf '[containers]\ndefault_ulimits = ["nofile=20000:20000","nproc=32768:32768"]\n' \
	>"$home/.config/containers/containers.conf"
chown -R "$A:" "$home/.config"
tar -C "$(_rootfs_cache)" -cf "$TEST_TMP/bbox.tar" .
chmod 644 "$TEST_TMP/bbox.tar"
P() { rl_as "$A" timeout 120 podman --runtime "$OCI" "$@"; }
P import "$TEST_TMP/bbox.tar" localhost/bbox >/dev/null 2>&1
ok $? "podman import as $A"
out=$(P run --rm --network none localhost/bbox sh -c 'id -u; cat /proc/self/uid_map; echo podman-ok' 2>&1)
ok $? "podman run as $A with hangar-oci ($(echo "$out" | tail -n 1))"
like "$out" "^0
 +0 +$(id -u "$A") +1
 +1 +[0-9]+ +[0-9]+
podman-ok" "root inside, the user's subordinate range mapped by podman"
P run -d --name p1 --network none localhost/bbox sleep 300 >/dev/null 2>&1
ok $? "podman run -d"
[ -d "$XDG/hangar-oci" ] && [ -n "$(ls "$XDG/hangar-oci")" ]
ok $? "hangar-oci keeps podman's containers in \$XDG_RUNTIME_DIR/hangar-oci"
is "$(P exec p1 sh -c 'echo exec-ok' 2>&1)" exec-ok "podman exec"
P stop -t 1 p1 >/dev/null 2>&1
ok $? "podman stop"
P rm p1 >/dev/null 2>&1
ok $? "podman rm"
out=$(P run --rm --network none --memory 64m localhost/bbox echo limited 2>&1)
ok $? "podman run --memory as $A"
like "$out" "limited" "the container ran (limits need a delegated cgroup v2; podman says so)"
P system reset --force >/dev/null 2>&1

done_testing
