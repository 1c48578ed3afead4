#!/bin/sh
# run.sh -- runs test binaries, every one whole or only what T names.
#
# T=NAME runs the suite NAME (the binary test_NAME, whole) and the case
# NAME of every other binary that has one (CK_RUN_CASE=NAME).  A binary
# without such a case is skipped: it exits 77 at once (run_suite in
# tests/helpers.h), or, if its main is its own, Check's TAP log says it ran
# no test.  A NAME that no binary has is an error, so a typo cannot pass as
# a run of nothing.  WRAP is a command to run each binary under (valgrind).
#
# Usage: [T=NAME] [WRAP='valgrind ...'] tests/run.sh BINARY...
# Exit status: 0 when every test that ran passed, 1 otherwise.

NOT_HERE=77 # tests/helpers.h: WD_TEST_NOT_HERE
tap=$(mktemp /tmp/wd-run-tap-XXXXXX) || exit 1
trap 'rm -f "$tap"' EXIT
failed=0
ran=0
for bin in "$@"; do
  under=${WRAP:+ (under ${WRAP%% *})}
  if [ -z "$T" ] || [ "${bin##*/}" = "test_$T" ]; then
    echo "== $bin$under"
    $WRAP "$bin" || failed=1
    ran=$((ran + 1))
    continue
  fi
  echo "== $bin$under: case $T"
  : >"$tap"
  CK_RUN_CASE=$T CK_TAP_LOG_FILE_NAME=$tap $WRAP "$bin"
  rc=$?
  if [ "$rc" -eq "$NOT_HERE" ] || { [ "$rc" -eq 0 ] && grep -qx '1\.\.0' "$tap"; }; then
    echo "   (no case $T)"
    continue
  fi
  [ "$rc" -eq 0 ] || failed=1
  ran=$((ran + 1))
done
if [ "$ran" -eq 0 ]; then
  echo "run.sh: no test suite or case called '$T' in: $*" >&2
  exit 1
fi
exit $failed
