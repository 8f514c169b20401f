#!/usr/bin/env bash
# Compiles each public header on its own with the warnings users build with, as errors:
#   strict_check.sh INCLUDE_DIR SPEC...
# SPEC is PKGS:HEADER or PKGS:FILE.cpp, PKGS the comma-separated pkg-config packages it needs
# (empty for the core). A header gets a TU of its own, compiled at -O2; a .cpp file (a TU that
# uses the headers the way users do) is compiled at -O0, -O2 and -O3. The compiler is $STRICT_CXX
# (words: "ccache g++" works); exit 77 when it is missing.
#
# `-c -O2 -o /dev/null`, not -fsyntax-only: some warnings (g++'s -Wdangling-pointer, -Wrestrict,
# -Wstringop-*) come from the optimisers and are never reported without code generation; and
# only for code that is emitted, which a header alone mostly is not: hence the .cpp files.
# Third-party include dirs are -isystem: their warnings are not ours.
set -uo pipefail
include_dir=${1:?usage: strict_check.sh INCLUDE_DIR PKGS:HEADER...}
shift
read -r -a cxx <<<"${STRICT_CXX:-c++}"
if ! command -v "${cxx[-1]}" >/dev/null; then
  echo "SKIP: ${cxx[-1]} not installed"
  exit 77
fi
jobs=${STRICT_JOBS:-2}
flags=(-std=c++20 -pthread -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow
  -Wold-style-cast -Werror)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Each compile is a job N: its command in N.cmd (NUL-separated words), its label in N.name.
n=0
declare -A pkg_flags
for spec in "$@"; do
  pkgs=${spec%%:*} header=${spec#*:}
  if [[ -z ${pkg_flags[_$pkgs]+set} ]]; then
    extra=()
    if [[ -n $pkgs ]]; then
      if ! raw=$(pkg-config --cflags ${pkgs//,/ }); then
        echo "FAIL: pkg-config --cflags ${pkgs//,/ } (for $header)"
        exit 1
      fi
      for f in $raw; do
        case $f in -I*) extra+=(-isystem "${f#-I}") ;; *) extra+=("$f") ;; esac
      done
    fi
    pkg_flags[_$pkgs]=${extra[*]-}
  fi
  read -r -a extra <<<"${pkg_flags[_$pkgs]}"
  if [[ $header == *.cpp ]]; then
    src=$header levels=(-O0 -O2 -O3)
  else
    src=$work/$((n + 1)).cpp levels=(-O2)
    printf '#include "%s"\n' "$header" >"$src"
  fi
  for level in "${levels[@]}"; do
    n=$((n + 1))
    printf '%s %s' "$header" "$level" >"$work/$n.name"
    printf '%s\0' "${cxx[@]}" "${flags[@]}" "$level" -I "$include_dir" "${extra[@]}" \
      -c "$src" -o /dev/null >"$work/$n.cmd"
  done
done
((n > 0)) || { echo "no headers given"; exit 1; }

echo "$("${cxx[@]}" --version | head -1): $n compiles, ${flags[*]}"
# Each job leaves $work/N.fail behind when it does not compile; output goes to $work/N.log.
seq 1 "$n" | xargs -P "$jobs" -I{} bash -c '
  mapfile -d "" cmd <"$0/$1.cmd"
  "${cmd[@]}" >"$0/$1.log" 2>&1 || touch "$0/$1.fail"' "$work" {}

failed=0
for i in $(seq 1 "$n"); do
  name=$(<"$work/$i.name")
  if [[ -e $work/$i.fail ]]; then
    failed=$((failed + 1))
    echo "---- FAIL $name"
    cat "$work/$i.log"
  elif [[ -s $work/$i.log ]]; then
    echo "---- ok $name (with output)"
    cat "$work/$i.log"
  fi
done
echo "$((n - failed)) of $n compile with the strict flags"
((failed == 0))
