#!/usr/bin/env bash
# Issue 16's two timing targets (docs/benchmarks.md, "Retraining"):
#   1. a retrain cycle on a 4096-s span with the retrain section's defaults on 2 CPU threads finishes
#      within the cadence (2048 s): the wall time of `deepclean retrain --once`, its epochs and peak RSS;
#   2. the live cleaner's latency p99 while a retrain runs on the same machine rises by at most 20 %:
#      `deepclean run` on `deepclean simulate --realtime` for $LIVE seconds alone, then as long again
#      with `deepclean retrain` (nice 15, as its unit) training in a loop beside it; the percentiles of
#      the daemon's "output written ... s after that input arrived" (input arrival to output rename).
# Usage: tools/bench-retrain.sh [BUILD_DIR]   Environment: OUT (/tmp/dc-bench-retrain), LIVE (150)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
DC=$REPO/${1:-build}/daemon/deepclean
PY=/usr/bin/python3
OUT=${OUT:-/tmp/dc-bench-retrain}
LIVE=${LIVE:-150}
G0=1300300000
SPAN=4096
export OMP_WAIT_POLICY=PASSIVE
rm -rf "$OUT"
mkdir -p "$OUT/models" "$OUT/data/kafka/H1" "$OUT/data/lldetchar/H1"
cp -r demo/bundle "$OUT/models/v1"
t0=$(date +%s)
say() { echo "bench-retrain [$(( $(date +%s) - t0 )) s]: $*"; }
config() {  # config INPUT_DIR OUTPUT_DIR START: demo/run.yaml on INPUT_DIR from START, debug log
  sed -e "s#\.\./demo-output/sim#$1#" -e "s#\.\./demo-output/cleaned#$2#" -e "s#\.\./demo-output#$OUT#" \
    -e "s#^\(  bundle: \)bundle #\1$REPO/demo/bundle #" -e "s#^  start: newest.*#  start: $3#" \
    -e "s#^  level: info#  level: debug#" demo/run.yaml
}

say "simulating $(( SPAN + 60 )) s and archiving them with deepclean run"
"$DC" simulate --out "$OUT/data" --start $G0 --duration $(( SPAN + 60 )) --unrelated 0 --compress raw --quiet
{ config "$OUT/data" "$OUT/archived" $G0 | sed '/^  bundle: /d'
  echo "models: {repository: $OUT/models}"
  echo "training_archive: {directory: $OUT/archive}"; } > "$OUT/archive.yaml"
"$DC" run --config "$OUT/archive.yaml" > "$OUT/archive.log" 2>&1 &
d=$!
last=$(( G0 + SPAN + 59 ))
while [ ! -e "$OUT/archived/H-H1_llhoft_DEEPCLEAN-$last-1.gwf" ]; do
  kill -0 $d 2> /dev/null || { tail "$OUT/archive.log"; exit 1; }
  sleep 2
done
kill -TERM $d; wait $d || true
rm -rf "$OUT/archived"

say "1. deepclean retrain --once, span $SPAN s, the retrain section's defaults (2 threads)"
/usr/bin/time -v "$DC" retrain --once --config "$OUT/archive.yaml" > "$OUT/retrain.out" 2> "$OUT/retrain.err" || true
cat "$OUT/retrain.out"
grep -E "^training:|^epoch" "$OUT/retrain.err" | sed 's/^/  /'
grep -E "Elapsed \(wall|Maximum resident|User time|System time" "$OUT/retrain.err" | sed 's/^\s*/  /'

live() {  # live NAME: the daemon on a real-time simulation for LIVE s
  local dir=$OUT/live-$1 now
  mkdir -p "$dir/sim/kafka/H1" "$dir/sim/lldetchar/H1"
  now=$("$PY" -c 'import time; print(int(time.time() - 315964800 + 18) + 2)')
  config "$dir/sim" "$dir/cleaned" "$now" | sed "s#^\(  path: \).*#\1$dir/H1.prom#" > "$dir/run.yaml"
  "$DC" simulate --out "$dir/sim" --start "$now" --duration "$LIVE" --realtime --quiet &
  local s=$!
  "$DC" run --config "$dir/run.yaml" > "$dir/daemon.log" 2>&1 &
  local r=$!
  wait $s
  sleep 3
  kill -TERM $r; wait $r || true
}
say "2a. the live cleaner alone, $LIVE s"
live alone
say "2b. the live cleaner with deepclean retrain (nice 15) training beside it, $LIVE s"
( while true; do nice -n 15 "$DC" retrain --once --config "$OUT/archive.yaml" > /dev/null 2>&1;
    rm -rf "$OUT"/models/retrain-*; done ) &
loop=$!
live retraining
kill $loop 2> /dev/null || true
pkill -f "retrain --once --config $OUT/archive.yaml" || true
wait 2> /dev/null || true
for n in alone retraining; do
  grep -o 'output written.*s after that input arrived' "$OUT/live-$n/daemon.log" \
    | sed -n 's/.*, \([0-9.]*\) s after that input arrived/\1/p' > "$OUT/live-$n/latency.txt"
done
"$PY" - "$OUT" <<'PYEOF'
import sys
import numpy as np
out = sys.argv[1]
r = {}
for n in ("alone", "retraining"):
    x = np.loadtxt(out + "/live-%s/latency.txt" % n) * 1000
    x = x[5:]  # the first seconds: start-up
    r[n] = np.percentile(x, [50, 90, 99])
    print("  %-11s %4d outputs: latency input arrival -> output rename p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms"
          % (n, len(x), *r[n], x.max()))
print("  p99 with retraining / alone: %.2f (target <= 1.20)" % (r["retraining"][2] / r["alone"][2]))
PYEOF
say "done"
