#!/bin/bash
# tests/vm/run-in-vm reports what happened in the guest: a failing script's
# status and TAP lines, its arguments and HANGAR_* environment; a guest that
# panics or hangs is a failure, never a pass; a missing qemu is a failure in
# one line (a test tool, not a kernel feature); an unknown HANGAR_VM_CGROUP is refused before
# booting; a hung script is listed and stopped by the guest's watchdog, a wedged
# guest by the host's timeout, a stuck boot is tried twice.  (A passing run is
# tests/vm/smoke.t.)  Six boots.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export BUILD=${BUILD:-$TOP/build}
run_in_vm=$TOP/tests/vm/run-in-vm
n=0
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}
work=$(mktemp -d /tmp/infra-vm-harness.XXXXXX)
trap 'rm -rf "$work"' EXIT

if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "not ok 1 - qemu-system-x86_64 is not installed (scripts/install-deps --test)"
	echo "1..1"
	exit 1
fi
echo "1..13"

HANGAR_VM_QEMU=/nonexistent/qemu "$run_in_vm" /bin/true >"$work/out" 2>&1
rc=$?
[ "$rc" = 1 ] && [ "$(wc -l <"$work/out")" = 1 ] &&
	grep -qx 'run-in-vm: test tool missing: /nonexistent/qemu is not installed (scripts/install-deps --test installs it)' "$work/out"
ok $? "without qemu the harness fails in one line naming it (rc $rc: $(cat "$work/out"))"

HANGAR_VM_CGROUP=v1 "$run_in_vm" /bin/true >"$work/out" 2>&1
rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <"$work/out")" = 1 ] && grep -q "HANGAR_VM_CGROUP must be unified or legacy, not 'v1'" "$work/out"
ok $? "an unknown HANGAR_VM_CGROUP is refused in one line before booting (rc $rc: $(cat "$work/out"))"

cat >"$work/fail.sh" <<'G'
#!/bin/bash
echo "1..2"
echo "ok 1 - args: $*"
echo "not ok 2 - deliberate failure, HANGAR_PROBE=$HANGAR_PROBE"
exit 3
G
HANGAR_PROBE='x y$z' "$run_in_vm" "$work/fail.sh" "first arg" second >"$work/out" 2>&1
rc=$?
sed 's/^/#   /' "$work/out"
[ "$rc" = 3 ]
ok $? "a script exiting 3 in the guest makes run-in-vm exit 3 (rc $rc)"
grep -qx 'not ok 2 - deliberate failure, HANGAR_PROBE=x y$z' "$work/out"
ok $? "its TAP lines and the host's HANGAR_* variables come through unchanged"
grep -qx 'ok 1 - args: first arg second' "$work/out"
ok $? "its arguments arrive intact"
! grep -q 'TAP-EXIT' "$work/out" && ! grep -q $'\r' "$work/out"
ok $? "the sentinel is not passed through and lines have no CR"

printf '#!/bin/sh\necho "1..1"\necho c >/proc/sysrq-trigger\nsleep 10\necho "ok 1 - survived"\n' >"$work/panic.sh"
"$run_in_vm" "$work/panic.sh" >"$work/out" 2>&1
rc=$?
[ "$rc" = 1 ] && ! grep -q '^ok 1' "$work/out"
ok $? "a guest kernel panic is a failure (rc $rc)"
grep -q 'no TAP-EXIT sentinel' "$work/out" && grep -q 'Kernel panic' "$work/out"
ok $? "the panic is reported with the guest console"

# A hung script: the guest's watchdog (a minute before HANGAR_VM_TIMEOUT, or
# half of a short one) lists the processes and stops it.
printf '#!/bin/sh\necho "1..1"\nsleep 300\n' >"$work/hang.sh"
t0=$(date +%s)
HANGAR_VM_TIMEOUT=40 "$run_in_vm" "$work/hang.sh" >"$work/out" 2>&1
rc=$?
t1=$(date +%s)
[ "$rc" != 0 ] && [ $((t1 - t0)) -lt 40 ]
ok $? "a hung script is stopped by the guest's watchdog and fails (rc $rc after $((t1 - t0))s)"
grep -q '^# guest watchdog: the test script is still running after 20s' "$work/out" &&
	grep -qE '^# pid [0-9]+ ppid [0-9]+ \[S.*\] wchan .*: sleep 300' "$work/out"
ok $? "the watchdog's report names the hung process"

# A guest whose watchdog cannot act (stopped here by the script itself):
# qemu is stopped by HANGAR_VM_TIMEOUT.
cat >"$work/wedge.sh" <<'G'
#!/bin/sh
echo "1..1"
for d in /proc/[0-9]*; do
	p=${d#/proc/}
	[ "$p" = 1 ] && continue
	[ "$(sed -n 's/^PPid:[[:space:]]*//p' "$d/status" 2>/dev/null)" = 1 ] || continue
	tr '\0' ' ' <"$d/cmdline" | grep -q '/init' && kill -STOP "$p"
done
sleep 300
G
t0=$(date +%s)
HANGAR_VM_TIMEOUT=20 "$run_in_vm" "$work/wedge.sh" >"$work/out" 2>&1
rc=$?
t1=$(date +%s)
[ "$rc" = 1 ] && [ $((t1 - t0)) -lt 45 ] && ! grep -q 'guest watchdog' "$work/out"
ok $? "a guest that does not finish is stopped by HANGAR_VM_TIMEOUT and fails (rc $rc after $((t1 - t0))s)"
grep -q 'did not finish within 20s' "$work/out"
ok $? "the timeout is reported"

# A guest that never reaches the script is booted once more, then fails.
HANGAR_VM_BOOT_TIMEOUT=1 "$run_in_vm" /bin/true >"$work/out" 2>&1
rc=$?
[ "$rc" = 1 ] && [ "$(grep -c 'did not start the test script within 1s' "$work/out")" = 2 ] &&
	grep -q '^# run-in-vm: booting the guest again' "$work/out" &&
	grep -q 'did not start the test script in two boots' "$work/out"
ok $? "a guest stuck in its boot is booted twice, then fails (rc $rc)"
