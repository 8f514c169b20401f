#!/usr/bin/env bash
# The span-overhead benchmark (README): builds in release, runs, prints a table with every figure
# also as a ratio to `floor` measured in the same run, and writes the raw JSON.
#   scripts/bench.sh [OUT.json]   (default: build-bench/span_bench.json)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build-bench
out=${1:-$dir/span_bench.json}
[[ -f $dir/build.ninja ]] || meson setup "$dir" -Dbuildtype=release -Dtests=false -Dexamples=false >/dev/null
ninja -C "$dir" benchmarks/span_bench >/dev/null
"$dir/benchmarks/span_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.2 --benchmark_out="$out" --benchmark_out_format=json \
  --benchmark_format=json >/dev/null
python3 - "$out" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
ctx = data["context"]
med = {b["run_name"]: b for b in data["benchmarks"] if b.get("aggregate_name") == "median"}
floor = med["BM_floor"]["cpu_time"]
print(f"machine: {ctx.get('host_name')}, {ctx['num_cpus']} cpus @ {ctx['mhz_per_cpu']} MHz, "
      f"load {ctx.get('load_avg')}")
print(f"{'benchmark':44} {'ns/span':>9} {'x floor':>8}  notes")
for name, b in med.items():
    if name.startswith(("BM_memory", "BM_machine")):
        continue
    ns = b["cpu_time"]
    notes = []
    if "ns_per_span" in b:
        ns = b["ns_per_span"] * 1e9 if b["ns_per_span"] < 1 else b["ns_per_span"]
    if "items_per_second" in b:
        notes.append(f"{b['items_per_second'] / 1e6:.1f} M spans/s")
    if "dropped" in b:
        notes.append(f"dropped {int(b['dropped'])} ({b.get('dropped_pct', 0):.2f} %)")
    if b.get("threads", 1) > 1:
        ns = b["real_time"]
        notes.append(f"{b['threads']} threads: wall ns per span, all threads together")
    print(f"{name:44} {ns:9.2f} {ns / floor:8.2f}  {', '.join(notes)}")
for name, b in med.items():
    if name.startswith("BM_machine_stalls"):
        print(f"{name}: {b['stalls_over_140us_per_s']:.1f} stalls over 140 us per second and "
              f"thread, longest {b['max_stall_us']:.0f} us")
mem = [b for b in data["benchmarks"] if b["run_name"].startswith("BM_memory")]
if mem:
    m = mem[0]
    print(f"memory: {m.get('record_bytes', 0):.0f} bytes of buffer per span with the 4 standard "
          f"fields (job id of {len('job-2026-11-25-0001')} chars), peak RSS "
          f"{m.get('peak_rss_MiB', 0):.1f} MiB with 1,000,000 spans buffered "
          f"(dropped {m.get('dropped', 0):.0f})")
one = med.get("BM_span_4_fields")
two = med.get("BM_span_4_fields/real_time/threads:2")
if one and two:
    def recorded(b):
        return b["items_per_second"] * (1 - b.get("dropped_pct", 0) / 100)
    print(f"2 threads: {two['items_per_second'] / one['items_per_second']:.2f}x the single-thread "
          f"spans/s; counting recorded spans only: {recorded(two) / 1e6:.1f} M/s vs "
          f"{recorded(one) / 1e6:.1f} M/s, {recorded(two) / recorded(one):.2f}x")
PY
echo "raw JSON: $out"
