#!/usr/bin/env bash
# Runs the service with a configuration that works on a fresh machine:
# - ../shared/testdata/models present: config/test (stories260K and the tiny test models);
# - otherwise: writes a random-weights demo model with `synth` into models/ and serves
#   config/demo (model id "demo", clearly labelled random weights).
# Any INFERENCE_* variable or serve flag still applies, e.g.
#   INFERENCE_PORT=9000 scripts/serve.sh --api-key secret
# To serve real models: INFERENCE_MODELS_DIR=/path/to/models INFERENCE_CONFIG_DIR=config build/inference-service serve
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/inference-service}
[ -x "$BIN" ] || scripts/setup.sh >/dev/null
if [ -z "${INFERENCE_CONFIG_DIR:-}" ]; then
  if [ -d ../shared/testdata/models ]; then
    export INFERENCE_CONFIG_DIR=config/test INFERENCE_MODELS_DIR=${INFERENCE_MODELS_DIR:-../shared/testdata/models}
  else
    mkdir -p models
    if [ ! -f models/demo-random.gguf ]; then
      if ! "$BIN" synth --help >/dev/null 2>&1; then
        echo "error: ../shared/testdata is absent and this build has no 'synth' command to make a demo model;" >&2
        echo "       set INFERENCE_MODELS_DIR and INFERENCE_CONFIG_DIR (see docs/configuration.md)" >&2
        exit 1
      fi
      "$BIN" synth tiny-llama models/demo-random.gguf
    fi
    export INFERENCE_CONFIG_DIR=config/demo INFERENCE_MODELS_DIR=${INFERENCE_MODELS_DIR:-models}
  fi
fi
exec "$BIN" serve "$@"
