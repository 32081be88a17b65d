#!/usr/bin/env bash
# ThreadSanitizer variant of the concurrency tests: builds serving_tests with -fsanitize=thread into
# build-tsan/ and runs the scheduler (continuous batching over one model from many client threads,
# cancellation, queue, prefix cache) and model-manager tests. Any data race fails the run.
#   scripts/tsan.sh                       # the default selection
#   scripts/tsan.sh --gtest_filter='X*'   # other gtest arguments replace it
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${TSAN_BUILD_DIR:-build-tsan}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} -DISV_TSAN=ON >/dev/null
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}" --target serving_tests
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
if [ $# -eq 0 ]; then set -- --gtest_filter='SchedulerTest.*:*BatchInvariance*:RequestQueue*:PrefixCache*:ModelManager*'; fi
"$BUILD_DIR/tests/serving_tests" "$@"
