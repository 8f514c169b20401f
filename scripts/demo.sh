#!/usr/bin/env bash
# The main job (README): installs what is missing, builds the examples and runs the quickstart,
# which prints a span tree on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
install_deps --no-npm
[[ -f build-demo/build.ninja ]] ||
  meson setup build-demo -Dtests=false -Dbenchmarks=false >build-demo.setup.log 2>&1 ||
  { cat build-demo.setup.log; exit 1; }
ninja -C build-demo examples/quickstart >/dev/null
exec build-demo/examples/quickstart
