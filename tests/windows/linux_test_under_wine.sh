#!/usr/bin/env bash
# One of the Linux build's test programs driving Octopus.Server.exe and
# Tentacle.exe under wine (OCTO_TEST_PROGRAM_WRAPPER), in a wine prefix of its
# own with one wineserver for every command, so the same expectations are
# checked on both platforms: the CLI suite (tests/cli), the interop tests
# (tests/interop) and the bad-input table (tests/reliability/bad_input_test.cc).
# Where Windows prints a path or a system message differently, the test says
# so (CliTest::Shown, UnderWine).
# Usage: linux_test_under_wine.sh WINDOWS_BIN_DIR LINUX_BUILD_DIR TEST GTEST_FILTER [WINE]
set -euo pipefail
win_bin="$(cd "$1" && pwd)"
test_bin="$2/tests/$3"
filter="$4"
wine="${5:-/usr/lib/wine/wine64}"
if [[ ! -x "$test_bin" ]]; then
  echo "FAIL: $test_bin is missing: build the Linux tests first (cmake --workflow --preset ci)"
  exit 1
fi
source "$(dirname "$0")/private_wine.sh"
trap stop_private_wine EXIT
start_private_wine
OCTO_TEST_PROGRAM_WRAPPER="$wine" OCTO_TEST_SERVER_BIN="$win_bin/Octopus.Server.exe" \
  OCTO_TEST_TENTACLE_BIN="$win_bin/Tentacle.exe" "$test_bin" --gtest_filter="$filter"
