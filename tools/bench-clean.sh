#!/usr/bin/env bash
# Benchmark of `deepclean clean` on the CPU (issue 4): DeepClean architecture with 21 witnesses,
# K = 4096 at 4096 Hz, inference sampling rates 32, 64 and 128 Hz, 2 intra-op threads by default.
# Usage: tools/bench-clean.sh BUILD_DIR [SECONDS] [THREADS]
#   (defaults 64 s of data, model.threads 2). Prints one table for the three rates; results go to
#   docs/benchmarks.md by hand. Columns:
#   × real time, wall s: the tool's own figures (model load and warm-up included).
#   read / clean / model / write s: busy time of each stage, measured on the thread that does it
#     (read: open + decode the input frames, on the read-ahead thread; clean: the DSP, and model: the
#     forward passes, on the main thread; write: build + encode the output frame, the band ASD
#     monitor and the fsynced atomic publish, on the writer thread), with % of their sum.
#   non-model: (read + clean + write) / (read + clean + model + write), the share of busy time.
#   non-model (critical path): from the summary's "critical path:" line, the share of the
#     per-second loop's wall time (model load excluded) the main thread spent outside the model:
#     the clean DSP, waiting for an input second or for room in the write queue, and bookkeeping.
#     Reading and writing overlap the model, so this is the figure issue 4's 10 % target is about.
#   process CPU s: user + system time (/usr/bin/time), all threads.
#   load 1-min: the 1-min load average before and after each run (the machine may be shared).
set -euo pipefail
build=${1:?usage: tools/bench-clean.sh BUILD_DIR [SECONDS] [THREADS]}; seconds=${2:-64}; threads=${3:-2}
here=$(cd "$(dirname "$0")/.." && pwd)
bin="$build/daemon/deepclean"; frames="$build/bench/make_frames"
[[ -x $bin && -x $frames ]] || { echo "need $bin and $frames (cmake --build $build --target deepclean make_frames)" >&2; exit 2; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$here/tools/fixtures/make_test_models.py" --out "$work/models" >/dev/null
"$frames" "$work/models/bundle_c21" "$work/frames" 1400000000 "$seconds"
load1() { cut -d' ' -f1 /proc/loadavg; }

echo "deepclean clean benchmark: $(date -u +%FT%TZ), $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?')" \
     "$(git -C "$here" diff --quiet 2>/dev/null || echo '(+ local changes)')"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "libblas.so.3 -> $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo '?')" \
     "${LD_LIBRARY_PATH:+(LD_LIBRARY_PATH=$LD_LIBRARY_PATH)}"
echo "model.threads $threads, OMP_WAIT_POLICY ${OMP_WAIT_POLICY:-unset (deepclean sets PASSIVE)}," \
     "OPENBLAS_NUM_THREADS ${OPENBLAS_NUM_THREADS:-unset (deepclean uses 1)}, $seconds s of data per rate"
rows=()
for rate in 32 64 128; do
  cat > "$work/cfg-$rate.yaml" <<YAML
ifo: H1
input:
  strain: {directory: $work/frames/strain, frame_type: H1_llhoft, channel: H1:GDS-CALIB_STRAIN}
  witness: {directory: $work/frames/witness, frame_type: H1_lldetchar}
output: {directory: $work/out-$rate}
model: {bundle: $work/models/bundle_c21, threads: $threads, batch_size: 128}
inference: {kernel_seconds: 1, sampling_rate: $rate, aggregation_seconds: 0.5}
bandpass: {method: window, memory_seconds: 10, look_ahead_seconds: 0.5}
logging: {level: warn}
YAML
  l0=$(load1)
  /usr/bin/time -v -o "$work/time-$rate" "$bin" clean --config "$work/cfg-$rate.yaml" --start 1400000000 \
    --end $((1400000000 + seconds)) >"$work/out-$rate.txt" 2>"$work/err-$rate.txt" \
    || { cat "$work/err-$rate.txt" >&2; exit 1; }
  l1=$(load1)
  rows+=("$(/usr/bin/python3 - "$rate" "$seconds" "$work/out-$rate.txt" "$work/time-$rate" "$l0" "$l1" <<'PY'
import re, sys
rate, seconds, out, tv, l0, l1 = sys.argv[1:]
text = open(out).read()
speed = re.search(r"speed:\s+([\d.]+)x real time \(([\d.]+) s wall", text)
stages = re.search(r"^stages:.*$", text, re.M)[0]
st = dict((k, float(v)) for k, v in re.findall(r"(read|clean|model|write) ([\d.]+) s", stages))
crit = re.search(r"^critical path:.* non-model ([\d.]+)% of the loop's wall time", text, re.M)
t = open(tv).read()
cpu = float(re.search(r"User time \(seconds\): ([\d.]+)", t)[1]) + float(re.search(r"System time \(seconds\): ([\d.]+)", t)[1])
total = sum(st.values())
pct = lambda x: 100 * x / total if total else 0.0
cells = " | ".join(f"{st[k]:.2f} ({pct(st[k]):.1f} %)" for k in ("read", "clean", "model", "write"))
nonmodel = pct(total - st["model"])
crit_cell = f"{float(crit[1]):.1f} %" if crit else "?"
print(f"| {rate} Hz | {float(speed[1]):.1f}× | {float(speed[2]):.2f} | {cells} | {nonmodel:.1f} % | {crit_cell} | {cpu:.1f} | {l0}–{l1} |")
PY
)")
done
echo
echo "| rate | × real time | wall s | read s | clean s | model s | write s | non-model | non-model (critical path) | process CPU s | load 1-min |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
