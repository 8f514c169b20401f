#!/usr/bin/env bash
# Every way users drop the library into a build works: each consumer in examples/consumers is
# built the way its README line says, against this source tree or a tree installed from it, and
# run. Against the source tree: plain -I, meson subproject (through the wrap's [provide]), CMake
# add_subdirectory and FetchContent. Installed (`meson install` with DESTDIR, so the installed
# files must be relocatable): pkg-config, CMake find_package (krishiv::trace, _fmt, _grpc).
#   check.sh SOURCE_ROOT WORK_DIR
# Environment: CXX (the compiler). Exits 77 (skipped) when cmake is missing, after the others ran.
set -euo pipefail
src=$(cd "$1" && pwd) work=$2
consumers=$src/examples/consumers
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
export CXX=${CXX:-c++}
# The consumers' own CMake and meson builds use this compiler too (its first word, then flags).
read -r -a cxx_words <<<"$CXX"

step() { echo "== $*"; }
# Runs a command quietly into a log, printing the log when it fails.
logged() {
  local log=$1
  shift
  "$@" >>"$log" 2>&1 || {
    cat "$log"
    echo "consumption: FAILED: $*"
    exit 1
  }
}
# The consumer printed the span tree (console exporter) or the span names (in-memory).
check_output() {
  local what=$1 out=$2
  if ! grep -q "consumer_job" "$out" || ! grep -q "consumer_step" "$out"; then
    cat "$out"
    echo "consumption: $what printed no span tree"
    exit 1
  fi
  echo "   $what: $(grep -c consumer_ "$out") span line(s)"
}
have_fmt=0
pkg-config --exists fmt && have_fmt=1
have_grpc=0
pkg-config --exists grpc++ && have_grpc=1

# ---- against the source tree ------------------------------------------------------------------
step "plain -I"
logged "$work/plain.log" "$consumers/plain/build.sh" "$work/plain_span_tree"
"$work/plain_span_tree" >"$work/plain.out"
check_output plain "$work/plain.out"

step "meson subproject (wrap [provide], tests/examples/benchmarks off by default)"
cp -r "$consumers/meson" "$work/meson"
ln -s "$src" "$work/meson/subprojects/krishiv-trace"
logged "$work/meson.log" env CXX="$CXX" meson setup "$work/meson/build" "$work/meson" \
  --force-fallback-for=krishiv-trace,krishiv-trace-fmt
if meson introspect --targets "$work/meson/build" | grep -q '"catch_main"'; then
  echo "consumption: the subproject built its tests"
  exit 1
fi
logged "$work/meson.log" ninja -C "$work/meson/build"
"$work/meson/build/span_tree" >"$work/meson.out"
check_output meson "$work/meson.out"

# ---- installed --------------------------------------------------------------------------------
step "meson install --destdir (prefix /opt/krishiv-trace)"
root=$work/root prefix=/opt/krishiv-trace
logged "$work/install.log" meson setup "$work/inst-build" "$src" --prefix=$prefix -Dtests=false \
  -Dexamples=false -Dbenchmarks=false
logged "$work/install.log" meson install -C "$work/inst-build" --destdir "$root"
pc_file=$(find "$root" -name krishiv-trace.pc | head -1)
[[ -n $pc_file ]] || { echo "consumption: no krishiv-trace.pc installed"; exit 1; }
for pc in krishiv-trace-fmt krishiv-trace-grpc; do
  [[ -f $(dirname "$pc_file")/$pc.pc ]] || { echo "consumption: no $pc.pc installed"; exit 1; }
done

step "pkg-config (no -std in the flags; built with -std=c++23 where the compiler has it)"
PKG_CONFIG_PATH=$(dirname "$pc_file")
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR=$root
flags=$(pkg-config --cflags --libs krishiv-trace krishiv-trace-fmt krishiv-trace-grpc 2>&1 ||
  pkg-config --cflags --libs krishiv-trace)
if [[ $flags == *-std=* ]]; then
  echo "consumption: pkg-config flags set the language standard: $flags"
  exit 1
fi
std=c++20
echo 'int main() {}' | "${cxx_words[@]}" -std=c++23 -x c++ -fsyntax-only - 2>/dev/null && std=c++23
logged "$work/pkg_config.log" env CXX_STD=$std "$consumers/pkg_config/build.sh" \
  "$work/pkg_config_span_tree"
"$work/pkg_config_span_tree" >"$work/pkg_config.out"
check_output "pkg_config ($std)" "$work/pkg_config.out"
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# ---- CMake ------------------------------------------------------------------------------------
if ! command -v cmake >/dev/null; then
  echo "consumption: SKIPPED the CMake consumers: cmake is not installed (Debian: apt-get install cmake)"
  exit 77
