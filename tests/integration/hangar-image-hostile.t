#!/bin/bash
# A hostile image tarball (../ members, a symlink followed by a file written
# "through" it) must write nothing outside the image directory.
HANGAR_TEST_PRIVATE_NET=1
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (rootless hangar is issue 8)"
[ -x "$HANGAR" ] || { echo "not ok 1 - $HANGAR not built"; echo "1..1"; exit 1; }
command -v python3 >/dev/null || { echo "not ok 1 - python3 missing (scripts/install-deps --test installs it)"; echo "1..1"; exit 1; }
export HANGAR_ROOT=$TEST_TMP/data HANGAR_RUN=$TEST_TMP/run
target=$TEST_TMP/outside
mkdir -p "$target"
python3 - "$TEST_TMP/evil.tar" "$target" <<'PY'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w")
def add(name, data=b"x", **kw):
    i = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(i, k, v)
    if i.type == tarfile.REGTYPE:
        i.size = len(data)
        t.addfile(i, io.BytesIO(data))
    else:
        t.addfile(i)
add("bin/ok", b"fine")
add("../../escaped-dotdot")
add("lnk", type=tarfile.SYMTYPE, linkname=sys.argv[2])
add("lnk/through-link", b"y")
add("abs", type=tarfile.SYMTYPE, linkname="/")
add("abs" + sys.argv[2] + "/via-abs", b"z")
t.close()
PY
ok $? "hostile tarball built"
out=$("$HANGAR" image import evil "$TEST_TMP/evil.tar" 2>&1); rc=$?
diag "import: rc=$rc $out"
[ -z "$(ls -A "$target")" ]; ok $? "nothing written through a symlink member into $target"
! [ -e "$TEST_TMP/escaped-dotdot" ] && ! [ -e "$HANGAR_ROOT/escaped-dotdot" ] && ! [ -e "$TEST_TMP/data/images/escaped-dotdot" ]
ok $? "no ../ member written outside the image"
if [ "$rc" = 0 ]; then
	is "$(cat "$HANGAR_ROOT/images/evil/rootfs/bin/ok")" fine "the harmless member was imported"
else
	like "$out" "hangar: " "a refused import says why in one line"
	! [ -e "$HANGAR_ROOT/images/evil" ]; ok $? "a refused import leaves no image behind"
fi
done_testing
