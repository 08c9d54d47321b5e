#!/usr/bin/env bash
# Regenerates the committed demo model bundle (demo/bundle/: model.pt + bundle.yaml) in one command:
#   1. builds `deepclean` (Release, tests and benchmarks off) in build-demo/ if needed,
#   2. simulates 1260 s of frames, seed 5, 6 witnesses coupled as in docs/simulator.md, into
#      build-demo/demo-data/ (the scratch directory demo/train.yaml names),
#   3. trains the plain network on the first 1200 s with demo/train.yaml (fixed seed 7) into
#      build-demo/bundle-plain,
#   4. fine-tunes it for the demo's streaming settings with demo/finetune.yaml (streaming-aware and
#      guard-band losses, docs/training.md; replaces demo/bundle),
#   5. cleans the 60 held-out seconds with both bundles (demo/heldout.yaml) and prints the band
#      ASD ratio cleaned/raw, offline and streamed as demo/run.yaml streams,
#   6. removes the simulated frames (KEEP_DATA=1 keeps them).
# About 8 minutes on 2 cores after the build. Run from anywhere; needs the packages of
# tools/install-deps.sh. Training is deterministic for a seed on one machine (docs/training.md);
# another CPU or BLAS may give a bundle with different bytes but the same behaviour.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-demo}
JOBS=${JOBS:-1}
DATA=build-demo/demo-data   # fixed: demo/train.yaml and demo/heldout.yaml name it

if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DDEEPCLEAN_BUILD_TESTS=OFF -DDEEPCLEAN_BUILD_BENCH=OFF
fi
cmake --build "$BUILD" -j "$JOBS" --target deepclean
DC="$BUILD/daemon/deepclean"

echo "== simulate 1260 s into $DATA =="
rm -rf "$DATA"
"$DC" simulate --out "$DATA" --unrelated 0 --seed 5 --start 1300010000 --duration 1260 --quiet

export OMP_WAIT_POLICY=PASSIVE   # docs/benchmarks.md: spinning OpenMP waits on a shared 2-core host
echo "== train the plain network (demo/train.yaml) =="
start=$(date +%s)
"$DC" train --config demo/train.yaml
echo "== streaming-aware fine-tuning (demo/finetune.yaml) =="
"$DC" train --config demo/finetune.yaml
echo "training wall time: $(( $(date +%s) - start )) s"

echo "== held-out 60 s (GPS 1300011200-1300011260), never seen in training =="
echo "-- plain network (build-demo/bundle-plain):"
"$DC" train --config demo/heldout.yaml --evaluate build-demo/bundle-plain
echo "-- fine-tuned, the demo bundle (demo/bundle):"
"$DC" train --config demo/heldout.yaml --evaluate demo/bundle
"$DC" model info demo/bundle

if [ "${KEEP_DATA:-0}" != 1 ]; then rm -rf "$DATA"; fi
echo "demo bundle written to demo/bundle (commit demo/bundle/model.pt and demo/bundle/bundle.yaml)"
