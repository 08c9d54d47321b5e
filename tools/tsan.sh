#!/usr/bin/env bash
# ThreadSanitizer run of deepclean's threaded code (docs/operations.md, "ThreadSanitizer").
#
#   bash tools/tsan.sh            # both builds below
#   bash tools/tsan.sh --no-torch # only the torch-free build (fast; no clean/run end-to-end tests)
#   bash tools/tsan.sh --service  # only build 2's `deepclean` and test_service, RunService.* run
#                                 # once but the three that train models: the live service under
#                                 # TSan (the test command's step)
#
# 1. build-tsan: the torch-free libraries, the `deepclean` binary and every test suite built with
#    -DDEEPCLEAN_SANITIZE_THREAD=ON; all of its tests run (frame watcher, writer vs. concurrent
#    reader, `deepclean simulate` with its stop signal, metrics, logging, ...).
# 2. build-tsan-torch: the same with LibTorch, only `deepclean`, test_offline and test_service, whose
#    CleanCommand and RunService tests run the instrumented binary: `clean`'s read-ahead and write-behind threads,
#    `run`'s Asio event loop, inotify watcher, scheduler, metrics file and SIGHUP model reload
#    thread. LibTorch and libgomp are not instrumented: tools/tsan.supp names only their frames.
# The threaded tests are then repeated TSAN_REPEAT times (default 3) to vary the interleavings.
#
# Reports of every process (test binaries and the `deepclean` children they start) go to files
# under <build>/tsan-logs; any report makes the script print it and exit 1, as does a failing test.
# Environment: JOBS (default nproc), TSAN_REPEAT.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
REPEAT=${TSAN_REPEAT:-3}
WITH_TORCH=1
WITHOUT_TORCH=1
case "${1:-}" in
  --no-torch) WITH_TORCH=0 ;;
  --service) WITHOUT_TORCH=0 REPEAT=1 ;;
  "") ;;
  *) echo "usage: tools/tsan.sh [--no-torch|--service]" >&2; exit 2 ;;
esac
SUPP="$PWD/tools/tsan.supp"
# Tests that start threads or processes with threads (repeated below).
THREADED='^(offline\.CleanCommand|service\.RunService|commands\.CliSimulate|watch\.|gwf\..*Atomic)'

status=0
# run_tsan <build dir> <ctest args...>: ctest with reports logged under <build>/tsan-logs.
run_tsan() {
  local dir=$1
  shift
  mkdir -p "$dir/tsan-logs"
  # One OpenBLAS thread: its pool is uninstrumented pthreads that TSan cannot follow (tools/tsan.supp).
  OPENBLAS_NUM_THREADS=1 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 suppressions=$SUPP log_path=$PWD/$dir/tsan-logs/tsan" \
    ctest --test-dir "$dir" --output-on-failure -j "$JOBS" "$@" || status=1
}
check_logs() {
  local dir=$1 f
  for f in "$dir"/tsan-logs/tsan.*; do
    [ -e "$f" ] || continue
    echo "== ThreadSanitizer report: $f =="
    cat "$f"
    status=1
  done
}

if [ "$WITHOUT_TORCH" = 1 ]; then
  echo "== TSan build of the torch-free code =="
  cmake -S . -B build-tsan -G Ninja -DDEEPCLEAN_WERROR=ON -DDEEPCLEAN_SANITIZE_THREAD=ON \
    -DDEEPCLEAN_WITH_TORCH=OFF -DDEEPCLEAN_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug
  cmake --build build-tsan -j "$JOBS"
  rm -rf build-tsan/tsan-logs
  run_tsan build-tsan
  run_tsan build-tsan --repeat "until-fail:$REPEAT" -R "$THREADED"
  check_logs build-tsan
fi

if [ "$WITH_TORCH" = 1 ]; then
  echo "== TSan build of deepclean, test_offline and test_service with LibTorch =="
  cmake -S . -B build-tsan-torch -G Ninja -DDEEPCLEAN_WERROR=ON -DDEEPCLEAN_SANITIZE_THREAD=ON \
    -DDEEPCLEAN_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug
  rm -rf build-tsan-torch/tsan-logs
  if [ "$WITHOUT_TORCH" = 1 ]; then
    cmake --build build-tsan-torch -j "$JOBS" --target deepclean test_offline test_service
    # The torch-free suites ran above; here the ones that need the model.
    run_tsan build-tsan-torch --repeat "until-fail:$REPEAT" -R '^(offline\.CleanCommand|service\.RunService)'
  else
    cmake --build build-tsan-torch -j "$JOBS" --target deepclean test_service
    # Without the three that train models (RealCanaries…, Retrain…): their substance is the trainer
    # in LibTorch, where TSan sees nothing (tens of minutes under TSan); the full run keeps them.
    run_tsan build-tsan-torch -R '^service\.RunService' -E 'RealCanaries|Retrain'
  fi
  check_logs build-tsan-torch
fi

if [ "$status" != 0 ]; then
  echo "== ThreadSanitizer: reports or failing tests (above) =="
  exit 1
fi
echo "== ThreadSanitizer: no reports =="
