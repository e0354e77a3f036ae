#!/bin/bash
# The container's filesystem view through hangar-oci: masked and read-only
# paths, read-only root, /dev, and images that try to escape their root.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -x "$OCI" ] || skip_all "no $OCI (build first)"
command -v jq >/dev/null || skip_all "jq missing"

run_in() { # run_in BUNDLE ID: run the container, stdout+stderr to $TEST_TMP/ID.out
	timeout 60 "$OCI" --root "$OCI_ROOT" run --bundle "$1" "$2" >"$TEST_TMP/$2.out" 2>&1
}

# --- default spec: masks, read-only paths, read-only root, /dev ---
B=$TEST_TMP/default
# make_bundle passes one argument per line: keep the script on one line.
make_bundle "$B" sh -c 'echo "kcore=$(test -e /proc/kcore && wc -c </proc/kcore || echo absent)"; echo "timer_list=$(wc -c </proc/timer_list)"; echo "acpi=$(ls -A /proc/acpi | wc -l)"; echo "firmware=$(ls -A /sys/firmware | wc -l)"; echo "procsys=$(echo 1 2>&1 >/proc/sys/kernel/domainname)"; echo "root=$(touch /rootfile 2>&1)"; echo "shm=$(touch /dev/shm/x 2>&1 && echo writable)"; echo "ptmx=$(readlink /dev/ptmx)"; echo "ptmxdev=$(stat -L -c %d /dev/ptmx) ptsdev=$(stat -c %d /dev/pts)"; echo "null=$(stat -c %t:%T /dev/null)"; echo "fd=$(readlink /dev/fd)"; echo "proc=$(stat -f -c %T /proc)"; echo "dev=$(stat -f -c %T /dev)"'
cfg_edit "$B" '.root.readonly = true'
host_pts=$(stat -c %d /dev/pts)
run_in "$B" def; ok $? "default spec container runs ($(head -c 300 "$TEST_TMP/def.out" | tr '\n' ' '))"
out=$(cat "$TEST_TMP/def.out")
val() { sed -n "s/^$1=//p" <<<"$out"; }
if [ -e /proc/kcore ]; then is "$(val kcore)" 0 "/proc/kcore masked: reads as empty"; else skip "host kernel has no /proc/kcore"; fi
is "$(val timer_list)" 0 "/proc/timer_list masked: reads as empty"
is "$(val acpi)" 0 "/proc/acpi masked: lists nothing"
is "$(val firmware)" 0 "/sys/firmware masked: lists nothing (the host's has $(ls -A /sys/firmware | wc -l) entries)"
like "$(val procsys)" "Read-only file system" "/proc/sys read-only: write gets EROFS"
like "$(val root)" "Read-only file system" "root.readonly: / is read-only"
is "$(val shm)" writable "root.readonly: /dev/shm stays writable"
is "$(val ptmx)" pts/ptmx "/dev/ptmx -> pts/ptmx"
like "$(val ptmxdev)" "^([0-9]+) ptsdev=\\1$" "/dev/ptmx lives on the container's devpts"
ptsdev=$(sed -n 's/.*ptsdev=//p' <<<"$out")
[ -n "$ptsdev" ] && [ "$ptsdev" != "$host_pts" ]; ok $? "the container's devpts is not the host's instance"
is "$(val null)" "1:3" "/dev/null is char 1:3"
is "$(val fd)" /proc/self/fd "/dev/fd -> /proc/self/fd"
is "$(val proc)" proc "/proc is procfs"
is "$(val dev)" tmpfs "/dev is a tmpfs"

# --- a malicious image: /etc -> /, relative and absolute escapes ---
B=$TEST_TMP/evil
OUTSIDE=$TEST_TMP/outside
mkdir -p "$OUTSIDE"
make_bundle "$B" sh -c 'grep -E " /(x|abs|rel|tmp/dotdot)[ /]" /proc/self/mountinfo | cut -d" " -f5'
rm -rf "$B/rootfs/etc" && ln -s / "$B/rootfs/etc"
ln -s "$OUTSIDE" "$B/rootfs/abs"
ln -s "../../../../../../../../..$OUTSIDE" "$B/rootfs/rel"
cfg_edit "$B" '.mounts += [
	{"destination":"/etc/x","type":"tmpfs","source":"tmpfs"},
	{"destination":"/abs/y","type":"tmpfs","source":"tmpfs"},
	{"destination":"/rel/z","type":"tmpfs","source":"tmpfs"},
	{"destination":"/../../../../../tmp/dotdot","type":"tmpfs","source":"tmpfs"}]'
run_in "$B" evil; ok $? "malicious image runs ($(tr '\n' ' ' <"$TEST_TMP/evil.out"))"
[ ! -e /x ]; ok $? "/etc/x via etc -> / did not touch the host's /x"
[ -z "$(ls -A "$OUTSIDE")" ]; ok $? "absolute and relative symlinks did not reach the host directory"
[ ! -e /tmp/dotdot ]; ok $? "../../ destination did not reach the host"
grep -qx /x "$TEST_TMP/evil.out"; ok $? "inside the container the mount is at /x"
grep -qx /tmp/dotdot "$TEST_TMP/evil.out"; ok $? "../../ destination clamped to the container's /tmp/dotdot"
no_mounts_with "$B/rootfs"; ok $? "no mount of the container is left on the host"

