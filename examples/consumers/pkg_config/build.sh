#!/bin/sh
# pkg-config, after `meson install`: krishiv-trace-fmt brings the core and fmt; krishiv-trace the
# core alone (krishiv-trace-grpc: the core and grpc++). No -std in the flags: pick yours (>= 20).
#   build.sh [OUTPUT]    (PKG_CONFIG_PATH: where the .pc files are, if not a standard place)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-span_tree}
if pkg-config --exists krishiv-trace-fmt; then
  # shellcheck disable=SC2046
  set -- -DKT_CONSUMER_CONSOLE $(pkg-config --cflags --libs krishiv-trace-fmt)
else
  # shellcheck disable=SC2046
  set -- $(pkg-config --cflags --libs krishiv-trace)
fi
${CXX:-c++} -std="${CXX_STD:-c++20}" "$here/main.cpp" -o "$out" "$@"