fi
cmake_flags=(-G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_COMPILER=${cxx_words[0]}")
((${#cxx_words[@]} > 1)) && cmake_flags+=("-DCMAKE_CXX_FLAGS=${cxx_words[*]:1}")

step "CMake add_subdirectory (C++23 consumer: cxx_std_20 is a minimum)"
logged "$work/cmake_sub.log" cmake -S "$consumers/cmake_subdirectory" -B "$work/cmake_sub" \
  "${cmake_flags[@]}" -DKRISHIV_TRACE_SOURCE_DIR="$src" -DCMAKE_CXX_STANDARD=23 \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
if ((have_fmt)) && ! grep -q "krishiv::trace_fmt defined" "$work/cmake_sub.log"; then
  echo "consumption: fmt is installed but krishiv::trace_fmt is not defined"
  exit 1
fi
if ((have_grpc)) && ! grep -q "krishiv::trace_grpc defined" "$work/cmake_sub.log"; then
  echo "consumption: grpc++ is installed but krishiv::trace_grpc is not defined"
  exit 1
fi
if ! grep -qE -- "-std=(c|gnu)\+\+(23|2b)" "$work/cmake_sub/compile_commands.json"; then
  grep -o -- "-std=[^ ]*" "$work/cmake_sub/compile_commands.json"
  echo "consumption: the consumer's C++23 was not kept"
  exit 1
fi
logged "$work/cmake_sub.log" cmake --build "$work/cmake_sub"
"$work/cmake_sub/span_tree" >"$work/cmake_sub.out"
check_output cmake_subdirectory "$work/cmake_sub.out"

step "CMake FetchContent (from a tarball of the consumable files)"
tar -C "$src" -czf "$work/krishiv-trace.tar.gz" --transform 's,^,krishiv-trace/,' \
  CMakeLists.txt cmake include meson.build meson_options.txt LICENSE
logged "$work/cmake_fetch.log" cmake -S "$consumers/cmake_subdirectory" -B "$work/cmake_fetch" \
  "${cmake_flags[@]}" -DKRISHIV_TRACE_URL="file://$work/krishiv-trace.tar.gz"
logged "$work/cmake_fetch.log" cmake --build "$work/cmake_fetch"
"$work/cmake_fetch/span_tree" >"$work/cmake_fetch.out"
check_output cmake_fetchcontent "$work/cmake_fetch.out"

step "CMake find_package (installed tree, moved: found relative to its config file)"
mv "$root" "$work/moved"
logged "$work/cmake_find.log" cmake -S "$consumers/cmake_find_package" -B "$work/cmake_find" \
  "${cmake_flags[@]}" -DCMAKE_PREFIX_PATH="$work/moved$prefix"
logged "$work/cmake_find.log" cmake --build "$work/cmake_find"
"$work/cmake_find/span_tree" >"$work/cmake_find.out"
check_output cmake_find_package "$work/cmake_find.out"
if ((have_grpc)); then
  [[ -x $work/cmake_find/otlp_export ]] || { echo "consumption: no krishiv::trace_grpc"; exit 1; }
  if [[ -z ${KT_OTLP_RECEIVER:-} ]]; then
    echo "consumption: KT_OTLP_RECEIVER not set (the meson test sets it where grpc++ is):" \
      "otlp_export built, its export not checked"
    OTEL_TRACES_EXPORTER=none "$work/cmake_find/otlp_export" >"$work/otlp_export.out"
  else
    step "OTLP consumer exports to a test receiver on 127.0.0.1"
    port_file=$work/receiver.port
    KT_RECEIVER_PORT_FILE=$port_file "$KT_OTLP_RECEIVER" >"$work/receiver.out" 2>&1 &
    receiver=$!
    # The receiver ends by itself (its guard); stopped early only when this check gives up.
    give_up() {
      kill "$receiver" 2>/dev/null || true
      wait "$receiver" 2>/dev/null || true
      cat "$work/receiver.out"
      echo "consumption: $*"
      exit 1
    }
    for ((i = 0; i < 600; i++)); do
      [[ -s $port_file ]] && break
      kill -0 "$receiver" 2>/dev/null || break
      sleep 0.1
    done
    [[ -s $port_file ]] || give_up "the receiver did not start listening"
    OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$(cat "$port_file")" \
      "$work/cmake_find/otlp_export" >"$work/otlp_export.out" 2>&1 ||
      { cat "$work/otlp_export.out"; give_up "otlp_export failed"; }
    wait "$receiver" || { cat "$work/otlp_export.out"; give_up "the receiver did not get the spans"; }
    grep "receiver: span" "$work/receiver.out"
  fi
  cat "$work/otlp_export.out"
  grep -q "otlp_export: done" "$work/otlp_export.out"
fi

echo "consumption: plain, meson subproject, pkg-config, CMake add_subdirectory, FetchContent" \
  "and find_package builds work"
