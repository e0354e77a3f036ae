# Helpers for the rootless-*.t tests: throwaway users with their own
# XDG_RUNTIME_DIR, bundles they own, hangar-oci run as them.
#   . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/rootless-lib.sh"
# Users, their /etc/subuid + /etc/subgid lines, homes, containers and any
# process left running as them are removed at exit.

[ "$(id -u)" = 0 ] || skip_all "rootless tests make throwaway users: run as root"
# rl_require TOOL...: a missing test tool is a failure, not a skip: skipping
# would hide every rootless test on a machine set up without them.
rl_require() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null ||
			{ echo "Bail out! $tool not installed (scripts/install-deps --test installs it)"; exit 1; }
	done
}
rl_require useradd userdel usermod runuser jq pgrep newuidmap newgidmap script setcap
[ -x "$OCI" ] || { echo "Bail out! $OCI not built"; exit 1; }
unshare -U true 2>/dev/null || skip_all "user namespaces are not available (unshare -U failed)"
# The users must reach the binaries, helpers and the cached rootfs.  A
# build under a directory they cannot search (a CI checkout under a 0700
# home) is copied into a world-readable directory of this test instead.
_rl_cache=$(_rootfs_cache)
if ! runuser -u nobody -- test -x "$OCI" || ! runuser -u nobody -- test -r "$_rl_cache/bin/busybox" ||
	{ [ -x "$HANGAR" ] && ! runuser -u nobody -- test -x "$HANGAR"; }; then
	_rl_pub=$TEST_TMP/rl-build
	mkdir -p "$_rl_pub/tests" && chmod 0755 "$_rl_pub" "$_rl_pub/tests" &&
		cp "$OCI" "$_rl_pub/hangar-oci" && { [ ! -x "$HANGAR" ] || cp "$HANGAR" "$_rl_pub/hangar"; } &&
		{ [ ! -d "$BUILD/tests/helpers" ] || cp -r "$BUILD/tests/helpers" "$_rl_pub/tests/helpers"; } &&
		cp -a "$_rl_cache" "$_rl_pub/test-rootfs" && chmod -R go+rX "$_rl_pub" ||
		{ echo "Bail out! cannot copy the build into $_rl_pub for the test users"; exit 1; }
	diag "$OCI is not reachable by other users: using a copy in $_rl_pub"
	BUILD=$_rl_pub OCI=$_rl_pub/hangar-oci HANGAR=$_rl_pub/hangar
	export BUILD OCI HANGAR
	_rl_cache=$_rl_pub/test-rootfs
	runuser -u nobody -- test -x "$OCI" && runuser -u nobody -- test -r "$_rl_cache/bin/busybox" ||
		{ echo "Bail out! the copy in $_rl_pub is not reachable by other users either"; exit 1; }
fi

RL_USERS=()

# rl_subid_ranges USER FILE: "start-end" of each of USER's ranges in FILE.
rl_subid_ranges() {
	awk -F: -v u="$1" '$1 == u { print $2 "-" ($2 + $3 - 1) }' "$2"
}

# rl_drop_subids USER: remove every subordinate range of USER (through
# usermod, which takes shadow's locks; other tests may add users meanwhile).
rl_drop_subids() {
	local r
	for r in $(rl_subid_ranges "$1" /etc/subuid); do usermod -V "$r" "$1"; done
	for r in $(rl_subid_ranges "$1" /etc/subgid); do usermod -W "$r" "$1"; done
}

