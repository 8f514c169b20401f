#!/usr/bin/env bash
# The demo's HTML waterfall in a real browser: headless Chromium renders trace.html and every span
# of the trace (the ids in trace.chrome.json) must have its bar element, id="bar-<span id>", in the
# rendered DOM. The page draws the bars with its inline script from the embedded data, so the bars
# being there proves the script ran; the file itself holds no such element.
#   html_check.sh DEMO_BINARY
# Exits 77 (meson: skipped) with a reason when Chromium is not installed or cannot run here.
set -uo pipefail
demo=${1:?usage: html_check.sh DEMO_BINARY}
browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $browser ]]; then
  echo "SKIP: chromium is not installed (Debian package chromium; scripts/deps.sh installs it)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! env -u OTEL_EXPORTER_OTLP_ENDPOINT NO_COLOR=1 "$demo" --out "$work/out" >"$work/stdout" 2>"$work/stderr"; then
  echo "FAIL: the demo failed"
  cat "$work/stdout" "$work/stderr"
  exit 1
fi
html=$work/out/trace.html
if grep -q 'id="bar-' "$html"; then
  echo "FAIL: trace.html holds bar elements before rendering: the check would prove nothing"
  exit 1
fi

timeout 120 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
  --user-data-dir="$work/profile" --dump-dom "file://$html" >"$work/dom.html" 2>"$work/browser.log"
rc=$?
if [[ $rc -ne 0 || ! -s $work/dom.html ]]; then
  echo "SKIP: $browser cannot run here (exit $rc): $(tail -n 3 "$work/browser.log" | tr '\n' ' ')"
  exit 77
fi

mapfile -t ids < <(grep -o '"span_id": *"[0-9a-f]\{16\}"' "$work/out/trace.chrome.json" |
  grep -o '[0-9a-f]\{16\}' | sort -u)
if ((${#ids[@]} < 20)); then
  echo "FAIL: only ${#ids[@]} span ids in trace.chrome.json"
  exit 1
fi
missing=0
for id in "${ids[@]}"; do
  if ! grep -q "id=\"bar-$id\"" "$work/dom.html"; then
    echo "FAIL: no bar for span $id in the rendered page"
    missing=$((missing + 1))
  fi
done
bars=$(grep -o 'id="bar-[0-9a-f]\{16\}"' "$work/dom.html" | sort -u | wc -l)
if ((missing > 0 || bars != ${#ids[@]})); then
  echo "FAIL: $missing of ${#ids[@]} spans have no bar; the page has $bars bars"
  exit 1
fi
echo "OK: $($browser --version 2>/dev/null | head -n 1) rendered a bar for each of the ${#ids[@]} spans"
