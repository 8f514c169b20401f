#!/bin/sh
# Plain -I: the whole build is one compiler line (C++20 or later, -pthread; -lfmt for the
# console exporter).
#   build.sh [OUTPUT]    KRISHIV_TRACE_INCLUDE: krishiv-trace's include/ (default: this tree's)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
inc=${KRISHIV_TRACE_INCLUDE:-$here/../../../include}
out=${1:-span_tree}
if pkg-config --exists fmt 2>/dev/null; then
  # shellcheck disable=SC2046
  set -- -DKT_CONSUMER_CONSOLE $(pkg-config --cflags --libs fmt)
else
  set --
fi
${CXX:-c++} -std=c++20 -I"$inc" "$here/main.cpp" -o "$out" -pthread "$@"