# --- /proc replaced by a symlink (CVE-2019-19921 class) ---
B=$TEST_TMP/procsym
make_bundle "$B" true
mkdir -p "$B/rootfs/fakeproc"
rm -rf "$B/rootfs/proc" && ln -s /fakeproc "$B/rootfs/proc"
run_in "$B" procsym; rc=$?
[ $rc != 0 ]; ok $? "container with /proc -> /fakeproc is refused"
like "$(cat "$TEST_TMP/procsym.out")" "/proc.*symlink" "the error names /proc and the symlink"

# --- sysctl that is not namespaced ---
B=$TEST_TMP/sysctl1
make_bundle "$B" true
cfg_edit "$B" '.linux.sysctl = {"vm.swappiness":"10"}'
before=$(cat /proc/sys/vm/swappiness)
run_in "$B" sysctl1; [ $? != 0 ]; ok $? "sysctl vm.swappiness is refused"
like "$(cat "$TEST_TMP/sysctl1.out")" "vm.swappiness" "the error names the key"
is "$(cat /proc/sys/vm/swappiness)" "$before" "host vm.swappiness unchanged"
B=$TEST_TMP/sysctl2
make_bundle "$B" cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax
cfg_edit "$B" '.linux.sysctl = {"net.ipv4.ip_forward":"1","kernel.msgmax":"12345"}'
run_in "$B" sysctl2; ok $? "namespaced sysctls are accepted"
is "$(tr '\n' ' ' <"$TEST_TMP/sysctl2.out")" "1 12345 " "namespaced sysctls are set inside the container"

# --- bind mounts: ro, file binds, propagation ---
B=$TEST_TMP/binds
SRC=$TEST_TMP/src
mkdir -p "$SRC" && echo data >"$SRC/f" && echo conf >"$TEST_TMP/file.conf"
make_bundle "$B" sh -c 'cat /mnt/ro/f; echo x 2>&1 >/mnt/ro/f; cat /etc/app/file.conf; echo y >/mnt/rw/new && echo rw-ok'
cfg_edit "$B" ".mounts += [
	{\"destination\":\"/mnt/ro\",\"type\":\"bind\",\"source\":\"$SRC\",\"options\":[\"rbind\",\"ro\"]},
	{\"destination\":\"/mnt/rw\",\"type\":\"bind\",\"source\":\"$SRC\",\"options\":[\"bind\",\"rw\"]},
	{\"destination\":\"/etc/app/file.conf\",\"type\":\"bind\",\"source\":\"$TEST_TMP/file.conf\",\"options\":[\"bind\",\"ro\"]}]"
run_in "$B" binds; ok $? "container with bind mounts runs"
out=$(cat "$TEST_TMP/binds.out")
like "$out" "^data" "bind source visible"
like "$out" "Read-only file system" "ro bind: write gets EROFS"
like "$out" "conf" "file bind onto a created file"
like "$out" "rw-ok" "rw bind writable"
is "$(cat "$SRC/new" 2>/dev/null)" y "write through the rw bind reached the source"
is "$(cat "$SRC/f")" data "the ro bind left the source unchanged"

# --- readonlyPaths / maskedPaths from the config ---
B=$TEST_TMP/paths
make_bundle "$B" sh -c 'echo 1 2>&1 >/etc/hostname; cat /etc/passwd | wc -c; ls -A /var | wc -l; echo x 2>&1 >/var/f; stat -c %d /var /home /proc/acpi | sort -u | wc -l'
cfg_edit "$B" '.linux.readonlyPaths += ["/etc/hostname"] | .linux.maskedPaths += ["/etc/passwd","/var","/home","/no/such/path"]'
run_in "$B" paths; ok $? "custom readonly/masked paths (a missing one is ignored)"
out=$(cat "$TEST_TMP/paths.out")
like "$out" "Read-only file system" "readonlyPaths entry is read-only"
like "$(sed -n 2p <<<"$out")" "^ *0$" "masked file reads as empty"
like "$(sed -n 3p <<<"$out")" "^ *0$" "masked directory lists nothing"
like "$(sed -n 4p <<<"$out")" "Read-only file system" "masked directory is read-only"
is "$(sed -n 5p <<<"$out" | tr -d ' ')" 1 "masked directories share one tmpfs (criu archives it once)"

# --- --no-pivot ---
B=$TEST_TMP/nopivot
make_bundle "$B" sh -c 'test -x /bin/busybox && ! test -e /work && echo in-root'
timeout 60 "$OCI" --root "$OCI_ROOT" run --no-pivot --bundle "$B" nopivot >"$TEST_TMP/nopivot.out" 2>&1
ok $? "run --no-pivot"
like "$(cat "$TEST_TMP/nopivot.out")" "in-root" "--no-pivot: the image is the root"

done_testing
