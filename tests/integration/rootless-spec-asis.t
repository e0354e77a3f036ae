#!/bin/bash
# `hangar-oci spec --rootless` makes a config that runs as is: a user runs
# the unmodified config (read-only root, terminal true, sh) in a pty made by
# script(1), types `id -u; exit`, and gets root inside.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootless-lib.sh"

rl_make_user A none || { echo "Bail out! cannot create a test user"; exit 1; }
B=$TEST_TMP/bundle
mkdir -p "$B" && cp -a "$(_rootfs_cache)" "$B/rootfs" && chown -R "$A:" "$B"
(cd "$B" && rl_oci "$A" spec --rootless)
ok $? "spec --rootless as $A"
is "$(jq -c '[.root.readonly, .process.terminal, .process.args]' "$B/config.json")" '[true,true,["sh"]]' \
	"the config is the default one: read-only root, a terminal, sh"
sum=$(sha256sum <"$B/config.json")

id=asis$$
out=$(cd "$B" && printf 'id -u; exit\n' | rl_as "$A" timeout 30 script -qec "$OCI run $id" /dev/null 2>&1)
rc=$?
out=${out//$'\r'/}
is "$rc" 0 "run with the unmodified config exits 0"
like "$out" "(^|
)0(
|$)" "id -u inside answers 0: $(printf '%q' "$out")"
is "$(sha256sum <"$B/config.json")" "$sum" "the config was not changed"
out=$(rl_oci "$A" list -q 2>&1)
is "$out" "" "the container is gone after run"
out=$(cd "$B" && printf 'touch /x 2>&1; exit\n' | rl_as "$A" timeout 30 script -qec "$OCI run ${id}b" /dev/null 2>&1)
like "${out//$'\r'/}" "Read-only file system" "the root is read-only as configured"

done_testing
