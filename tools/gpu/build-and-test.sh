#!/usr/bin/env bash
# Builds and tests deepclean's CUDA path on a GPU machine that has PyTorch (CUDA LibTorch), nvcc,
# CMake and ninja but none of our other libraries and no network (docs/gpu.md). Run from the repo
# root after tools/gpu/fetch-debs.sh has filled gpu-debs/ on the dev machine and gpu-debs was
# carried over.
#
#   tools/gpu/build-and-test.sh [PHASE...]
#     PHASE: prefix build test-cuda bench test-cpu (the default, in this order); test = test-cuda test-cpu
#
# Every phase is resumable and fits the 10-minute limit of one `run` call on its own: `build` is an
# incremental ninja build in $BUILD_DIR (inside the checkout, so it survives between calls while
# the machine stays warm; a fresh machine rebuilds from scratch), `test` and `bench` only run what
# `build` made. Each phase runs `prefix` first when its stamp is missing (a few seconds).
# Logs and results go to $OUT (the run tool's output folder; ./out/gpu when unset).
#
# Environment (defaults are for the GPU machine; the dev machine overrides them to test the
# prefix mechanics with its CPU LibTorch, see docs/gpu.md):
#   DC_CUDA=ON|OFF        -DDEEPCLEAN_CUDA (ON)
#   DC_TORCH_PREFIX=DIR   -DDEEPCLEAN_TORCH_PREFIX (python3 -c 'import torch;print(torch.utils.cmake_prefix_path)'
#                         when DC_CUDA=ON; empty = the system LibTorch)
#   BUILD_DIR=DIR         build tree (build-gpu)
#   DC_PREFIX=DIR         where gpu-debs/*.deb are unpacked (build-gpu-prefix, gitignored as /build*/)
#   JOBS=N                ninja -j (nproc)
#   DC_TARGETS="..."      what `build` builds (deepclean, the model/stream/daemon tests, make_frames)
#   DC_BUILD_TYPE         CMAKE_BUILD_TYPE (Release)
#   DC_FORCE_FALLBACK=1   use gpu-debs/fallback (pkg-config, PyYAML) even when the host has them
#   DC_TEST_DEVICE        DEEPCLEAN_TEST_DEVICE for test-cuda (cuda; empty: skip it)
#   DC_TIME_LIMIT         seconds after which test and bench passes are cut (570: one run call)
#   DC_BENCH_SECONDS      seconds of frames for the benchmark (300)
#   DC_CXX20=auto|ON|OFF  compile as C++20 (tools/gpu/gpu-project.cmake); auto: when LibTorch refuses C++17
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out/gpu}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
DC_CUDA=${DC_CUDA:-ON}
BUILD_DIR=${BUILD_DIR:-build-gpu}
DC_PREFIX=${DC_PREFIX:-$ROOT/build-gpu-prefix}
JOBS=${JOBS:-$(nproc)}
DC_TARGETS=${DC_TARGETS:-deepclean test_model test_stream test_pipeline test_offline test_service make_frames}
DC_BUILD_TYPE=${DC_BUILD_TYPE:-Release}
DC_TEST_DEVICE=${DC_TEST_DEVICE-cuda}
DEBS=$ROOT/gpu-debs
MULTIARCH=x86_64-linux-gnu

log() { echo "[gpu $(date -u +%H:%M:%S)] $*" | tee -a "$OUT/summary.txt"; }
die() { log "FAILED: $*"; exit 1; }

# dpkg -x DEB DIR, or ar + tar where the image has no dpkg.
deb_x() {
  if command -v dpkg >/dev/null; then
    dpkg -x "$1" "$2"
  else
    local t
    t=$(mktemp -d) && (cd "$t" && ar x "$1" && mkdir -p "$2" && tar -xf data.tar.* -C "$2") ; local rc=$?
    rm -rf "$t"
    return $rc
  fi
}

