#!/usr/bin/env bash
# The one-command demo (README, first command; docs/demo.md):
#   1. installs the Debian 12 packages (tools/install-deps.sh; uses sudo when not root),
#   2. builds `deepclean` (Release, tests and benchmarks off) in build-demo/,
#   3. starts `deepclean run` (demo/run.yaml, the committed bundle demo/bundle, CPU; told to start at
#      GPS now + 3) and `deepclean simulate --realtime` from that GPS second: two real processes, the
#      simulator publishing one strain and one witness frame per second,
#   4. when the simulator is done and the daemon has written the output of the last input second
#      (bounded wait), stops the daemon with SIGTERM,
#   5. writes the report (tools/demo_report.py): frames in and out, latency input arrival -> output
#      rename (p50, p99) next to the algorithmic latency, the band ASD ratio cleaned/raw against the
#      0.07 target and the guard bands beside it (<= 1.05: no harm), report.md and asd.png.
# Everything goes to $DEMO_DIR (default: demo-output/ in the repository, git-ignored), printed at the
# end. Exit status 0 when the demo ran and the ASD targets are met, 1 otherwise.
# Settings: DEMO_SECONDS (65), JOBS (build jobs, nproc), DEMO_SKIP_DEPS=1 (skip step 1); for
# benchmarks built on the demo (tools/bench-canary.sh): DEMO_BUNDLE (the model bundle, default
# demo/bundle), DEMO_LOG_LEVEL (info), DEMO_CONFIG_EXTRA (YAML appended to the
# effective configuration) and DEMO_DURING (a shell command run in the background from the
# simulator's start, in $DEMO_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
DEMO_DIR=${DEMO_DIR:-$REPO/demo-output}
DEMO_SECONDS=${DEMO_SECONDS:-65}
JOBS=${JOBS:-$(nproc)}
BUILD=build-demo
PY=/usr/bin/python3   # Debian's python3 (numpy, scipy, matplotlib from install-deps)
t_begin=$(date +%s)

if [ "${DEMO_SKIP_DEPS:-0}" != 1 ]; then
  echo "== 1/5 Debian packages (tools/install-deps.sh) =="
  bash tools/install-deps.sh
fi

echo "== 2/5 build deepclean (Release) in $BUILD =="
mkdir -p "$BUILD"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DDEEPCLEAN_BUILD_TESTS=OFF -DDEEPCLEAN_BUILD_BENCH=OFF > "$BUILD/demo-configure.log" 2>&1 \
  || { cat "$BUILD/demo-configure.log"; exit 1; }
cmake --build "$BUILD" -j "$JOBS" --target deepclean
DC=$REPO/$BUILD/daemon/deepclean
t_built=$(date +%s)

