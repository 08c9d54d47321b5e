#!/usr/bin/env bash
# Issue 16's end to end, accelerated (docs/retraining.md, "End to end"): hours of drifting simulated
# data (`deepclean simulate --speed`, scenario $DRIFT: the coupling's size and phase wander, the mains
# frequency drifts, a lock loss changes the coupling) cleaned twice from the same starting model, the
# committed demo bundle:
#   with retraining: `deepclean run` (model repository, training archive, canary validation) with
#                    `deepclean retrain` beside it at short cadences;
#   without:         `deepclean clean` with the demo bundle alone over the same input;
# then tools/retrain_report.py: the band ASD ratio per minute of both, promotions and rejections on
# the time axis, gated seconds; report.md and retrain-e2e.png in $REPORT.
#
# Usage: tools/retrain-e2e.sh [BUILD_DIR]   (default build/; its daemon/deepclean is used)
# Environment: OUT (/tmp/dc-retrain-e2e), HOURS (4.25), SPEED (simulated seconds per wall second, 10),
#   SEED (11), START (GPS, 1300200000), DRIFT (scenario), REPORT (docs/retrain-e2e), RETRAIN (the
#   retrain section, YAML flow map), VALIDATION (models.validation_seconds, 120).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
BUILD=${1:-build}
DC=$REPO/$BUILD/daemon/deepclean
PY=/usr/bin/python3
OUT=${OUT:-/tmp/dc-retrain-e2e}
HOURS=${HOURS:-4.25}
SPEED=${SPEED:-10}
SEED=${SEED:-11}
START=${START:-1300200000}
DURATION=$("$PY" -c "print(int(round($HOURS * 3600)))")
DRIFT=${DRIFT:-coupling-wander@0:0.3/10800,phase-wander@0:20/10800,mains-drift@0:0.1/7200,relock@9000-9600:1.4}
REPORT=${REPORT:-$REPO/docs/retrain-e2e}
RETRAIN=${RETRAIN:-"{span_seconds: 1024, min_span_seconds: 256, cadence_seconds: 512, relock_gap_seconds: 120, held_out_fraction: 0.1, epochs: 6, kernel_stride_seconds: 0.5, threads: 1, poll_seconds: 1}"}
export OMP_WAIT_POLICY=PASSIVE
[ -x "$DC" ] || { echo "retrain-e2e: no $DC: build it first (cmake --build $BUILD --target deepclean)"; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT/models" "$OUT/cleaned" "$OUT/baseline"
cp -r demo/bundle "$OUT/models/v1"
t0=$(date +%s)
say() { echo "retrain-e2e [$(( $(date +%s) - t0 )) s]: $*"; }

# The demo's configuration (demo/run.yaml) with absolute paths, starting at START, logging every
# second (the report's time axis), plus the lifecycle, the archive and the retrain sections.
sed -e "s#\.\./demo-output#$OUT#" -e "s#^\(  bundle: \)bundle #\1$REPO/demo/bundle #" \
  -e "s#^  start: newest.*#  start: $START#" -e "s#^  level: info#  level: debug#" demo/run.yaml > "$OUT/baseline.yaml"
sed -i "s#$OUT/cleaned#$OUT/baseline#" "$OUT/baseline.yaml"
sed -e "s#$OUT/baseline#$OUT/cleaned#" -e "/^  bundle: /d" "$OUT/baseline.yaml" > "$OUT/run.yaml"
cat >> "$OUT/run.yaml" <<YAML
models: {repository: $OUT/models, validation_seconds: ${VALIDATION:-120}}
training_archive: {directory: $OUT/archive, span_seconds: 4096}
retrain: $RETRAIN
YAML
mkdir -p "$OUT/sim/kafka/H1" "$OUT/sim/lldetchar/H1"
"$DC" check-config "$OUT/run.yaml" > /dev/null

say "simulating $DURATION s from GPS $START at ${SPEED}x ($DRIFT)"
"$DC" simulate --out "$OUT/sim" --start "$START" --duration "$DURATION" --speed "$SPEED" --seed "$SEED" \
  --unrelated 0 --compress raw --quiet --scenario "$DRIFT" > "$OUT/simulate.log" 2>&1 &
sim=$!
"$DC" run --config "$OUT/run.yaml" > "$OUT/daemon.log" 2>&1 &
daemon=$!
nice -n 15 "$DC" retrain --config "$OUT/run.yaml" > "$OUT/retrain.log" 2>&1 &
retrain=$!
trap 'kill $sim $daemon $retrain 2> /dev/null || true' EXIT
last=$(( START + DURATION - 1 ))
while [ ! -e "$OUT/cleaned/H-H1_llhoft_DEEPCLEAN-$last-1.gwf" ]; do
  kill -0 $daemon 2> /dev/null || { tail -20 "$OUT/daemon.log"; echo "retrain-e2e: the daemon stopped"; exit 1; }
  sleep 10
  n=$(find "$OUT/cleaned" -name '*.gwf' | wc -l)
  [ $(( $(date +%s) % 300 )) -lt 10 ] && say "$n of $DURATION seconds cleaned; $(grep -c '^retrain: cycle' "$OUT/retrain.log" || true) retrain cycles"
done
kill $retrain 2> /dev/null || true
kill -TERM $daemon; wait $daemon || true
wait $sim || true
say "cleaned with retraining: $(grep -c '^retrain: cycle' "$OUT/retrain.log" || true) cycles; cleaning without"
"$DC" clean --config "$OUT/baseline.yaml" --start "$START" --end $(( START + DURATION )) > "$OUT/baseline.log" 2>&1 \
  || { tail -20 "$OUT/baseline.log"; exit 1; }
say "report"
mkdir -p "$REPORT"
"$PY" tools/retrain_report.py --dir "$OUT" --deepclean "$DC" --start "$START" --seconds "$DURATION" \
  --drift "$DRIFT" --speed "$SPEED" --settings "retrain: $RETRAIN; models.validation_seconds: ${VALIDATION:-120}" \
  --out "$REPORT"
say "done: $REPORT/report.md"
