#!/usr/bin/env bash
# A promotion on the live stream, measured (issue 15's targets; figures in docs/benchmarks.md,
# "Model lifecycle"):
#   1. makes a second model: the demo bundle fine-tuned on 240 other simulated seconds (seed 11,
#      demo/finetune.yaml's settings, 4 epochs): close to the demo bundle, not the same;
#   2. runs the demo (tools/demo.sh, DEMO_SECONDS 65, real time) with a model repository holding the
#      demo bundle as v1; 3 s in, the new model is published as v2 (renamed in) and becomes the
#      canary; PROMOTE_AT (30) s in, an operator promotes it (`deepclean ctl promote v2`, without
#      waiting for its validation), so the switch, its crossfade and the probation happen mid-run;
#   3. cleans the same input with each model alone (`deepclean clean`, the same configuration);
#   4. tools/promotion_report.py: every second once, the state bits around the switch, the band ASD
#      ratio of the 16 s around it published against each model alone.
# Exit status: the report's (0 when the targets hold).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
OUT=${OUT:-$REPO/build-demo/bench-promotion}
PROMOTE_AT=${PROMOTE_AT:-30}
export DEMO_SKIP_DEPS=1 JOBS=${JOBS:-2} OMP_WAIT_POLICY=PASSIVE
DC=$REPO/build-demo/daemon/deepclean
cmake -S . -B build-demo -G Ninja -DCMAKE_BUILD_TYPE=Release -DDEEPCLEAN_BUILD_TESTS=OFF \
  -DDEEPCLEAN_BUILD_BENCH=OFF > /dev/null
cmake --build build-demo -j "$JOBS" --target deepclean > /dev/null
rm -rf "$OUT"
mkdir -p "$OUT/run/models"

echo "== 1/4 the second model: the demo bundle fine-tuned on other seconds =="
"$DC" simulate --out "$OUT/train-data" --unrelated 0 --seed 11 --start 1300100000 --duration 240 --quiet
sed -e "s#\.\./build-demo/demo-data#$OUT/train-data#" -e "s#^  start: .*#  start: 1300100000#" \
  -e "s#^  end: .*#  end: 1300100240#" -e "s#^  epochs: .*#  epochs: 4#" \
  -e "s#^  initial_bundle: .*#  initial_bundle: $REPO/demo/bundle#" -e "s#^  bundle: .*#  bundle: $OUT/v2#" \
  -e "s#^  version: .*#  version: demo-finetuned-v2#" demo/finetune.yaml > "$OUT/finetune.yaml"
"$DC" train --config "$OUT/finetune.yaml" > "$OUT/train.log" 2>&1 || { tail -20 "$OUT/train.log"; exit 1; }
grep -iE "held-out|validation|streamed" "$OUT/train.log" | tail -3 || true

echo "== 2/4 the demo with v1 in production, v2 published 3 s in, promoted $PROMOTE_AT s in =="
cp -r demo/bundle "$OUT/run/models/v1"
DEMO_DIR=$OUT/run DEMO_BUNDLE=$OUT/run/models/v1 DEMO_LOG_LEVEL=debug \
  DEMO_CONFIG_EXTRA="models: {repository: $OUT/run/models, validation_seconds: 100000, probation_seconds: 600}
control: {socket: $OUT/run/ctl.sock}" \
  DEMO_DURING="sleep 3; cp -r $OUT/v2 models/.v2; mv models/.v2 models/v2; sleep $(( PROMOTE_AT - 3 ));
$DC ctl --socket ctl.sock promote v2; $DC ctl --socket ctl.sock status" \
  bash tools/demo.sh > "$OUT/demo.log" 2>&1 || true   # its exit status is the demo's ASD target
grep -E "band ASD ratio|frames in" "$OUT/demo.log" || { tail -20 "$OUT/demo.log"; exit 1; }
cat "$OUT/run/during.log"

echo "== 3/4 each model alone over the same input (deepclean clean) =="
first=$(find "$OUT/run/sim/kafka/H1" -name '*.gwf' -printf '%f\n' | sed 's/.*-\([0-9]*\)-1\.gwf/\1/' | sort -n | head -1)
last=$(find "$OUT/run/sim/kafka/H1" -name '*.gwf' -printf '%f\n' | sed 's/.*-\([0-9]*\)-1\.gwf/\1/' | sort -n | tail -1)
for m in v1 v2; do
  bundle=$REPO/demo/bundle
  [ "$m" = v2 ] && bundle=$OUT/v2
  mkdir -p "$OUT/alone-$m"
  sed -e "s#$OUT/run/cleaned#$OUT/alone-$m#" -e "s#^\(  bundle: \)[^ ]*#\1$bundle#" -e '/^models:/d' -e '/^control:/d' \
    -e "s#^\(  path: \).*prom#\1$OUT/alone-$m.prom#" "$OUT/run/run.yaml" > "$OUT/alone-$m.yaml"
  "$DC" clean --config "$OUT/alone-$m.yaml" --start "$first" --end $(( last + 1 )) > "$OUT/alone-$m.log" 2>&1 \
    || { tail -20 "$OUT/alone-$m.log"; exit 1; }
done

echo "== 4/4 report =="
/usr/bin/python3 tools/promotion_report.py --dir "$OUT/run" --deepclean "$DC" --alone v1 "$OUT/alone-v1" \
  --alone v2 "$OUT/alone-v2"
