#!/usr/bin/env bash
# Installs the Debian 12 packages the build and tests use, when missing (run as root), and the
# pinned npm packages of the OTLP interop check. Sourced by demo.sh and test.sh.
#   install_deps [--no-npm]
# --no-npm (the demo): what building and running needs only; no npm packages, no browser.
install_deps() {
  local pkgs=(meson ninja-build g++ clang libclang-rt-14-dev pkg-config libfmt-dev
    nlohmann-json3-dev libgrpc++-dev libprotobuf-dev protobuf-compiler catch2 libbenchmark-dev
    openssl clang-format libasio-dev cmake libc++-14-dev libc++abi-14-dev prometheus)
  # The tests' HTML check renders the demo's page in headless Chromium.
  if [[ ${1:-} != --no-npm ]]; then pkgs+=(chromium); fi
  local missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [[ ${1:-} != --no-npm ]]; then
    command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
  fi
  if ((${#missing[@]})); then
    echo "== installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}" || return 1
  fi
  if [[ ${1:-} != --no-npm && ! -d tests/interop/node_modules ]]; then
    echo "== npm ci (tests/interop)"
    npm ci --prefix tests/interop --no-audit --no-fund --loglevel=error || return 1
  fi
}