# ---- prefix: unpack the carried .debs ------------------------------------------------------------
phase_prefix() {
  [ -d "$DEBS" ] && ls "$DEBS"/*.deb >/dev/null 2>&1 || die "no $DEBS/*.deb: run tools/gpu/fetch-debs.sh on the dev machine and carry gpu-debs"
  local stamp="$DC_PREFIX/.stamp" want
  want=$( (cd "$DEBS" && ls -l -- *.deb fallback/*.deb 2>/dev/null; echo "force=${DC_FORCE_FALLBACK:-0}") | md5sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "prefix: $DC_PREFIX up to date"
    return 0
  fi
  rm -rf "$DC_PREFIX"
  mkdir -p "$DC_PREFIX/bin"
  local d
  for d in "$DEBS"/*.deb; do deb_x "$d" "$DC_PREFIX" || die "unpacking $d"; done
  # pkg-config files say prefix=/usr: point them at the prefix (only libsystemd.pc is used).
  find "$DC_PREFIX/usr" -name '*.pc' -path '*/pkgconfig/*' -print0 |
    xargs -0 -r sed -i -e "s|^prefix=/usr\$|prefix=$DC_PREFIX/usr|" \
                       -e "s|^libdir=/usr/|libdir=$DC_PREFIX/usr/|" -e "s|^includedir=/usr/|includedir=$DC_PREFIX/usr/|"
  # Fallbacks, each only where the host lacks it, into their own directory: Debian's copies must
  # not shadow what the host already has.
  local fb="$DC_PREFIX/fallback"
  if [ -n "${DC_FORCE_FALLBACK:-}" ] || ! command -v pkg-config >/dev/null; then
    for d in "$DEBS"/fallback/pkgconf-bin_*.deb "$DEBS"/fallback/libpkgconf3_*.deb; do deb_x "$d" "$fb"; done
    cat > "$DC_PREFIX/bin/pkg-config" <<EOF
#!/bin/sh
LD_LIBRARY_PATH="$fb/usr/lib/$MULTIARCH\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$fb/usr/bin/pkgconf" "\$@"
EOF
    chmod +x "$DC_PREFIX/bin/pkg-config"
    log "prefix: pkg-config from gpu-debs/fallback (pkgconf)"
  fi
  local py
  py=$(command -v python3 || true)
  if [ -n "${DC_FORCE_FALLBACK:-}" ] || [ -z "$py" ] || ! "$py" -c 'import yaml' 2>/dev/null; then
    deb_x "$(ls "$DEBS"/fallback/python3-yaml_*.deb)" "$fb"
    echo "$fb/usr/lib/python3/dist-packages" > "$DC_PREFIX/pythonpath"
    log "prefix: PyYAML from gpu-debs/fallback (pure-Python part)"
  fi
  echo "$want" > "$stamp"
  log "prefix: unpacked $(ls "$DEBS"/*.deb | wc -l) .debs into $DC_PREFIX ($(du -sh "$DC_PREFIX" | cut -f1))"
}

# Environment every later phase shares (pkg-config, PyYAML fallback).
setup_env() {
  export PATH="$DC_PREFIX/bin:$PATH"
  export PKG_CONFIG_LIBDIR="$DC_PREFIX/usr/lib/$MULTIARCH/pkgconfig:$DC_PREFIX/usr/share/pkgconfig"
  unset PKG_CONFIG_PATH
  if [ -f "$DC_PREFIX/pythonpath" ]; then
    export PYTHONPATH="$(cat "$DC_PREFIX/pythonpath")${PYTHONPATH:+:$PYTHONPATH}"
  fi
}

ensure_prefix() {
  [ -f "$DC_PREFIX/.stamp" ] || phase_prefix
  setup_env
}

# ---- build ---------------------------------------------------------------------------------------
record_env() {
  {
    echo "date: $(date -u)"
    echo "host: $(uname -a)"
    [ -r /etc/os-release ] && grep -E '^(PRETTY_NAME)=' /etc/os-release
    echo "glibc: $(ldd --version 2>/dev/null | head -1)"
    echo "c++: $(c++ --version 2>/dev/null | head -1)"
    echo "cmake: $(cmake --version | head -1)"
    echo "ninja: $(ninja --version 2>/dev/null)"
    echo "nvcc: $(nvcc --version 2>/dev/null | tail -1)"
    echo "python3: $(command -v python3) $(python3 --version 2>&1)"
    python3 - <<'EOF' 2>&1
import torch
print("torch:", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(),
      "cxx11_abi", int(torch._C._GLIBCXX_USE_CXX11_ABI), "cuda_available", torch.cuda.is_available(),
      "cmake_prefix", torch.utils.cmake_prefix_path)
if torch.cuda.is_available():
    print("gpu:", torch.cuda.get_device_name(0))
EOF
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null
    local lib
    lib=$(c++ -print-file-name=libstdc++.so.6)
    echo "libstdc++ ($lib) has GLIBCXX_3.4.30 (needed by the Debian 12 libraries): $(grep -c GLIBCXX_3.4.30 "$lib" 2>/dev/null || echo '?')"
  } > "$OUT/env.txt" 2>&1
  cat "$OUT/env.txt"
}

phase_build() {
  ensure_prefix
  record_env
  local torch_prefix="${DC_TORCH_PREFIX-}"
  if [ "$DC_CUDA" = ON ]; then
    [ -n "$torch_prefix" ] || torch_prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)') ||
      die "python3 has no torch"
    # PyTorch wheels before 2.7 were built with the pre-C++11 std::string ABI, which the torch
    # target forces on everything linking it (-D_GLIBCXX_USE_CXX11_ABI=0): Debian's yaml-cpp,
    # spdlog, gtest ... use the new ABI and would not link. Fail here rather than after a build.
    local abi
    abi=$(python3 -c 'import torch;print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
    [ "$abi" = 1 ] || die "this PyTorch uses _GLIBCXX_USE_CXX11_ABI=$abi; the Debian libraries in gpu-debs need 1 (PyTorch >= 2.7 wheels). See docs/gpu.md."
    # Only our C++ is compiled; keep Caffe2's CUDA arch detection quiet and deterministic.
    # (and CMake's own CUDA language check, should PyTorch's cmake enable it): H100/H200 are sm_90.
    export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
    export CUDAARCHS=${CUDAARCHS:-90}
  fi
  # PyTorch 2.14 and later need C++20 for their headers; CMakeLists.txt pins C++17. Probe the
  # headers once per build tree and, if C++17 is refused, compile as C++20 (tools/gpu/gpu-project.cmake).
  local cxx20=${DC_CXX20:-auto} inc
  if [ "$cxx20" = auto ]; then
    mkdir -p "$BUILD_DIR"
    if [ -f "$BUILD_DIR/.cxx20" ]; then
      cxx20=$(cat "$BUILD_DIR/.cxx20")
    else
      if [ -n "$torch_prefix" ]; then inc=$(cd "$torch_prefix/../../include" && pwd); else inc=/usr/include; fi
      if printf '#include <torch/script.h>\nint main() {}\n' |
           c++ -std=c++17 -fsyntax-only -I"$inc" -I"$inc/torch/csrc/api/include" -x c++ - > "$OUT/cxx17-probe.log" 2>&1; then
        cxx20=OFF
      else
        cxx20=ON
        log "build: LibTorch headers refuse C++17 ($(grep -m1 -E 'error' "$OUT/cxx17-probe.log")); compiling as C++20 (tools/gpu/gpu-project.cmake)"
      fi
      echo "$cxx20" > "$BUILD_DIR/.cxx20"
    fi
  fi
  local py
  py=$(command -v python3 || echo /usr/bin/python3)
  local cmake_args=(
    -S "$ROOT" -B "$BUILD_DIR" -G Ninja
    -DCMAKE_BUILD_TYPE="$DC_BUILD_TYPE"
    -DDEEPCLEAN_CUDA="$DC_CUDA"
    -DDEEPCLEAN_TORCH_PREFIX="$torch_prefix"
    # The prefix first: find_package() searches CMAKE_PREFIX_PATH before the system paths.
    "-DCMAKE_PREFIX_PATH=$DC_PREFIX/usr;$DC_PREFIX/usr/lib/$MULTIARCH/cmake;$DC_PREFIX/usr/share/cmake"
    -DCMAKE_LIBRARY_PATH="$DC_PREFIX/usr/lib/$MULTIARCH"
    -DCMAKE_INCLUDE_PATH="$DC_PREFIX/usr/include"
    -DBoost_NO_SYSTEM_PATHS=ON -DBOOST_ROOT="$DC_PREFIX/usr"
    -DPKG_CONFIG_EXECUTABLE="$(command -v pkg-config)"
    -DDEEPCLEAN_PYTHON="$py"
    # Indirect deps of the prefix's .so files (libspdlog -> libfmt ...) at link time.
    -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$DC_PREFIX/usr/lib/$MULTIARCH"
  )
  # Workarounds injected after project() (tools/gpu/gpu-project.cmake), each only when needed.
  local nvtx_stub=OFF cuda_root
  if [ "$DC_CUDA" = ON ] && command -v nvcc >/dev/null; then
    cuda_root=$(cd "$(dirname "$(command -v nvcc)")/.." && pwd)
    if ! ls "$cuda_root"/lib64/libnvToolsExt.so* "$cuda_root"/lib/libnvToolsExt.so* >/dev/null 2>&1 &&
       ! ls "$cuda_root"/targets/*/lib/libnvToolsExt.so* >/dev/null 2>&1; then
      nvtx_stub=ON
      log "build: $cuda_root has no libnvToolsExt (CUDA >= 12.9): empty CUDA::nvToolsExt for PyTorch's cmake"
    fi
  fi
  cmake_args+=(-DCMAKE_PROJECT_INCLUDE="$ROOT/tools/gpu/gpu-project.cmake"
               -DDC_FORCE_CXX20="$cxx20" -DDC_NVTOOLSEXT_STUB="$nvtx_stub")
  log "build: configuring $BUILD_DIR (DEEPCLEAN_CUDA=$DC_CUDA, torch prefix '${torch_prefix:-system}')"
  cmake "${cmake_args[@]}" > "$OUT/configure.log" 2>&1 || { tail -40 "$OUT/configure.log"; die "cmake configure (see configure.log)"; }
  # Where each library was found: every one must be inside the prefix.
  grep -E '^(yaml-cpp|spdlog|fmt|nlohmann_json|CLI11|prometheus-cpp|civetweb|Boost|GTest|benchmark|Torch)_DIR:|^(ZLIB_LIBRARY_RELEASE|ZLIB_INCLUDE_DIR|CURL_LIBRARY_RELEASE|CURL_INCLUDE_DIR|PKG_CONFIG_EXECUTABLE):|^SYSTEMD_(INCLUDE_DIRS|LIBRARY_DIRS|PREFIX):' \
    "$BUILD_DIR/CMakeCache.txt" | sort > "$OUT/found.txt"
  cat "$OUT/found.txt"
  local outside
  outside=$(grep -vE "Torch_DIR|PKG_CONFIG_EXECUTABLE" "$OUT/found.txt" | grep -v "$DC_PREFIX" || true)
  if [ -n "$outside" ]; then
    log "build: WARNING, found outside the prefix:"
    echo "$outside" | tee -a "$OUT/summary.txt"
  else
    log "build: every non-torch library resolved inside $DC_PREFIX"
  fi
  local t0=$SECONDS
  # shellcheck disable=SC2086
  if ! cmake --build "$BUILD_DIR" -j "$JOBS" --target $DC_TARGETS > "$OUT/build.log" 2>&1; then
    grep -E 'error|Error' "$OUT/build.log" | head -60
    die "build (see build.log)"
  fi
  log "build: $DC_TARGETS built in $((SECONDS - t0)) s"
  ldd "$BUILD_DIR/daemon/deepclean" > "$OUT/ldd-deepclean.txt" 2>&1
  grep -E 'yaml|spdlog|fmt|prometheus|systemd|torch|c10|not found' "$OUT/ldd-deepclean.txt" | tee -a "$OUT/summary.txt"
  grep -q 'not found' "$OUT/ldd-deepclean.txt" && die "deepclean has unresolved libraries (ldd-deepclean.txt)"
  "$BUILD_DIR/daemon/deepclean" --version | tee -a "$OUT/summary.txt"
}

