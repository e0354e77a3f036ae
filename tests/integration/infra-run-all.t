#!/bin/bash
# tests/run-all's contract: one closing line "N passed, N failed, N skipped",
# a non-zero exit on any failure, exit 77 counted as a skip with its reason,
# a script that dies without a plan counted as a failure, and each failed
# test's first failures (or, for a run that ended without a "not ok", the
# harness's own "# run-in-vm" / "# guest watchdog" lines) repeated just above
# the closing line, where a CI summary that keeps only the tail shows them.
# Driven with a BUILD of stand-in unit tests, so no real test runs twice.
. "$(dirname "$0")/lib.sh"
work=$TEST_TMP
[ -x "$BUILD/tests/helpers/subreaper" ] || bail_out "$BUILD/tests/helpers/subreaper is not built"
mkdir -p "$work/build/tests/unit" "$work/build/tests/helpers"
ln -s "$BUILD/tests/helpers/subreaper" "$work/build/tests/helpers/subreaper"
stub() { # stub NAME BODY
	printf '#!/bin/sh\n%s\n' "$2" >"$work/build/tests/unit/$1"
	chmod +x "$work/build/tests/unit/$1"
}
stub test_a_pass 'echo "1..2"; echo "ok 1 - one"; echo "ok 2 - two # SKIP no such feature"'
stub test_b_fail 'echo "1..3"; echo "ok 1 - fine"; echo "not ok 2 - first failure"; echo "not ok 3 - second failure"; exit 1'
stub test_c_skip 'echo "1..0 # SKIP the kernel lacks a feature"; exit 77'
stub test_c_plan 'echo "1..3"; echo "ok 1 - only one of three"; echo "some last words"'
stub test_d_died 'echo "ok 1 - started"; echo "# run-in-vm: the guest did not finish within 600s"; echo "# guest watchdog: the test script is still running after 540s; processes:"; echo "# pid 7 ppid 1 [D (disk sleep)] wchan x: hangar-oci delete c1"; exit 1'

BUILD=$work/build HANGAR_TEST_LOGS=$work/logs "$TOP/tests/run-all" unit >"$work/out" 2>&1
rc=$?
sed 's/^/#   /' "$work/out"
[ "$rc" != 0 ]; ok $? "a failure makes run-all exit non-zero (rc $rc)"
is_last() { [ "$(tail -n 1 "$work/out")" = "$1" ]; }
# Passed: 1 + 1 + 1 + 1 (skips apart); failed: 2 "not ok", 1 short of its
# plan, 1 died without a plan.
is_last "4 passed, 4 failed, 2 skipped"; ok $? "the closing line counts passes, failures and skips ($(tail -n 1 "$work/out"))"
grep -q '^SKIP unit/test_c_skip: 1..0 # SKIP the kernel lacks a feature' "$work/out"
ok $? "exit 77 is a skip with its reason"
[ "$(tail -n 2 "$work/out" | head -n 1)" = "# failed: unit/test_b_fail unit/test_c_plan unit/test_d_died (logs in $work/logs)" ]
ok $? "the line above the closing one names the failed tests and the log directory"
# The digest: between the last test's own lines and "# failed:".
digest=$(sed -n '/^# unit\/test_b_fail:$/,/^# failed:/p' "$work/out")
grep -qx '#   not ok 2 - first failure' <<<"$digest" && grep -qx '#   not ok 3 - second failure' <<<"$digest"
ok $? "the digest repeats the failed test's not-ok lines"
grep -qx '# unit/test_d_died:' <<<"$digest" &&
	grep -qx '#   # guest watchdog: the test script is still running after 540s; processes:' <<<"$digest" &&
	grep -qx '#   # pid 7 ppid 1 \[D (disk sleep)\] wchan x: hangar-oci delete c1' <<<"$digest"
ok $? "for a test that died without a failure it repeats the harness's and the watchdog's lines"
grep -qx '# unit/test_c_plan:' <<<"$digest" && grep -qx '#   some last words' <<<"$digest"
ok $? "for one short of its plan without such lines, its last lines"
! grep -q 'test_a_pass\|test_c_skip' <<<"$digest"
ok $? "passing and skipped tests are not in the digest"

rm -f "$work/build/tests/unit/test_b_fail" "$work/build/tests/unit/test_c_plan" "$work/build/tests/unit/test_d_died"
BUILD=$work/build HANGAR_TEST_LOGS=$work/logs "$TOP/tests/run-all" unit >"$work/out" 2>&1
rc=$?
[ "$rc" = 0 ]; ok $? "without failures run-all exits 0 (rc $rc)"
is_last "1 passed, 0 failed, 2 skipped" && ! grep -q '^# failed:' "$work/out"
ok $? "and prints no failure lines ($(tail -n 1 "$work/out"))"
done_testing
