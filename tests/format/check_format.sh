#!/usr/bin/env bash
# Every C++ source under include/, tests/, benchmarks/ and examples/ is formatted as .clang-format
# says. The style is pinned to clang-format 14 (Debian 12): other versions format some constructs
# differently, so with them the check is skipped rather than failed.
#   check_format.sh SOURCE_ROOT        (CLANG_FORMAT=path overrides the lookup)
# Fix what it reports with: clang-format-14 -i FILE...
set -uo pipefail
root=${1:?usage: check_format.sh SOURCE_ROOT}
cd "$root" || exit 1

skip() { echo "SKIP: $*"; exit 77; }
cf=${CLANG_FORMAT:-}
if [[ -z $cf ]]; then
  for c in clang-format-14 clang-format; do
    if command -v "$c" >/dev/null; then cf=$c; break; fi
  done
fi
[[ -n $cf ]] || skip "clang-format not installed (Debian: apt-get install clang-format)"
version=$("$cf" --version)
[[ $version =~ version\ ([0-9]+) ]] || skip "cannot tell the version of $cf: $version"
[[ ${BASH_REMATCH[1]} == 14 ]] || skip "$cf is $version; the style is pinned to clang-format 14"
[[ -f .clang-format ]] || { echo "no .clang-format in $root"; exit 1; }

# Build trees and npm packages are not ours to format.
mapfile -d '' files < <(find include tests benchmarks examples \
  \( -type d \( -name node_modules -o -name 'build*' -o -name '.*' -o -name subprojects \) -prune \) \
  -o -type f \( -name '*.hpp' -o -name '*.cpp' \) -print0 2>/dev/null | sort -z)
((${#files[@]})) || { echo "no sources found under $root"; exit 1; }

echo "$cf ($version): checking ${#files[@]} files"
out=$("$cf" --style=file --dry-run -Werror --ferror-limit=3 "${files[@]}" 2>&1)
status=$?
if ((status != 0)); then
  echo "$out"
  mapfile -t bad < <(grep -oE '^[^ :]+\.(hpp|cpp):[0-9]+:[0-9]+: error' <<<"$out" | cut -d: -f1 | sort -u)
  echo "FAIL: ${#bad[@]} of ${#files[@]} files not formatted; fix with:"
  echo "  $cf -i ${bad[*]}"
  exit 1
fi
echo "all ${#files[@]} files formatted"
