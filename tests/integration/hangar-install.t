#!/bin/bash
# make install DESTDIR=...: both programs, both man pages and the bash
# completion land where PREFIX says, and what is installed works: the man
# pages format without warnings, the completion loads and completes.
. "$(dirname "$0")/lib.sh"
[ -x "$HANGAR" ] && [ -x "$OCI" ] || { echo "not ok 1 - $HANGAR or $OCI not built"; echo "1..1"; exit 1; }
D=$TEST_TMP/destdir
# install depends on all: with an up-to-date build it only copies.
out=$(make -s -C "$TOP" BUILD="$BUILD" DESTDIR="$D" PREFIX=/usr install 2>&1)
ok $? "make install DESTDIR=$D PREFIX=/usr ($out)"
for f in bin/hangar bin/hangar-oci; do
	ok "$([ -x "$D/usr/$f" ] && [ -f "$D/usr/$f" ]; echo $?)" "/usr/$f installed, executable"
done
is "$("$D/usr/bin/hangar" --version 2>&1 | head -1)" "$("$HANGAR" --version 2>&1 | head -1)" "the installed hangar is the built one"
for m in hangar hangar-oci; do
	f=$D/usr/share/man/man1/$m.1
	is "$(stat -c %a "$f" 2>&1)" 644 "man1/$m.1 installed, mode 0644"
	# groff-base is a test dependency (scripts/install-deps --test).
	out=$(groff -man -Tutf8 -ww -z "$f" 2>&1)
	is "$out" "" "man1/$m.1 formats without warnings"
done
C=$D/usr/share/bash-completion/completions/hangar
is "$(stat -c %a "$C" 2>&1)" 644 "the bash completion is installed as completions/hangar"
out=$(bash -c '. "$1" && complete -p hangar' _ "$C" 2>&1)
like "$out" "complete .* hangar$" "it loads in bash and registers a completion for hangar ($out)"
# Nothing outside DESTDIR: every installed file is under $D/usr.
is "$(find "$D" -mindepth 1 -maxdepth 1 | sed "s|^$D||")" /usr "nothing is installed outside PREFIX"
done_testing
