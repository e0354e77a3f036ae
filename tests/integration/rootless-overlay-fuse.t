#!/bin/bash
# The fuse-overlayfs fallback of rootless copy-on-write roots: where the
# kernel refuses overlayfs in a user namespace (before 5.11) the container's
# init runs fuse-overlayfs instead.  This kernel allows the native mount, so
# the test sets the test-only HANGAR_TEST_NO_NATIVE_OVERLAY=1.  Checked: a
# hangar-oci container and a hangar instance run on it (writes land in
# upper, the image stays untouched); without fuse-overlayfs in PATH, or
# without a usable /dev/fuse, one clear error and nothing left behind.
# fuse-overlayfs opens /dev/fuse; distributions make it 0666, this machine
# kind has 0600.  The test runs in a private mount namespace with a 0666
# node bound over /dev/fuse, without changing the machine.
if [ -z "${RL_FUSE_PRIVATE:-}" ] && [ "$(id -u)" = 0 ] && [ -c /dev/fuse ] &&
	! runuser -u nobody -- test -r /dev/fuse -a -w /dev/fuse 2>/dev/null; then
	d=$(mktemp -d /tmp/hangar-rl-fuse.XXXXXX)
	unshare -m --propagation private env RL_FUSE_PRIVATE="$d" bash -c '
		mount -t tmpfs -o mode=0755 tmpfs "$1" && mknod -m 0666 "$1/fuse" c 10 229 &&
			mknod -m 0600 "$1/fuse600" c 10 229 &&
			mount --bind "$1/fuse" /dev/fuse || { echo "1..0 # SKIP cannot give the test a 0666 /dev/fuse"; exit 77; }
		exec bash "$0"' "$0" "$d"
	rc=$?
	rmdir "$d"
	exit $rc
fi
HANGAR_TEST_PRIVATE_NET=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootless-lib.sh"
rl_require fuse-overlayfs
[ -c /dev/fuse ] || skip_all "no /dev/fuse"

rl_make_user A ranges || { echo "Bail out! cannot create a test user"; exit 1; }
rl_as "$A" test -r /dev/fuse -a -w /dev/fuse || skip_all "/dev/fuse is $(stat -c '%a %U' /dev/fuse): $A cannot open it"
NATIVE_OFF=HANGAR_TEST_NO_NATIVE_OVERLAY=1

B=$TEST_TMP/b1
rl_overlay_bundle "$A" "$B" sh -c 'echo new >/new-file; echo changed >/etc/passwd; grep " / " /proc/self/mountinfo'
out=$(cd "$B" && RL_ENV=$NATIVE_OFF rl_oci "$A" run f1 2>&1)
ok $? "hangar-oci run as $A on fuse-overlayfs ($(echo "$out" | tail -n 1))"
like "$out" " / [^ ]* - fuse[^ ]*overlayfs " "/ inside is a fuse-overlayfs mount"
is "$(cat "$B/upper/new-file" 2>&1)" new "a new file lands in upper"
is "$(cat "$B/upper/etc/passwd" 2>&1)" changed "a changed file is copied up"
is "$(head -c 5 "$B/image/etc/passwd")" "root:" "the image is untouched"
! grep -q " $B/rootfs " /proc/self/mountinfo && [ -z "$(ls -A "$B/rootfs")" ]
ok $? "nothing is mounted on the host"
[ -z "$(ps -u "$A" -o pid=,comm= | grep fuse-overlay)" ]
ok $? "no fuse-overlayfs daemon outlives the container"

