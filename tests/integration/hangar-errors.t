#!/bin/bash
# hangar bad input: each case is one line on stderr, the documented exit
# code, and nothing left behind.
HANGAR_TEST_PRIVATE_NET=1
. "$(dirname "$0")/lib.sh"
hangar_store

# (networks/.lock is made by the first look at the networks: not a leftover)
snapshot() { (ls -A "$HANGAR_ROOT/instances" "$HANGAR_ROOT/images" 2>/dev/null; ls "$HANGAR_ROOT/networks" 2>/dev/null; ls -A "$HANGAR_RUN/oci" 2>/dev/null; grep -c "$TEST_TMP" /proc/self/mountinfo) | tr '\n' ' '; }

# expect_error DESC CODE PATTERN -- hangar args...
expect_error() {
	local desc=$1 code=$2 pattern=$3; shift 4
	local before after out rc
	before=$(snapshot)
	out=$(hg "$@" 2>&1 >/dev/null </dev/null)
	rc=$?
	after=$(snapshot)
	if [ "$rc" = "$code" ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ "$out" == *"$pattern"* ]] &&
		[ "$before" = "$after" ]; then
		pass "$desc: exit $rc, '$out'"
	else
		fail "$desc"
		diag "exit $rc (want $code), stderr: $out (want *$pattern*)"
		[ "$before" = "$after" ] || diag "left behind: before [$before] after [$after]"
	fi
}

hg create taken --network none >/dev/null 2>&1
ok $? "create an instance to collide with"
hg create web --network bridge --publish 8080:80 >/dev/null 2>&1
ok $? "create an instance publishing 8080 (not started)"

expect_error "unknown image" 3 "no such image: nope" -- create x1 --image nope
expect_error "bad size 12Q" 2 "invalid size '12Q'" -- create x2 --memory 12Q
expect_error "name taken" 4 "instance taken already exists" -- create taken
expect_error "destroy of a missing instance" 3 "no such instance: ghost" -- destroy ghost
expect_error "--cpus 0" 2 "--cpus 0: must be between 0.01 and 4096" -- create x3 --cpus 0
expect_error "port already published" 4 "host port 8080/tcp is already published by instance web" -- create x4 --publish 8080:80
expect_error "invalid instance name" 2 "invalid instance name 'bad/name'" -- create bad/name
expect_error "bad --hostname" 2 "--hostname a_b: 1 to 63 letters" -- create x12 --hostname a_b
expect_error "--init with a command" 2 "--init and a command exclude each other" -- create x5 --init -- sh
expect_error "mount source missing" 2 "--mount source /nonexistent" -- create x6 --mount /nonexistent:/mnt
expect_error "bad --io-max" 2 "--io-max" -- create x7 --io-max /dev/null:rbps=1M
expect_error "bad --publish" 2 "--publish 99999:80" -- create x8 --publish 99999:80
expect_error "--publish with --network none" 2 "--publish needs a bridge network" -- create x9 --network none --publish 8081:80
expect_error "unknown network" 3 "--network nonet" -- create x10 --network nonet

