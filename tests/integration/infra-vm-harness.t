#!/bin/bash
# tests/vm/run-in-vm reports what happened in the guest: a failing script's
# status and TAP lines, its arguments and HANGAR_* environment; a guest that
# panics or hangs is a failure, never a pass; a missing qemu is a failure in
# one line (a test tool, not a kernel feature); an unknown HANGAR_VM_CGROUP is refused before
# booting.  (A passing run is tests/vm/smoke.t.)  Three boots.
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
echo "1..10"

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

printf '#!/bin/sh\necho "1..1"\nsleep 300\n' >"$work/hang.sh"
t0=$(date +%s)
HANGAR_VM_TIMEOUT=12 "$run_in_vm" "$work/hang.sh" >"$work/out" 2>&1
rc=$?
t1=$(date +%s)
[ "$rc" = 1 ] && [ $((t1 - t0)) -lt 30 ]
ok $? "a hung guest is stopped by HANGAR_VM_TIMEOUT and fails (rc $rc after $((t1 - t0))s)"
grep -q 'did not finish within 12s' "$work/out"
ok $? "the timeout is reported"
