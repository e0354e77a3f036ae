#!/bin/bash
# scripts/install-deps left the machine as promised: every listed package
# installed, a second run a quick no-op, the trixie source pinned so that no
# system package (libc6 above all) comes from it, the private CRIU 4.x first
# in PATH, and the guest kernel of the VM harness unpacked.  Installs nothing
# itself: when packages are missing the test fails and names them.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
n=0
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}
echo "1..8"

missing=()
for pkg in $("$TOP/scripts/install-deps" --list --test); do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" = installed ] || missing+=("$pkg")
done
[ ${#missing[@]} = 0 ]
ok $? "every package of install-deps --list --test is installed${missing:+ (missing: ${missing[*]})}"

libc_before=$(dpkg-query -W -f='${Version}' libc6)
if [ ${#missing[@]} = 0 ] && [ "$(id -u)" = 0 ]; then
	t0=$(date +%s%N)
	out=$("$TOP/scripts/install-deps" --test 2>&1)
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "$out" | sed 's/^/#   /'
	[ "$rc" = 0 ] && ! echo "$out" | grep -qE 'installing|apt-get update|downloading'
	ok $? "a second install-deps --test changes nothing (rc $rc)"
	[ "$ms" -lt 15000 ]
	ok $? "and returns quickly (${ms} ms)"
else
	ok 1 "a second install-deps --test changes nothing (not run: packages missing or not root)"
	ok 1 "and returns quickly (not run)"
fi
[ "$(dpkg-query -W -f='${Version}' libc6)" = "$libc_before" ]
ok $? "the system libc6 is still $libc_before"

pin=/etc/apt/preferences.d/hangar-trixie
grep -q '^Pin: release n=trixie' "$pin" 2>/dev/null && grep -q '^Pin-Priority: 100' "$pin"
ok $? "trixie is pinned to priority 100 in $pin"

# Candidates must never come from trixie: not libc6, and nothing an upgrade would pull.
libc_origin=$(apt-cache policy libc6 | awk '/\*\*\*/ { getline; print }')
upgrades_from_trixie=$(apt-get -s -o Debug::NoLocking=1 dist-upgrade 2>/dev/null | grep '^Inst' | grep -c trixie)
! echo "$libc_origin" | grep -q trixie && [ "$upgrades_from_trixie" = 0 ]
ok $? "no installed package would be upgraded from trixie ($upgrades_from_trixie would)"

criu_path=$(command -v criu)
version=$(criu --version 2>/dev/null | sed -n 's/^Version: *//p')
[[ "$version" == [4-9].* ]]
ok $? "criu in PATH ($criu_path) is 4.x (got '${version:-nothing}')"

kernel=${HANGAR_VM_CACHE:-/var/cache/hangar/vm}/kernel
kpkg=$(cat "$kernel/.complete" 2>/dev/null)
kver=${kpkg#linux-image-}
[ -n "$kpkg" ] && [ "$(head -c 4 "$kernel/vmlinux" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] &&
	grep -q 'virtio_blk.ko:' "$kernel/lib/modules/$kver/modules.dep"
ok $? "the VM guest kernel ${kver:-?} is unpacked with an ELF vmlinux and modules.dep"