# rl_make_user VAR ranges|none: create a user, its name goes into VAR; its
# XDG_RUNTIME_DIR is $TEST_TMP/xdg-NAME (0700, theirs).
rl_make_user() {
	local var=$1 kind=$2 name
	name=hrl$$${#RL_USERS[@]}$RANDOM
	name=${name:0:30}
	if [ "$kind" = none ]; then
		useradd -m -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$name" || return 1
	else
		useradd -m "$name" || return 1
	fi
	RL_USERS+=("$name")
	at_exit "rl_remove_user $name"
	if [ "$kind" = none ]; then
		rl_drop_subids "$name"
	elif [ -z "$(rl_subid_ranges "$name" /etc/subuid)" ] || [ -z "$(rl_subid_ranges "$name" /etc/subgid)" ]; then
		diag "useradd gave $name no subordinate ranges"
		return 1
	fi
	install -d -m 0700 -o "$name" -g "$name" "$TEST_TMP/xdg-$name"
	printf -v "$var" %s "$name"
}

rl_remove_user() {
	local name=$1 uid
	uid=$(id -u "$name" 2>/dev/null) || return 0
	# Containers first (their state is in the user's root), then anything
	# still running as the user or as its subordinate ids: those can only be
	# this test's processes, the user was made by it.
	local root="$TEST_TMP/xdg-$name/hangar-oci"
	for id in $(ls "$root" 2>/dev/null); do
		rl_as "$name" "$OCI" delete --force "$id" >/dev/null 2>&1
	done
	local r pid ranges="$uid-$uid $(rl_subid_ranges "$name" /etc/subuid)"
	for r in $ranges; do
		for pid in $(ps -e -o pid=,uid= | awk -v lo="${r%-*}" -v hi="${r#*-}" '$2 >= lo && $2 <= hi {print $1}'); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	sleep 0.1
	rl_drop_subids "$name"
	userdel -r -f "$name" >/dev/null 2>&1
	rm -rf "/tmp/hangar-oci-$uid"
}

# rl_as USER CMD...: run CMD as USER with a clean environment.
rl_as() {
	local name=$1; shift
	runuser -u "$name" -- env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME="$(getent passwd "$name" | cut -d: -f6)" \
		USER="$name" LOGNAME="$name" XDG_RUNTIME_DIR="$TEST_TMP/xdg-$name" ${RL_ENV:-} "$@"
}

# rl_oci USER ARGS...: hangar-oci as USER with USER's default root.
rl_oci() {
	local name=$1; shift
	rl_as "$name" "$OCI" "$@"
}

# rl_bundle USER DIR [CMD...]: a bundle owned by USER from `spec --rootless`
# (extra spec flags in RL_SPEC_FLAGS), running CMD without a terminal,
# writable root.
rl_bundle() {
	local name=$1 dir=$2; shift 2
	mkdir -p "$dir"
	cp -a "$(_rootfs_cache)" "$dir/rootfs"
	chown -R "$name:$name" "$dir"
	(cd "$dir" && rl_oci "$name" spec --rootless ${RL_SPEC_FLAGS:-}) || return 1
	local args='["sh","-c","true"]'
	if [ $# -gt 0 ]; then args=$(printf '%s\037' "$@" | jq -R -s -c 'split("\u001f")[:-1]'); fi
	cfg_edit "$dir" ".process.terminal = false | .process.args = $args | .root.readonly = false"
	chown "$name:$name" "$dir/config.json"
}

# rl_overlay_bundle USER DIR [CMD...]: rl_bundle with an overlay root:
# root.path is an empty directory, the image is DIR/image (lower) and
# changes go to DIR/upper (the run.hangar.rootfs.overlay.* annotations).
rl_overlay_bundle() {
	local u=$1 dir=$2
	shift 2
	rl_bundle "$u" "$dir" "$@" || return 1
	mv "$dir/rootfs" "$dir/image"
	mkdir "$dir/rootfs" "$dir/upper" "$dir/work"
	chown "$u:" "$dir/rootfs" "$dir/upper" "$dir/work"
	cfg_edit "$dir" ".annotations[\"run.hangar.rootfs.overlay.lowerdir\"] = \"$dir/image\" |
		.annotations[\"run.hangar.rootfs.overlay.upperdir\"] = \"$dir/upper\" |
		.annotations[\"run.hangar.rootfs.overlay.workdir\"] = \"$dir/work\""
	chown "$u:" "$dir/config.json"
}
