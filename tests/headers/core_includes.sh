#!/usr/bin/env bash
# The core keeps off the standard headers that dominated its compile cost (scripts/compile_cost.sh)
# and that no core header needs: none of them is included by a krishiv header that the umbrella
# <krishiv/trace.hpp> pulls in. Only our own include lines are checked (what a standard header
# includes is the library's business; libc++ and libstdc++ differ there).
#   core_includes.sh INCLUDE_DIR       Environment: CXX (words, default c++)
set -euo pipefail
include=${1:?usage: core_includes.sh INCLUDE_DIR}
read -r -a cxx <<<"${CXX:-c++}"
banned='^(algorithm|chrono|cmath|filesystem|functional|iostream|map|random|regex|sstream|x86intrin\.h|immintrin\.h)$'
# <chrono> only through detail/chrono.hpp, which takes libstdc++'s durations and clocks without it
# and falls back to <chrono> on other standard libraries.
tree=$(echo '#include <krishiv/trace.hpp>' |
  "${cxx[@]}" -std=c++20 -I"$include" -x c++ -E -H -o /dev/null - 2>&1 >/dev/null | grep -E '^\.+ ')
# -H prints one line per include, its depth in dots: a header's includer is the nearest line above
# it with one dot fewer.
bad=$(awk -v banned="$banned" '
  { depth = length($1); path = $2; parent[depth] = path
    if (depth > 1 && parent[depth - 1] ~ /\/krishiv\//) {
      name = path; sub(/.*\//, "", name)
      if (name ~ banned && !(name == "chrono" && parent[depth - 1] ~ /\/detail\/chrono\.hpp$/))
        print parent[depth - 1] " includes <" name ">"
    } }' <<<"$tree")
if [[ -n $bad ]]; then
  echo "core_includes: the umbrella reaches standard headers it keeps off:"
  echo "$bad"
  exit 1
fi
echo "core_includes: $(grep -c /krishiv/ <<<"$tree") krishiv headers, none includes a banned one"
