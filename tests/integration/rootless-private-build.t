#!/bin/bash
# A build the test users cannot reach (a CI checkout under a 0700 directory)
# must not make the rootless tests skip: rootless-lib.sh copies binaries,
# helpers and the rootfs into a world-readable directory of the test.  Here
# rootless-spec-asis.t runs with BUILD under a 0700 directory and must pass
# with no skip; a missing tool must fail, not skip.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "rootless tests make throwaway users: run as root"
[ -x "$OCI" ] || { echo "Bail out! $OCI not built"; exit 1; }

P=$TEST_TMP/private
mkdir -m 0700 "$P"
mkdir -p "$P/build/tests"
cp "$OCI" "$P/build/hangar-oci" && cp -a "$(_rootfs_cache)" "$P/build/test-rootfs"
ok $? "a copy of the build under a 0700 directory"
runuser -u nobody -- test -x "$P/build/hangar-oci"
[ $? != 0 ]
ok $? "other users cannot reach it"
out=$(BUILD=$P/build OCI=$P/build/hangar-oci HANGAR=$P/build/hangar "$TOP/tests/integration/rootless-spec-asis.t" 2>&1)
rc=$?
is "$rc" 0 "rootless-spec-asis.t passes with that build"
like "$out" "using a copy in " "it says it uses a copy"
! [[ "$out" =~ SKIP ]] && [[ "$out" =~ (^|$'\n')1\.\.[1-9] ]]
ok $? "and nothing is skipped: $(printf '%s\n' "$out" | grep -E '^(1\.\.|not ok|# )' | head -3 | tr '\n' ' ')"

# A missing tool (jq hidden from PATH) fails with a reason instead of skipping.
bin=$TEST_TMP/bin
mkdir -p "$bin"
for t in bash mktemp chmod id useradd userdel usermod runuser pgrep newuidmap newgidmap script setcap rm mkdir cat \
	dirname unshare test ls; do
	p=$(command -v "$t") && ln -s "$p" "$bin/$t"
done
out=$(PATH=$bin "$TOP/tests/integration/rootless-spec-asis.t" 2>&1)
rc=$?
[ $rc != 0 ] && [ $rc != 77 ] && [[ "$out" =~ "Bail out! jq not installed" ]]
ok $? "without jq the test fails (rc $rc), naming it: $(printf '%s\n' "$out" | head -2 | tr '\n' ' ')"

done_testing
