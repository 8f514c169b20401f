#!/usr/bin/env bash
# Compile-fail check: SOURCE must compile as is, and must fail to compile with -DKRISHIV_CF_FAIL
# with a diagnostic matching EXPECTED. The first compile proves the failure comes from the marked
# line, not from a broken test file.
#   check.sh EXPECTED SOURCE COMPILER [FLAGS...]
set -u
expected=$1 src=$2
shift 2
if ! out=$("$@" -fsyntax-only "$src" 2>&1); then
  echo "control compile (without KRISHIV_CF_FAIL) failed:"; echo "$out"; exit 1
fi
if out=$("$@" -fsyntax-only -DKRISHIV_CF_FAIL "$src" 2>&1); then
  echo "expected a compile error matching '$expected', but it compiled"; exit 1
fi
if ! grep -qE "$expected" <<<"$out"; then
  echo "compile failed, but without the expected message '$expected':"; echo "$out" | head -40; exit 1
fi
echo "fails as expected: $(grep -oE "$expected" <<<"$out" | head -1)"