# hangar network and several networks per instance
hg network create hgerr-a --subnet 10.230.0.0/24 --no-ipv6 >/dev/null 2>&1
ok $? "network create hgerr-a"
expect_error "network: overlapping subnet" 2 "subnet 10.230.0.0/25 overlaps subnet 10.230.0.0/24 of network 'hgerr-a'" -- network create hgerr-b --subnet 10.230.0.0/25 --no-ipv6
expect_error "network: invalid CIDR" 2 "network create hgerr-b: invalid CIDR '10.1.2.0/40'" -- network create hgerr-b --subnet 10.1.2.0/40
expect_error "network: name taken" 4 "network 'hgerr-a': already exists" -- network create hgerr-a --subnet 10.231.0.0/24
expect_error "network: no --subnet" 2 "--subnet CIDR is required" -- network create hgerr-b
expect_error "network: reserved name" 2 "create bridge: the name is reserved" -- network create bridge --subnet 10.232.0.0/24
expect_error "network: bad --mtu" 2 "--mtu 99: a number from 1280 to 65535" -- network create hgerr-b --subnet 10.232.0.0/24 --mtu 99
# 1000 is below IPv6's minimum, which the library enforces: the CLI says the same range
expect_error "network: --mtu below 1280" 2 "--mtu 1000: a number from 1280 to 65535" -- network create hgerr-b --subnet 10.232.0.0/24 --mtu 1000
expect_error "network rm: unknown network" 3 "network 'nonet': not found" -- network rm nonet
expect_error "network: unknown subcommand" 2 "unknown subcommand 'frob'" -- network frob
expect_error "none with another network" 2 "--network none: cannot be combined with other networks" -- create x11 --network none --network hgerr-a
expect_error "host with another network" 2 "--network host: cannot be combined with other networks" -- create x12 --network hgerr-a --network host
expect_error "a network given twice" 2 "--network hgerr-a: given twice" -- create x13 --network hgerr-a --network hgerr-a
expect_error "unknown second network" 3 "--network nonet" -- create x14 --network hgerr-a --network nonet
expect_error "publish on [::1]" 2 "port [::1]:8090/tcp: host IP ::1 cannot be forwarded to an instance" -- create x15 --network bridge --publish '[::1]:8090:80'
expect_error "publish on an IPv6 host IP, IPv4-only network" 2 "host IP fd00::1 is IPv6 but network 'hgerr-a' has no IPv6 subnet" -- create x16 --network hgerr-a --publish '[fd00::1]:8090:80'
hg create usesnet --network hgerr-a >/dev/null 2>&1
ok $? "create an instance on hgerr-a (not started)"
expect_error "network rm while an instance uses it" 4 "network hgerr-a: in use by instance 'usesnet'; destroy it first" -- network rm hgerr-a
hg destroy usesnet >/dev/null 2>&1
hg network rm hgerr-a >/dev/null 2>&1
ok $? "network rm once no instance uses it"
ok "$(! hg network list | grep -q hgerr-a; echo $?)" "the removed network is no longer listed"
expect_error "unknown option" 2 "unknown option" -- create x11 --bogus
expect_error "unknown verb" 2 "unknown verb \"frobnicate\"" -- frobnicate
expect_error "start of a missing instance" 3 "no such instance: ghost" -- start ghost
expect_error "exec in a stopped instance" 4 "instance taken is not running" -- exec taken -- true
expect_error "console of a stopped instance" 4 "instance taken is not running" -- console taken
expect_error "set on a missing instance" 3 "no such instance: ghost" -- set ghost --memory 1G
expect_error "set without a limit" 2 "no limit given" -- set taken
expect_error "image rm while in use" 4 "image default is in use by instances taken, web" -- image rm default
expect_error "image rm of a missing image" 3 "no such image: nope" -- image rm nope
expect_error "image import of a missing source" 3 "image source /nonexistent" -- image import imp /nonexistent
# debootstrap lives in /usr/sbin: a PATH without it is a machine without it
# (its real runs are in hangar-systemd.t).
PATH=/usr/bin:/bin expect_error "image debootstrap without debootstrap" 5 "debootstrap is not installed" \
	-- image debootstrap deb
expect_error "stats of a stopped instance" 4 "instance taken is not running" -- stats --no-stream taken

out=$(hg --help)
ok "$([[ "$out" == *"exit codes"* ]] && [[ "$out" == *"console"* ]]; echo $?)" "hangar --help lists verbs and exit codes"
# Every verb hangar knows (its --help lists HANGAR_VERBS), so that a new
# verb cannot go without help, examples or a man page entry.
verbs=$(awk '/^verbs:/ {on = 1; next} on && NF == 0 {exit} on {print $1}' <<<"$out")
is "$(wc -w <<<"$verbs")" "$(grep -c '^[[:space:]]*X([a-z]*,' "$TOP/cli/hangar/hangar.h")" \
	"hangar --help lists every verb of HANGAR_VERBS ($(echo $verbs))"
for verb in $verbs; do
	out=$(hg "$verb" --help 2>&1)
	rc=$?
	ok "$([ $rc = 0 ] && [[ "$out" == "usage: hangar $verb"* ]] && [[ "$out" == *xample* ]]; echo $?)" "hangar $verb --help: usage with examples"
	grep -qF -e "\\fB$verb\\fR" -e "\\fB$verb " "$TOP/docs/man/hangar.1"
	ok $? "hangar.1 describes $verb"
done
done_testing
