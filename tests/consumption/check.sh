#!/usr/bin/env bash
# Every way users drop the library into a build works: as a meson subproject (dependency
# fallback), and installed with its pkg-config file. Each builds and runs a small program.
#   check.sh SOURCE_ROOT WORK_DIR
set -euo pipefail
src=$1 work=$2
rm -rf "$work"
mkdir -p "$work"
cat >"$work/main.cpp" <<'CPP'
#include <krishiv/trace.hpp>
#include <krishiv/trace/exporters/in_memory.hpp>
#include <cstdio>
namespace kt = krishiv::trace;
int main() {
  auto sink = std::make_shared<kt::InMemoryExporter>();
  {
    kt::TracerProvider p({.exporter = kt::TracerExporter::InMemory(sink),
                          .sampler = kt::Sampler::always_on()});
    auto s = kt::info_span("consumed", kt::job_id{"j"}).entered();
  }
  std::printf("%zu span(s)\n", sink->size());
  return sink->size() == 1 ? 0 : 1;
}
CPP

# 1. As a subproject.
mkdir -p "$work/sub/subprojects"
ln -s "$src" "$work/sub/subprojects/krishiv-trace"
cp "$work/main.cpp" "$work/sub/"
cat >"$work/sub/meson.build" <<'MESON'
project('consumer', 'cpp', default_options : ['cpp_std=c++20'])
kt = dependency('krishiv-trace', fallback : ['krishiv-trace', 'krishiv_trace_dep'],
  default_options : ['tests=false', 'examples=false', 'benchmarks=false'])
executable('consumer', 'main.cpp', dependencies : kt)
MESON
meson setup "$work/sub/build" "$work/sub" >"$work/sub.log" 2>&1 || { cat "$work/sub.log"; exit 1; }
ninja -C "$work/sub/build" >>"$work/sub.log" 2>&1 || { cat "$work/sub.log"; exit 1; }
"$work/sub/build/consumer"

# 2. Installed, found with pkg-config.
meson setup "$work/inst-build" "$src" --prefix=/usr -Dtests=false -Dexamples=false \
  -Dbenchmarks=false >"$work/inst.log" 2>&1 || { cat "$work/inst.log"; exit 1; }
DESTDIR="$work/root" meson install -C "$work/inst-build" >>"$work/inst.log" 2>&1 ||
  { cat "$work/inst.log"; exit 1; }
pc_dir=$(dirname "$(find "$work/root" -name krishiv-trace.pc | head -1)")
[[ -n $pc_dir ]] || { echo "no krishiv-trace.pc installed"; exit 1; }
flags=$(PKG_CONFIG_PATH=$pc_dir PKG_CONFIG_SYSROOT_DIR=$work/root pkg-config --cflags --libs krishiv-trace)
# shellcheck disable=SC2086
${CXX:-c++} "$work/main.cpp" $flags -o "$work/installed"
"$work/installed"
echo "consumption: subproject and installed pkg-config builds work"
