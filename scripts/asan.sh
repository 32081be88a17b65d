#!/usr/bin/env bash
# Sanitizer variant of the tests: builds engine_tests with AddressSanitizer + UBSan into build-asan/
# and runs the tests that feed the code untrusted bytes: the GGUF reader (malformed files), model
# and tokenizer loading from crafted metadata, the tokenizers (vocab vectors, random UTF-8), the
# Jinja interpreter (features, sandbox, mutated templates), the tool-call parsers, the grammar /
# JSON Schema / regex compilers (client-supplied), and the image decoders, base64 and mmproj loader
# (client images, model files), and the prefill / AMX-emulated / 8-row-group kernels and repacking
# (their packing and row unpacking compute offsets into model bytes; tests end the weights at a
# protected page). The 640
# template goldens (shipped templates, one process each) are left out to keep the step short.
#   scripts/asan.sh                 # ctest -R "$DEFAULT_SELECTION"
#   scripts/asan.sh -R 'Gguf|Sampler'   # other ctest arguments replace the default selection
# Any sanitizer report fails the run (halt_on_error).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} -DISV_ASAN=ON >/dev/null
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}" --target engine_tests
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
DEFAULT_SELECTION='Gguf|ModelLoad|MissingRequiredKey|MissingTensor|Tokeniz|VocabVectors|SpecialToken|StreamDecoder|RoundTrip|Unicode|Jinja|ChatTemplate|TemplateRobustness|TemplateSandbox|ToolCalls|GrammarTest|JsonSchemaGrammar|RegexGrammar|ToolCallGrammar|ImageDecode|Base64|Preprocess|ClipEncoder|PrefillTest|Rows8|AmxQ8_0Test|AmxTiles'
if [ $# -eq 0 ]; then set -- -R "$DEFAULT_SELECTION"; fi
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "${JOBS:-$(nproc)}" "$@"
