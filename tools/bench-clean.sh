#!/usr/bin/env bash
# Benchmark of `deepclean clean` on the CPU (issue 4): DeepClean architecture with 21 witnesses,
# K = 4096 at 4096 Hz, inference sampling rates 32, 64 and 128 Hz, 2 intra-op threads.
# Usage: tools/bench-clean.sh BUILD_DIR [SECONDS]   (results go to docs/benchmarks.md by hand)
set -euo pipefail
build=${1:?build dir}; seconds=${2:-64}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$here/tools/fixtures/make_test_models.py" --out "$work/models" >/dev/null
"$build/bench/make_frames" "$work/models/bundle_c21" "$work/frames" 1400000000 "$seconds"
for rate in 32 64 128; do
  cat > "$work/cfg-$rate.yaml" <<YAML
ifo: H1
input:
  strain: {directory: $work/frames/strain, frame_type: H1_llhoft, channel: H1:GDS-CALIB_STRAIN}
  witness: {directory: $work/frames/witness, frame_type: H1_lldetchar}
output: {directory: $work/out-$rate}
model: {bundle: $work/models/bundle_c21, threads: 2, batch_size: 128}
inference: {kernel_seconds: 1, sampling_rate: $rate, aggregation_seconds: 0.5}
bandpass: {method: window, memory_seconds: 10, look_ahead_seconds: 0.5}
logging: {level: warn}
YAML
  echo "== inference sampling rate $rate Hz, $seconds s of data =="
  "$build/daemon/deepclean" clean --config "$work/cfg-$rate.yaml" --start 1400000000 \
    --end $((1400000000 + seconds)) 2>/dev/null
done
