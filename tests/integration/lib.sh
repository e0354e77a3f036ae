# Shared helpers for integration tests (TAP).  Source from a .t script:
#   . "$(dirname "$0")/lib.sh"
set -u
# A test that sets HANGAR_TEST_PRIVATE_NET=1 before sourcing this file runs
# in a network namespace of its own: bridges, nftables tables and forwarding
# sysctls that hangar makes by default then never reach the machine's network.
if [ "${HANGAR_TEST_PRIVATE_NET:-0}" = 1 ] && [ -z "${_HANGAR_IN_PRIVATE_NET:-}" ]; then
	export _HANGAR_IN_PRIVATE_NET=1
	exec unshare --net -- "$BASH" "$0" "$@"
fi
[ -n "${_HANGAR_IN_PRIVATE_NET:-}" ] && ip link set lo up
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$TOP/build}
OCI=${OCI:-$BUILD/hangar-oci}
HANGAR=${HANGAR:-$BUILD/hangar}
export TOP BUILD OCI HANGAR

_tap_n=0
_tap_failed=0
ok() { # ok COND_EXIT_STATUS "description"
	local rc=$1; shift
	_tap_n=$((_tap_n + 1))
	if [ "$rc" = 0 ]; then echo "ok $_tap_n - $*"; else echo "not ok $_tap_n - $*"; _tap_failed=$((_tap_failed + 1)); fi
}
pass() { ok 0 "$@"; }
fail() { ok 1 "$@"; }
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # SKIP $*"; }
diag() { echo "# $*"; }
# is GOT WANT DESC
is() {
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3"; diag "got:      '$1'"; diag "expected: '$2'"; fi
}
# like GOT REGEX DESC
like() {
	if [[ "$1" =~ $2 ]]; then pass "$3"; else fail "$3"; diag "got: '$1'"; diag "expected to match: '$2'"; fi
}
done_testing() { echo "1..$_tap_n"; [ "$_tap_failed" = 0 ]; }
skip_all() { echo "1..0 # SKIP $*"; exit 77; }
# bail_out REASON: a missing test tool or a failed test setup is a failure,
# not a skip (skips are for kernel features the machine lacks).
bail_out() { _tap_n=$((_tap_n + 1)); echo "not ok $_tap_n - $*"; echo "1..$_tap_n"; exit 1; }
# need_tool CMD PACKAGE: the test needs CMD; scripts/install-deps --test installs PACKAGE.
need_tool() { command -v "$1" >/dev/null || bail_out "$1 is not installed (package $2: scripts/install-deps --test)"; }
fail_all() { bail_out "$@"; }

# Scratch space, removed at exit along with containers made by this test.
TEST_TMP=$(mktemp -d /tmp/hangar-test.XXXXXX)
chmod 755 "$TEST_TMP"
OCI_ROOT=$TEST_TMP/state
export OCI_ROOT
_cleanup_fns=()
at_exit() { _cleanup_fns+=("$*"); }
_run_cleanup() {
	local i
	for ((i = ${#_cleanup_fns[@]} - 1; i >= 0; i--)); do eval "${_cleanup_fns[$i]}" >/dev/null 2>&1 || true; done
	if [ -d "$OCI_ROOT" ]; then
		for id in $(ls "$OCI_ROOT" 2>/dev/null); do "$OCI" --root "$OCI_ROOT" delete --force "$id" >/dev/null 2>&1; done
	fi
	rm -rf "$TEST_TMP"
}
trap _run_cleanup EXIT

oci() { "$OCI" --root "$OCI_ROOT" "$@"; }

# The instance-manager (hangar) tests: hg runs $HANGAR (a test may redefine
# it, e.g. to run hangar inside a network namespace of its own), and
# _hangar_cleanup destroys every instance of the test's store through it.
hg() { "$HANGAR" "$@"; }
_hangar_cleanup() {
	local n
	for n in $(ls "$HANGAR_ROOT/instances" 2>/dev/null); do hg destroy --force "$n"; done
}
# hangar_store: root and a built $HANGAR are required; HANGAR_ROOT and
# HANGAR_RUN are private to the test, and its instances are destroyed at exit.
hangar_store() {
	[ "$(id -u)" = 0 ] || skip_all "needs root (rootless-*.t run hangar as a user)"
	[ -x "$HANGAR" ] || bail_out "$HANGAR not built"
	export HANGAR_ROOT=$TEST_TMP/data HANGAR_RUN=$TEST_TMP/run
	at_exit _hangar_cleanup
}

# A cached busybox rootfs (copied per bundle so tests may modify it).
_rootfs_cache() {
	local cache=$BUILD/test-rootfs
	if [ ! -x "$cache/bin/busybox" ]; then
		rm -rf "$cache.tmp.$$"
		"$TOP/scripts/mkrootfs-busybox" "$cache.tmp.$$" >/dev/null && mv -T "$cache.tmp.$$" "$cache" 2>/dev/null || rm -rf "$cache.tmp.$$"
	fi
	echo "$cache"
}

# make_bundle DIR [CMD...]: bundle with the default spec running CMD (no tty,
# writable root; tests that need runc's read-only default set it back).
make_bundle() {
	local dir=$1; shift
	mkdir -p "$dir"
	cp -a "$(_rootfs_cache)" "$dir/rootfs"
	(cd "$dir" && "$OCI" spec) || return 1
	local args='["sh","-c","true"]'
	if [ $# -gt 0 ]; then args=$(printf '%s\n' "$@" | jq -R . | jq -s -c .); fi
	cfg_edit "$dir" ".process.terminal = false | .process.args = $args | .root.readonly = false"
}

# cfg_edit DIR JQ_FILTER: edit DIR/config.json in place.
# capture CMD...: run CMD with its output in a file rather than a pipe, put
# the output in $out and return CMD's status.  For commands that should fail
# to start a container: should one start after all, it keeps its stdio open,
# and $(...) would wait for it to exit instead of reporting the failure.
capture() {
	"$@" >"$TEST_TMP/capture.out" 2>&1 </dev/null
	local rc=$?
	out=$(cat "$TEST_TMP/capture.out")
	return $rc
}

cfg_edit() {
	local dir=$1 filter=$2
	jq "$filter" "$dir/config.json" > "$dir/config.json.new" && mv "$dir/config.json.new" "$dir/config.json"
}

# wait_for COND_CMD [TIMEOUT_TENTHS]
wait_for() {
	local cmd=$1 n=${2:-50}
	while [ "$n" -gt 0 ]; do
		eval "$cmd" >/dev/null 2>&1 && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}

# Leftover checks: nothing of this test remains.
no_mounts_with() { ! grep -q "$1" /proc/self/mountinfo; }