# ---- test ----------------------------------------------------------------------------------------
# Seconds left before the per-call limit (DC_TIME_LIMIT, default 570 of the run tool's 600), at
# least 60: each ctest pass is cut there, so what ran still lands in $OUT.
remaining() {
  local left=$(( ${DC_TIME_LIMIT:-570} - SECONDS ))
  [ "$left" -gt 60 ] && echo "$left" || echo 60
}

# The model suite with its device switch (tests/common/model_fixtures.hpp): runner and device estimator
# on the GPU, compared with the CPU and Python references, plus the CudaRunner.* tests (fp16, CUDA
# graph). -j1: one GPU.
phase_test_cuda() {
  ensure_prefix
  [ -x "$BUILD_DIR/tests/test_model" ] || die "no $BUILD_DIR/tests/test_model: run the build phase first"
  [ -n "$DC_TEST_DEVICE" ] || { log "test-cuda: DC_TEST_DEVICE empty, skipped"; return 0; }
  local rc=0 t0=$SECONDS
  # Only the suites that take a device (the rest of tests/model runs on the CPU either way, in
  # test-cpu). -V keeps each test's printed differences in the log.
  log "test-cuda: ctest model.(Runner|DeviceNoiseEstimator|CudaRunner).* with DEEPCLEAN_TEST_DEVICE=$DC_TEST_DEVICE"
  (cd "$BUILD_DIR" && DEEPCLEAN_TEST_DEVICE=$DC_TEST_DEVICE timeout "$(remaining)" \
     ctest -R '^model\.(Runner|DeviceNoiseEstimator|CudaRunner)\.' -j 1 -V --timeout 300 \
     --output-junit "$OUT/ctest-$DC_TEST_DEVICE.xml") > "$OUT/ctest-$DC_TEST_DEVICE.log" 2>&1 || rc=1
  grep -E '^[0-9]+: \[ (model|cuda|device|batch)|^[0-9]+: \[  (FAILED|SKIPPED) |Failure|tests passed|tests failed' \
    "$OUT/ctest-$DC_TEST_DEVICE.log" |
    sed -E 's/^[0-9]+: //' > "$OUT/model-$DC_TEST_DEVICE-numbers.txt" || true
  grep -E '^\[ (model|cuda|device|batch)' "$OUT/model-$DC_TEST_DEVICE-numbers.txt" | tee -a "$OUT/summary.txt"
  grep -E 'tests passed|tests failed|\*\*\*Failed|\*\*\*Exception|Timeout' "$OUT/ctest-$DC_TEST_DEVICE.log" |
    tee -a "$OUT/summary.txt"
  log "test-cuda: done in $((SECONDS - t0)) s, $([ $rc = 0 ] && echo all passed || echo FAILURES)"
  return $rc
}