# hangar: an instance on fuse-overlayfs.
if [ -x "$HANGAR" ]; then
	HW=$TEST_TMP/hwork
	mkdir -p "$HW" && chown "$A:" "$HW"
	UH() { (cd "$HW" && RL_ENV=$NATIVE_OFF rl_as "$A" "$HANGAR" "$@"); }
	at_exit 'for n in $(UH list 2>/dev/null | awk "NR > 1 {print \$1}"); do UH destroy --force "$n"; done'
	UH create i1 --network none -- sleep 300 >/dev/null 2>&1 && UH start i1 >/dev/null 2>&1
	ok $? "hangar start as $A on fuse-overlayfs"
	out=$(UH exec i1 sh -c 'echo from-i1 >/made; grep " / " /proc/self/mountinfo' 2>&1 | tr -d '\r')
	like "$out" " / [^ ]* - fuse[^ ]*overlayfs " "the instance root is fuse-overlayfs"
	store=$(getent passwd "$A" | cut -d: -f6)/.local/share/hangar
	is "$(cat "$store/instances/i1/upper/made" 2>&1)" from-i1 "its writes land in the instance's upper dir"
	[ ! -e "$store/images/default/rootfs/made" ]
	ok $? "the image is untouched"
	UH stop -t 1 i1 >/dev/null 2>&1
	UH destroy i1 >/dev/null 2>&1
	ok $? "stop and destroy"
else
	for i in 1 2 3 4 5; do fail "$HANGAR not built"; done
fi

# Without fuse-overlayfs: one line, nothing left behind.
NOPATH=$TEST_TMP/nopath
mkdir -p "$NOPATH" && chmod 755 "$NOPATH"
for t in sh true newuidmap newgidmap; do ln -sf "$(command -v $t)" "$NOPATH/$t"; done
B2=$TEST_TMP/b2
rl_overlay_bundle "$A" "$B2" true
out=$(cd "$B2" && RL_ENV="$NATIVE_OFF PATH=$NOPATH" rl_oci "$A" run f2 2>&1)
rc=$?
[ $rc != 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
	[[ "$out" == *"overlayfs in a user namespace needs Linux >= 5.11, or install fuse-overlayfs"* ]]
ok $? "no fuse-overlayfs in PATH: exit $rc, one line: $out"
is "$(rl_oci "$A" list -q)" "" "no container is left"
[ -z "$(find "$B2/upper" "$B2/rootfs" -mindepth 1)" ] && ! grep -q " $B2/" /proc/self/mountinfo
ok $? "nothing written, nothing mounted"
if [ -x "$HANGAR" ]; then
	UH create i2 --network none -- true >/dev/null 2>&1
	out=$(cd "$HW" && RL_ENV="$NATIVE_OFF PATH=$NOPATH" rl_as "$A" "$HANGAR" start i2 2>&1)
	rc=$?
	[ $rc != 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
		[[ "$out" == *"overlayfs in a user namespace needs Linux >= 5.11, or install fuse-overlayfs"* ]]
	ok $? "hangar start without fuse-overlayfs: exit $rc, one line: $out"
	like "$(UH list)" "i2 +STOPPED" "the instance stays stopped"
	[ -z "$(ps -u "$A" -o comm= | grep -v '^ps$')" ]
	ok $? "no process of $A is left"
	UH destroy i2 >/dev/null 2>&1
else
	for i in 1 2 3; do fail "$HANGAR not built"; done
fi

# fuse-overlayfs present but /dev/fuse not usable by the user.
if [ -n "${RL_FUSE_PRIVATE:-}" ] && mount --bind "$RL_FUSE_PRIVATE/fuse600" /dev/fuse; then
	out=$(cd "$B2" && RL_ENV=$NATIVE_OFF rl_oci "$A" run f3 2>&1)
	rc=$?
	umount /dev/fuse
	[ $rc != 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
		[[ "$out" == *"or install fuse-overlayfs with a /dev/fuse you may open"*"Permission denied"* ]]
	ok $? "a 0600 /dev/fuse: exit $rc, one line naming it: $out"
	is "$(rl_oci "$A" list -q)" "" "no container is left"
else
	skip "cannot swap /dev/fuse outside the private mount namespace"
	skip "cannot swap /dev/fuse outside the private mount namespace"
fi

done_testing
