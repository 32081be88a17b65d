#!/usr/bin/env bash
# Installs the Debian packages the project builds with (only those missing), then configures and
# builds into build/. Safe to run again; a second run only rebuilds what changed.
#   scripts/setup.sh            # release build in build/
#   BUILD_DIR=build-asan CMAKE_ARGS=-DISV_ASAN=ON scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config libgtest-dev libgmock-dev
          libcli11-dev nlohmann-json3-dev libpcre2-dev libpng-dev libjpeg62-turbo-dev
          libcpp-httplib-dev libyaml-cpp-dev libspdlog-dev prometheus-cpp-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node + npm run the end-to-end tests (tests/e2e, the official `openai` client); any install that
# provides both commands will do (Debian's or NodeSource's), so they are checked by command.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} ${CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}"
