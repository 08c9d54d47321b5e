#!/usr/bin/env bash
# Downloads (does not install) the Debian 12 .debs of every non-torch library the deepclean build
# needs into gpu-debs/ (gitignored), so that a GPU machine without network can unpack them with
# `dpkg -x` into a private prefix and build against its own CUDA LibTorch (tools/gpu/build-and-test.sh,
# docs/gpu.md). Run here, on the Debian dev machine; needs apt lists but not root.
#
#   tools/gpu/fetch-debs.sh            # -> gpu-debs/*.deb (core) + gpu-debs/fallback/*.deb
#
# gpu-debs/          unpacked unconditionally on the GPU machine: headers, CMake configs, .so
# gpu-debs/fallback/ unpacked there only when the host lacks the thing (pkg-config, PyYAML for the
#                    test-model fixtures): Debian's copies must not shadow the host's own.
# Left out on purpose: libtorch-dev (the GPU machine uses PyTorch's CUDA LibTorch), python3-*
# except PyYAML, clang, systemd (systemd-analyze; the unit test is skipped without it), and the
# runtime libraries every Ubuntu/Debian image has (libc, libstdc++, libgcc, zlib1g is carried anyway).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT_DIR=gpu-debs

CORE=(
  # find_package(yaml-cpp): config, model bundles
  libyaml-cpp-dev libyaml-cpp0.7
  # find_package(spdlog), find_package(fmt): logging (spdlog 1.10 built against external fmt 9)
  libspdlog-dev libspdlog1.10 libfmt-dev libfmt9
  # find_package(Boost 1.74): header-only Asio (BoostConfig.cmake lives in libboost1.74-dev)
  libboost1.74-dev
  # pkg_check_modules(libsystemd): sd_notify, journald
  libsystemd-dev libsystemd0
  # pkg_check_modules(libgcrypt): SHA-256 of bundle ids
  libgcrypt20-dev libgcrypt20 libgpg-error-dev libgpg-error0
  # find_package(prometheus-cpp CONFIG): we link only ::core, but its config file checks that the
  # pull/push libraries exist and calls find_dependency(civetweb) (whose config checks for the
  # civetweb binary), (ZLIB), (CURL).
  prometheus-cpp-dev libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libprometheus-cpp-push1.0
  libcivetweb-dev libcivetweb1 civetweb libcurl4-openssl-dev libcurl4
  # find_package(ZLIB): frame compression
  zlib1g-dev zlib1g
  # header-only
  nlohmann-json3-dev libcli11-dev
  # find_package(GTest) (static libgtest.a/libgmock.a), find_package(benchmark) (bench/ needs it)
  libgtest-dev libgmock-dev libbenchmark-dev libbenchmark1debian
)
FALLBACK=(
  # pkg-config for pkg_check_modules, when the GPU image has none
  pkgconf-bin libpkgconf3
  # PyYAML (pure-Python part is used there) for tools/fixtures/make_test_models.py
  python3-yaml
)

rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR/fallback"
(cd "$OUT_DIR" && apt-get download -q "${CORE[@]}")
(cd "$OUT_DIR/fallback" && apt-get download -q "${FALLBACK[@]}")

# The libraries must run on the GPU image's glibc/libstdc++: report the newest symbol versions the
# carried shared objects need (Debian 12: glibc <= 2.36, GLIBCXX <= 3.4.30 = GCC 12's libstdc++).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for d in "$OUT_DIR"/*.deb; do dpkg -x "$d" "$tmp"; done
if command -v objdump >/dev/null; then
  need=$(find "$tmp" -name '*.so*' -type f -print0 | xargs -0 objdump -T 2>/dev/null |
         grep -oE '(GLIBC|GLIBCXX|CXXABI)_[0-9.]+' | sort -u -V |
         awk -F_ '{m[$1]=$0} END {for (k in m) printf "%s ", m[k]}')
  echo "fetch-debs: newest symbol versions needed by the carried .so files: $need"
fi

bytes=$(du -cb "$OUT_DIR"/*.deb "$OUT_DIR"/fallback/*.deb | tail -1 | cut -f1)
n=$(ls "$OUT_DIR"/*.deb "$OUT_DIR"/fallback/*.deb | wc -l)
echo "fetch-debs: $n .debs in $OUT_DIR/, total $bytes bytes ($(( (bytes + 1048575) / 1048576 )) MiB)"
