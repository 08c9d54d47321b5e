#!/usr/bin/env bash
# `deepclean clean` on a GPU at a 512 Hz inference sampling rate (docs/gpu.md): the DeepClean test
# architecture with 21 witnesses (tools/fixtures/make_test_models.py, bundle_c21), K = 4096 at
# 4096 Hz (1-s kernels, stride 8 samples), every forward pass one batch of 512 kernels = one second
# of data; float32, fp16, CUDA graph and both, each kept by the runner only within 1e-3 relative
# RMS of float32 (the run log's model notes say what was kept).
#
#   tools/gpu/bench-cuda.sh BUILD_DIR [SECONDS]     env: DEVICE (cuda:0), OUT (results), PYTHON
#
# Targets (docs/gpu.md): >= 1000x real time for the model, <= 5 ms of model compute per 1-s frame.
# Prints RESULT lines (one per variant) and CHECK lines; writes bench-results.tsv under $OUT.
set -euo pipefail
build=${1:?build dir}; seconds=${2:-300}
here=$(cd "$(dirname "$0")/../.." && pwd)
DEVICE=${DEVICE:-cuda:0}
OUT=${OUT:-$here/out/gpu}
PYTHON=${PYTHON:-$(command -v python3)}
RATE=512
mkdir -p "$OUT"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
gps0=1400000000

"$PYTHON" "$here/tools/fixtures/make_test_models.py" --out "$work/models" >/dev/null
bundle=$work/models/bundle_c21
t0=$(date +%s.%N)
"$build/bench/make_frames" "$bundle" "$work/frames" $gps0 "$seconds"
echo "bench: $seconds s of frames made in $(awk -v a="$t0" -v b="$(date +%s.%N)" "BEGIN {printf \"%.1f\", b - a}") s"

# The runner alone: load, warm-up and the accuracy checks of fp16 / graph on probe data.
"$build/daemon/deepclean" model info "$bundle" --load --device "$DEVICE" --max-batch $RATE 2>&1 |
  tee "$OUT/model-info.txt" | grep -E '^(load|notes)' || true

printf 'variant\tfp16_kept\tgraph_kept\tx_real_time_total\tmodel_s\tmodel_ms_per_frame\tmodel_x_real_time\tprocessing_x_real_time\tread_s\tclean_s\twrite_s\twall_s\n' \
  > "$OUT/bench-results.tsv"
status=0
run_variant() {
  local name=$1 fp16=$2 graph=$3
  local device_keys="device: $DEVICE"
  [ "$DEVICE" = cpu ] || device_keys="$device_keys, fp16: $fp16, cuda_graph: $graph"
  cat > "$work/cfg-$name.yaml" <<YAML
ifo: H1
input:
  strain: {directory: $work/frames/strain, frame_type: H1_llhoft, channel: H1:GDS-CALIB_STRAIN}
  witness: {directory: $work/frames/witness, frame_type: H1_lldetchar}
output: {directory: $work/out-$name}
model: {bundle: $bundle, $device_keys, threads: 1, batch_size: $RATE}
inference: {kernel_seconds: 1, sampling_rate: $RATE, aggregation_seconds: 0.5}
bandpass: {method: window, memory_seconds: 10, look_ahead_seconds: 0.5}
logging: {level: info}
YAML
  echo "== $name: device $DEVICE, fp16 $fp16, cuda_graph $graph, $RATE Hz, $seconds s of data =="
  local log="$OUT/clean-$name.log"
  if ! "$build/daemon/deepclean" clean --config "$work/cfg-$name.yaml" --start $gps0 \
        --end $((gps0 + seconds)) > "$log" 2>&1; then
    tail -20 "$log"
    echo "RESULT $name: deepclean clean FAILED (see clean-$name.log)"
    status=1
    return
  fi
  grep -E '^(seconds|problems|speed|stages)' "$log" || true
  grep -iE 'fp16|graph|relative RMS' "$log" | head -5 || true
  # speed:     123.4x real time (1.23 s wall, model load included)
  # stages:    read 0.1 s (1%), clean 0.2 s (2%), model 0.3 s (3%), write 0.4 s (4%)
  local speed wall read clean model write
  speed=$(sed -nE 's/^speed: +([0-9.]+)x real time \(([0-9.]+) s wall.*/\1/p' "$log")
  wall=$(sed -nE 's/^speed: +([0-9.]+)x real time \(([0-9.]+) s wall.*/\2/p' "$log")
  read=$(sed -nE 's/^stages: +read ([0-9.e-]+) s.*/\1/p' "$log")
  clean=$(sed -nE 's/^stages:.* clean ([0-9.e-]+) s.*/\1/p' "$log")
  model=$(sed -nE 's/^stages:.* model ([0-9.e-]+) s.*/\1/p' "$log")
  write=$(sed -nE 's/^stages:.* write ([0-9.e-]+) s.*/\1/p' "$log")
  # From LoadReport::notes in `deepclean clean`'s "model ... loaded" line (info level); "unknown"
  # when the log does not say.
  local kept_fp16=unknown kept_graph=unknown
  grep -qiE 'fp16 relative RMS[^;]*\(kept\)' "$log" && kept_fp16=yes
  grep -qiE 'fp16 relative RMS[^;]*fp16 off' "$log" && kept_fp16=no
  grep -qiE 'CUDA graph relative RMS[^;]*\(kept\)' "$log" && kept_graph=yes
  grep -qiE 'CUDA graph relative RMS[^;]*graph off' "$log" && kept_graph=no
  [ "$fp16" = true ] || kept_fp16=no
  [ "$graph" = true ] || kept_graph=no
  local stats
  stats=$(awk -v n="$seconds" -v m="${model:-0}" -v r="${read:-0}" -v c="${clean:-0}" -v w="${write:-0}" 'BEGIN {
    p = r + c + m + w;
    printf "%.3f\t%.1f\t%.1f", 1000 * m / n, (m > 0 ? n / m : 0), (p > 0 ? n / p : 0) }')
  local ms_per_frame model_x proc_x
  IFS=$'\t' read -r ms_per_frame model_x proc_x <<< "$stats"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$kept_fp16" "$kept_graph" "$speed" "$model" \
    "$ms_per_frame" "$model_x" "$proc_x" "$read" "$clean" "$write" "$wall" >> "$OUT/bench-results.tsv"
  echo "RESULT $name: model ${ms_per_frame} ms per 1-s frame (${model_x}x real time), all stages ${proc_x}x real time, ${speed}x with load (fp16 kept: $kept_fp16, graph kept: $kept_graph)"
  awk -v ms="$ms_per_frame" -v x="$model_x" -v name="$name" 'BEGIN {
    printf "CHECK %s: model <= 5 ms per frame: %s; model >= 1000x real time: %s\n", name,
      (ms <= 5 ? "PASS" : "FAIL"), (x >= 1000 ? "PASS" : "FAIL") }'
}

if [ "$DEVICE" = cpu ]; then
  run_variant cpu false false
else
  run_variant float32 false false
  run_variant fp16 true false
  run_variant graph false true
  run_variant fp16-graph true true
fi
column -t -s $'\t' "$OUT/bench-results.tsv" 2>/dev/null || cat "$OUT/bench-results.tsv"
exit $status
