#!/usr/bin/env bash
# Installs every Debian 12 package deepclean needs to build, test, benchmark and run its demo.
# Idempotent: packages already present are left alone. Needs root (or sudo) to install; promtool and
# node_exporter are only unpacked, into build-tools/prometheus (see the end).
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git clang
  # libraries linked by deepclean
  libtorch-dev          # LibTorch 1.13 (CPU): model runner and trainer
  libopenblas0-pthread  # optimised BLAS for LibTorch's ConvTranspose1d on the CPU (CPU model ~2.6x faster than with reference BLAS)
  libyaml-cpp-dev       # configuration and model bundle files
  libspdlog-dev libfmt-dev  # logging
  libboost-dev          # Boost.Asio (header-only) for the inotify/timer event loop
  libsystemd-dev        # sd_notify, journald
  libgcrypt20-dev       # SHA-256 of model bundle ids (libsystemd already loads libgcrypt)
  prometheus-cpp-dev    # metrics registry and the Prometheus text format of the metrics file
  zlib1g-dev            # frame compression (codes 1 and 3)
  nlohmann-json3-dev    # JSON output of `deepclean frame dump --json`
  libcli11-dev          # command line: subcommands, options, help
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  libfuzzer-14-dev libclang-rt-14-dev  # libFuzzer targets (fuzz/)
  libfaketime           # wall-clock steps under the running service (tests/service)
  systemd               # systemd-analyze for unit verification
  # the Debian package (tools/build-deb.sh) and its test under a real systemd (tools/systemd-test.sh)
  debhelper help2man lintian fakeroot
  debootstrap systemd-container  # a Debian 12 root file system booted with systemd-nspawn
  # Python oracles (scipy) and test-model export (torch); plotting for the demo report
  python3 python3-numpy python3-scipy python3-torch python3-yaml python3-matplotlib
  python3-prometheus-client  # independent parser of the metrics file in tests
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    # A Debian 12 installed with a root password has no sudo: say so instead of "sudo: command not found".
    command -v sudo > /dev/null || {
      echo "install-deps: missing ${missing[*]}; not root and sudo is absent: run this as root (su -) or install sudo" >&2
      exit 1
    }
    SUDO="sudo"
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# promtool and node_exporter check the metrics file as Prometheus reads it (tests/service): unpacked
# from Debian's packages into build-tools/prometheus, not installed (installing them would start a
# Prometheus server and a node exporter as services on this machine). Tests skip without them.
TOOLS=$(cd "$(dirname "$0")/.." && pwd)/build-tools/prometheus
if [ ! -x "$TOOLS/usr/bin/promtool" ] || [ ! -x "$TOOLS/usr/bin/prometheus-node-exporter" ]; then
  tmp=$(mktemp -d)
  if (cd "$tmp" && apt-get download -qq prometheus prometheus-node-exporter 2> /dev/null); then
    mkdir -p "$TOOLS"
    ok=1
    for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$TOOLS" || ok=0; done
    if [ "$ok" = 1 ]; then
      echo "install-deps: promtool and prometheus-node-exporter unpacked into $TOOLS"
    else
      echo "install-deps: cannot unpack the prometheus packages into $TOOLS; the tests that need them skip"
    fi
  else
    echo "install-deps: cannot download the prometheus packages (apt-get download); the tests that need them skip"
  fi
  rm -rf "$tmp"
fi
