#!/usr/bin/env bash
# What including krishiv-trace costs a translation unit: CPU time (user + sys, median of RUNS
# compiles) of `$CXX -O0 -std=c++20 -c` on a file that includes only the header, against a
# baseline file with <vector>, <string> and <thread>; prints each time and its ratio.
#   scripts/compile_cost.sh        Environment: CXX (default g++), RUNS (default 5)
# Headers whose dependency (fmt, grpc++) is not installed are reported and skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cxx=${CXX:-g++}
runs=${RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# name | includes (space-separated) | extra compile flags (pkg-config names, "-" for none)
cases=(
  "baseline|vector string thread|-"
  "trace.hpp|krishiv/trace.hpp|-"
  "trace/span.hpp|krishiv/trace/span.hpp|-"
  "exporters/in_memory.hpp|krishiv/trace/exporters/in_memory.hpp|-"
  "exporters/console.hpp|krishiv/trace/exporters/console.hpp|fmt"
  "exporters/otlp_grpc.hpp|krishiv/trace/exporters/otlp_grpc.hpp|grpc++"
)

# CPU seconds (user + sys, children included) of one compile, from bash's `time`.
cpu_seconds() {
  local tu=$1 TIMEFORMAT='%3U %3S' t
  shift
  t=$({ time "$cxx" -O0 -std=c++20 -I"$root/include" "$@" -c "$tu" -o "$work/out.o" \
    2>"$work/err"; } 2>&1) || { cat "$work/err" >&2; exit 1; }
  awk '{ printf "%.3f", $1 + $2 }' <<<"$t"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

base=""
printf "%-26s %10s %8s\n" "translation unit" "cpu s" "ratio"
for c in "${cases[@]}"; do
  IFS='|' read -r name includes pc <<<"$c"
  flags=()
  if [[ $pc != - ]]; then
    if ! pkg-config --exists "$pc"; then
      printf "%-26s %10s %8s\n" "$name" "-" "(no $pc)"
      continue
    fi
    read -r -a flags <<<"$(pkg-config --cflags "$pc")"
  fi
  tu=$work/tu_${name//[^a-z]/_}.cpp
  : >"$tu"
  for h in $includes; do echo "#include <$h>" >>"$tu"; done
  echo "int main() {}" >>"$tu"
  samples=()
  for ((i = 0; i < runs; i++)); do samples+=("$(cpu_seconds "$tu" "${flags[@]}")"); done
  m=$(printf "%s\n" "${samples[@]}" | median)
  [[ -z $base ]] && base=$m
  printf "%-26s %10.3f %7.2fx\n" "$name" "$m" "$(awk -v a="$m" -v b="$base" 'BEGIN { print a / b }')"
done
echo "($cxx -O0 -std=c++20 -c, median of $runs; target: trace.hpp <= 2.5x baseline)"
