#!/usr/bin/env bash
# The project's whole test run, as CI runs it (.ci/run calls exactly this):
#   1. install the Debian packages (tools/install-deps.sh),
#   2. build everything with warnings as errors and run every test through ctest,
#   3. rebuild the torch-free libraries and their tests with ASan + UBSan and run them; rebuild
#      `deepclean` and test_service with ThreadSanitizer and run the live service's tests
#      (tools/tsan.sh --service),
#   4. build the libFuzzer targets (frames, configuration, bundle.yaml, control requests) with clang
#      and run each briefly,
#   5. build the Debian package (lintian-clean) and run it under a real systemd in a Debian 12
#      container (tools/systemd-test.sh: install, start, reload, watchdog, stop, restart, two
#      instances, upgrade, reboot, purge).
# Tests that need ../shared/data/gwf or Debian's python3 with scipy/torch skip with a message
# when those are absent.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-40}

bash tools/install-deps.sh

echo "== build (warnings are errors) =="
cmake -S . -B build -G Ninja -DDEEPCLEAN_WERROR=ON
cmake --build build -j "$JOBS"
echo "== tests =="
ctest --test-dir build --output-on-failure -j "$JOBS"

echo "== ASan/UBSan build of the torch-free code =="
cmake -S . -B build-asan -G Ninja -DDEEPCLEAN_WERROR=ON -DDEEPCLEAN_SANITIZE=ON \
  -DDEEPCLEAN_WITH_TORCH=OFF -DDEEPCLEAN_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug
cmake --build build-asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j "$JOBS"

echo "== ThreadSanitizer over the live service (tools/tsan.sh --service) =="
bash tools/tsan.sh --service

echo "== fuzz each input the service reads from outside, ${FUZZ_SECONDS} s each (fuzz/README.md) =="
CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DDEEPCLEAN_FUZZ=ON -DDEEPCLEAN_WITH_TORCH=OFF \
  -DDEEPCLEAN_BUILD_TESTS=OFF -DDEEPCLEAN_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build-fuzz -j "$JOBS" --target fuzz_gwf_reader fuzz_config fuzz_bundle_yaml fuzz_control
for target in fuzz_gwf_reader fuzz_config fuzz_bundle_yaml fuzz_control; do
  bash fuzz/run.sh "build-fuzz/fuzz/$target" "$FUZZ_SECONDS"
done
echo "== Debian package =="
bash tools/build-deb.sh build-deb
echo "== the package's unit under a real systemd (systemd-nspawn) =="
deb=$(ls build-deb/deepclean_*.deb)
rc=0
bash tools/systemd-test.sh "$deb" || rc=$?
if [ "$rc" = 77 ]; then
  echo "(skipped: this machine cannot run the container; see the reason above)"
elif [ "$rc" != 0 ]; then
  exit "$rc"
fi
echo "== all tests passed =="
