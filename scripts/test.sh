#!/usr/bin/env bash
# Builds (via setup.sh) and runs every test. Golden tests read ../shared/testdata and skip with a
# message when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "${JOBS:-$(nproc)}" "$@"