# The model, stream and daemon suites on the CPU, against this (PyTorch) LibTorch.
phase_test_cpu() {
  ensure_prefix
  [ -x "$BUILD_DIR/daemon/deepclean" ] || die "no $BUILD_DIR/daemon/deepclean: run the build phase first"
  local rc=0 t0=$SECONDS
  log "test-cpu: ctest model/stream/daemon on the CPU"
  (cd "$BUILD_DIR" && timeout "$(remaining)" ctest -R '^(model|stream|pipeline|offline|service)\.' -j "$JOBS" --timeout 300 \
     --output-on-failure --output-junit "$OUT/ctest-cpu.xml") > "$OUT/ctest-cpu.log" 2>&1 || rc=1
  tail -15 "$OUT/ctest-cpu.log" | tee -a "$OUT/summary.txt"
  cp "$BUILD_DIR"/Testing/Temporary/LastTest*.log "$OUT/" 2>/dev/null || true
  log "test-cpu: done in $((SECONDS - t0)) s, $([ $rc = 0 ] && echo all passed || echo FAILURES)"
  return $rc
}

# ---- bench ---------------------------------------------------------------------------------------
phase_bench() {
  ensure_prefix
  [ -x "$BUILD_DIR/daemon/deepclean" ] && [ -x "$BUILD_DIR/bench/make_frames" ] ||
    die "no deepclean/make_frames in $BUILD_DIR: run the build phase first"
  local device=cuda:0
  [ "$DC_CUDA" = ON ] || device=cpu
  OUT="$OUT" DEVICE=$device timeout "$(remaining)" bash "$ROOT/tools/gpu/bench-cuda.sh" "$BUILD_DIR" "${DC_BENCH_SECONDS:-300}" 2>&1 |
    tee "$OUT/bench.log"
  local rc=${PIPESTATUS[0]}
  grep -E '^(RESULT|CHECK)' "$OUT/bench.log" >> "$OUT/summary.txt"
  return "$rc"
}

phases=("$@")
# Default order puts what only a GPU can tell first: if the 10-minute call runs out, the CPU
# suites (which also run on the dev machine) are what is lost.
[ ${#phases[@]} -gt 0 ] || phases=(prefix build test-cuda bench test-cpu)
status=0
for p in "${phases[@]}"; do
  case "$p" in
    prefix) phase_prefix; setup_env ;;
    build) phase_build || status=1 ;;
    test) { phase_test_cuda || status=1; phase_test_cpu || status=1; } ;;
    test-cuda) phase_test_cuda || status=1 ;;
    test-cpu) phase_test_cpu || status=1 ;;
    bench) phase_bench || status=1 ;;
    *) die "unknown phase '$p' (prefix build test test-cuda test-cpu bench)" ;;
  esac
done
log "done: phases ${phases[*]}, $([ $status = 0 ] && echo OK || echo 'with FAILURES') after $SECONDS s"
exit $status
