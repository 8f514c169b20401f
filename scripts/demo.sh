#!/usr/bin/env bash
# The main job (README): installs what is missing, builds the demo and runs it: a coordinator and
# two executor processes talking gRPC on 127.0.0.1, one trace across the three, printed as a tree
# with a waterfall and written as Chrome trace JSON and an HTML page (demo-out/). Arguments go to
# the demo (`scripts/demo.sh --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
install_deps --no-npm
[[ -f build-demo/build.ninja ]] ||
  meson setup build-demo -Dtests=false -Dbenchmarks=false >build-demo.setup.log 2>&1 ||
  { cat build-demo.setup.log; exit 1; }
ninja -C build-demo examples/demo >build-demo.build.log 2>&1 || { tail -n 40 build-demo.build.log; exit 1; }
exec build-demo/examples/demo "$@"
