#!/usr/bin/env bash
# With KRISHIV_TRACE_DISABLED, instrumentation must leave nothing in the binary: no symbol of the
# library in the object file, and instrumented_work() compiled to exactly plain_work()'s code.
# A control build without the macro must show the library (so the check can fail).
#   check.sh SOURCE COMPILER [FLAGS...]
set -u
src=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$@" -O2 -DKRISHIV_TRACE_DISABLED -c "$src" -o "$tmp/off.o" || { echo "compile failed"; exit 1; }
"$@" -O2 -c "$src" -o "$tmp/on.o" || { echo "control compile failed"; exit 1; }
if nm -C "$tmp/off.o" | grep -q krishiv; then
  echo "library symbols left with tracing compiled out:"; nm -C "$tmp/off.o" | grep krishiv; exit 1
fi
nm -C "$tmp/on.o" | grep -q krishiv || { echo "control: no library symbols when enabled?"; exit 1; }
body() {  # the instructions of one function, without addresses and alignment padding
  objdump -d --no-show-raw-insn "$1" |
    awk -v f="<$2>:" '$2==f{on=1;next} on&&/^$/{exit} on{$1="";print}' | grep -vE 'nop|int3'
}
plain=$(body "$tmp/off.o" plain_work)
instr=$(body "$tmp/off.o" instrumented_work)
[[ -n $plain && "$plain" == "$instr" ]] || {
  echo "instrumented_work differs from plain_work:"; echo "$plain"; echo "---"; echo "$instr"; exit 1; }
echo "compiled out: no library symbols; instrumented_work == plain_work ($(wc -l <<<"$instr") instructions)"
