#!/bin/bash
# Copy-on-write roots without root: the run.hangar.rootfs.overlay.* annotations
# make the container's init mount overlayfs at root.path inside its own user
# and mount namespaces (Linux >= 5.11 allows that to an unprivileged user).
# The image (lower) stays untouched, changes land in upper, nothing is
# mounted on the host; the same works as root; bad annotations are refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootless-lib.sh"

kmaj=$(uname -r | cut -d. -f1) kmin=$(uname -r | cut -d. -f2)
[ "$kmaj" -gt 5 ] || { [ "$kmaj" = 5 ] && [ "$kmin" -ge 11 ]; } ||
	skip_all "kernel $(uname -r): overlayfs in a user namespace needs 5.11"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null
grep -qw overlay /proc/filesystems || skip_all "no overlayfs in this kernel"

rl_make_user A ranges || { echo "Bail out! cannot create a test user"; exit 1; }

B=$TEST_TMP/b1
rl_overlay_bundle "$A" "$B" sh -c 'cat /etc/hostname 2>/dev/null; echo new >/new-file; echo changed >/etc/passwd;
	rm /bin/rev && echo removed; ls /; grep " / " /proc/self/mountinfo'
ok $? "bundle with an overlay root for $A"
echo image-file >"$B/image/etc/hostname"
out=$(cd "$B" && rl_oci "$A" run o1 2>&1)
ok $? "run as $A with the overlay root ($(echo "$out" | tail -n 1))"
like "$out" "^image-file" "the image's files are visible"
like "$out" "removed" "a file of the image can be removed inside"
like "$out" " / [^ ]* - overlay " "/ inside is an overlay mount"
is "$(cat "$B/upper/new-file" 2>&1)" new "a new file lands in upper"
is "$(cat "$B/upper/etc/passwd" 2>&1)" changed "a changed file is copied up"
[ "$(head -c 5 "$B/image/etc/passwd")" = "root:" ] && [ -e "$B/image/bin/rev" ]
ok $? "the image (lower) is untouched"
[ -e "$B/upper/bin/rev" ] && [ ! -s "$B/upper/bin/rev" ]
ok $? "the removal is a whiteout in upper"
[ -z "$(ls -A "$B/rootfs")" ] && ! grep -q " $B/rootfs " /proc/self/mountinfo
ok $? "nothing was mounted on the host, root.path stays empty"

# A second run of the same bundle sees the first run's changes.
cfg_edit "$B" '.process.args = ["sh", "-c", "cat /new-file; test -e /bin/rev || echo still-removed"]'
chown "$A:" "$B/config.json"
out=$(cd "$B" && rl_oci "$A" run o2 2>&1)
is "$out" "new
still-removed" "changes persist in upper across runs"

# Read-only overlay: lower dirs only (overlayfs wants two or more then).
mkdir -p "$B/layer2/etc"
echo top-layer >"$B/layer2/etc/hostname"
chown -R "$A:" "$B/layer2"
cfg_edit "$B" "del(.annotations[\"run.hangar.rootfs.overlay.upperdir\"], .annotations[\"run.hangar.rootfs.overlay.workdir\"]) |
	.annotations[\"run.hangar.rootfs.overlay.lowerdir\"] = \"$B/layer2:$B/image\" |
	.process.args = [\"sh\", \"-c\", \"touch /x 2>&1; cat /etc/hostname /new-file 2>&1\"]"
chown "$A:" "$B/config.json"
out=$(cd "$B" && rl_oci "$A" run o3 2>&1)
like "$out" "Read-only file system.*
top-layer
cat: can't open '/new-file'" "two lower dirs, no upper: read-only, topmost first, upper not used"
cfg_edit "$B" ".annotations[\"run.hangar.rootfs.overlay.lowerdir\"] = \"$B/image\""
chown "$A:" "$B/config.json"
out=$(cd "$B" && rl_oci "$A" run o3b 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ "needs two or more dirs" ]]
ok $? "one lower dir without upper is refused with the reason: $out"

# Errors.
cfg_edit "$B" '.annotations["run.hangar.rootfs.overlay.upperdir"] = "/tmp"'
chown "$A:" "$B/config.json"
out=$(cd "$B" && rl_oci "$A" run o4 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ "go together" ]]
ok $? "upperdir without workdir is refused: $out"
cfg_edit "$B" '.annotations["run.hangar.rootfs.overlay.lowerdir"] = "relative/dir" |
	.annotations["run.hangar.rootfs.overlay.workdir"] = "/tmp"'
chown "$A:" "$B/config.json"
out=$(cd "$B" && rl_oci "$A" run o5 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ "not an absolute path" ]]
ok $? "a relative lower dir is refused: $out"
cfg_edit "$B" ".annotations[\"run.hangar.rootfs.overlay.lowerdir\"] = \"$TEST_TMP/missing:$B/image\" |
	del(.annotations[\"run.hangar.rootfs.overlay.upperdir\"], .annotations[\"run.hangar.rootfs.overlay.workdir\"])"
chown "$A:" "$B/config.json"
out=$(cd "$B" && rl_oci "$A" run o6 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" =~ overlay\ root.*missing ]]
ok $? "a missing lower dir fails naming it: $out"
[ -z "$(ls "$TEST_TMP/xdg-$A/hangar-oci" 2>/dev/null)" ]
ok $? "failed runs left no state"

# The same annotations as root: the overlay stays inside the container's
# mount namespace.
R=$TEST_TMP/root
make_bundle "$R" sh -c 'echo x >/root-new; grep " / " /proc/self/mountinfo'
mv "$R/rootfs" "$R/image"
mkdir "$R/rootfs" "$R/upper" "$R/work"
cfg_edit "$R" ".annotations[\"run.hangar.rootfs.overlay.lowerdir\"] = \"$R/image\" |
	.annotations[\"run.hangar.rootfs.overlay.upperdir\"] = \"$R/upper\" |
	.annotations[\"run.hangar.rootfs.overlay.workdir\"] = \"$R/work\""
out=$(cd "$R" && oci run ro1 2>&1)
like "$out" " / [^ ]* - overlay " "as root: / is an overlay"
[ -f "$R/upper/root-new" ] && ! grep -q " $R/rootfs " /proc/self/mountinfo
ok $? "as root: changes in upper, no mount left on the host"

done_testing
