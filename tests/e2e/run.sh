#!/usr/bin/env bash
# End-to-end tests (a ctest test): starts `inference-service serve` on the test models in
# ../shared/testdata/models and drives it with the official `openai` npm client under node's test
# runner. Installs the client with `npm ci` (package-lock.json) on first use.
#   tests/e2e/run.sh build/inference-service [node --test args...]
# Exit 77 (ctest: skipped) when node/npm or ../shared/testdata is absent.
set -euo pipefail
BIN=$(realpath "$1")
shift
cd "$(dirname "$0")"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: node/npm not installed (apt-get install nodejs npm)"
  exit 77
fi
SHARED=$(realpath ../../../shared 2>/dev/null || true)
if [ -z "$SHARED" ] || [ ! -d "$SHARED/testdata/models" ]; then
  echo "SKIP: ../shared/testdata absent"
  exit 77
fi
if [ ! -f node_modules/openai/package.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
export ISV_BINARY="$BIN" ISV_MODELS_DIR="$SHARED/testdata/models" ISV_CONFIG_DIR=$(realpath ../../config/test)
exec node --test --test-concurrency=1 "$@" ./*.test.mjs