echo "== 3/5 simulator and daemon, $DEMO_SECONDS s in real time =="
mkdir -p "$DEMO_DIR"
DEMO_DIR=$(cd "$DEMO_DIR" && pwd)
rm -rf "$DEMO_DIR/sim" "$DEMO_DIR/cleaned" "$DEMO_DIR"/*.log "$DEMO_DIR"/*.prom "$DEMO_DIR/report.md" \
  "$DEMO_DIR/asd.png" "$DEMO_DIR/latency.csv" "$DEMO_DIR/run.yaml" "$DEMO_DIR/loadavg.txt" \
  "$DEMO_DIR/simulate.err" "$DEMO_DIR/during.log"
mkdir -p "$DEMO_DIR/sim/kafka/H1" "$DEMO_DIR/sim/lldetchar/H1" "$DEMO_DIR/cleaned"
# The simulator starts 3 s from now on the GPS clock (Unix - 315964800 + 18, as deepclean simulate),
# and the daemon is told to start at that second, so no second is skipped however long it loads.
START=$(( $(date +%s) - 315964800 + 18 + 3 ))
# The effective configuration: demo/run.yaml with its paths made absolute (under $DEMO_DIR).
sed -e "s#\.\./demo-output#$DEMO_DIR#" -e "s#^\(  bundle: \)bundle #\1${DEMO_BUNDLE:-$REPO/demo/bundle} #" \
  -e "s#^\(  start: \)newest #\1$START #" -e "s#^\(  level: \)info#\1${DEMO_LOG_LEVEL:-info}#" \
  demo/run.yaml > "$DEMO_DIR/run.yaml"
if [ -n "${DEMO_CONFIG_EXTRA:-}" ]; then printf '%s\n' "$DEMO_CONFIG_EXTRA" >> "$DEMO_DIR/run.yaml"; fi
"$DC" check-config "$DEMO_DIR/run.yaml" | tee "$DEMO_DIR/check-config.log"

DAEMON_PID="" SIM_PID=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local rc=$?
  for pid in $SIM_PID $DAEMON_PID; do
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for pid in $SIM_PID $DAEMON_PID; do wait "$pid" 2>/dev/null || true; done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# libgomp spins at every barrier by default, which starves the other process on a small host
# (docs/benchmarks.md); the variable must be in the environment before the library loads.
export OMP_WAIT_POLICY=PASSIVE
"$DC" run --config "$DEMO_DIR/run.yaml" > "$DEMO_DIR/daemon.log" 2>&1 &
DAEMON_PID=$!
sleep 1
kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$DEMO_DIR/daemon.log"; echo "demo: the daemon exited" >&2; exit 1; }
echo "daemon started (pid $DAEMON_PID); simulator starting at GPS $START"
"$DC" simulate --out "$DEMO_DIR/sim" --start "$START" --duration "$DEMO_SECONDS" --realtime --seed 2026 \
  > "$DEMO_DIR/simulate.log" 2> "$DEMO_DIR/simulate.err" &
SIM_PID=$!
t_sim=$(date +%s)
if [ -n "${DEMO_DURING:-}" ]; then (cd "$DEMO_DIR" && bash -c "$DEMO_DURING") > "$DEMO_DIR/during.log" 2>&1 & fi
echo "at the simulator's start: $(cut -d' ' -f1-3 /proc/loadavg)" > "$DEMO_DIR/loadavg.txt"
while kill -0 "$SIM_PID" 2>/dev/null; do
  sleep 5
  n_in=$(find "$DEMO_DIR/sim/kafka/H1" -name '*.gwf' | wc -l)
  n_out=$(find "$DEMO_DIR/cleaned" -name '*.gwf' | wc -l)
  printf '  %3d s: %d strain frames in, %d cleaned frames out\n' $(( $(date +%s) - t_sim )) "$n_in" "$n_out"
done
wait "$SIM_PID" || { cat "$DEMO_DIR/simulate.err"; echo "demo: the simulator failed" >&2; exit 1; }
SIM_PID=""
echo "at its end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$DEMO_DIR/loadavg.txt"

echo "== 4/5 wait for the daemon to write the last second, then SIGTERM =="
last=$(find "$DEMO_DIR/sim/kafka/H1" -name 'H-H1_llhoft-*-1.gwf' -printf '%f\n' \
  | sed -n 's/^H-H1_llhoft-\([0-9]*\)-1\.gwf$/\1/p' | sort -n | tail -1)
# The daemon writes the seconds held back for look-ahead once no input has come for 1 s + the
# 2-s timeout (docs/operations.md, "Stalls"); 30 s is a generous bound.
for _ in $(seq 300); do
  [ -f "$DEMO_DIR/cleaned/H-H1_llhoft_DEEPCLEAN-$last-1.gwf" ] && break
  sleep 0.1
done
kill -TERM "$DAEMON_PID"
daemon_rc=0
wait "$DAEMON_PID" || daemon_rc=$?
DAEMON_PID=""
[ "$daemon_rc" -eq 0 ] || { tail -20 "$DEMO_DIR/daemon.log"; echo "demo: the daemon exited with $daemon_rc" >&2; exit 1; }
t_run=$(date +%s)

echo "== 5/5 report =="
report_rc=0
"$PY" tools/demo_report.py --dir "$DEMO_DIR" --deepclean "$DC" --config "$DEMO_DIR/run.yaml" \
  --bundle demo/bundle || report_rc=$?
t_end=$(date +%s)
echo "demo wall time: $(( t_end - t_begin )) s (packages and build $(( t_built - t_begin )) s, run $(( t_run - t_built )) s, report $(( t_end - t_run )) s)"
echo "files: $DEMO_DIR (report.md, asd.png, latency.csv, daemon.log, simulate.log, run.yaml, sim/, cleaned/)"
exit "$report_rc"
