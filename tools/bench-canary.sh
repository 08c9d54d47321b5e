#!/usr/bin/env bash
# The canary's cost to production (issue 15's targets; figures in docs/benchmarks.md, "Model
# lifecycle"): the demo (tools/demo.sh: `deepclean run` and `deepclean simulate --realtime`, the demo's
# settings, CPU) run twice, DEMO_SECONDS (65) each, with a model repository holding the demo bundle
# as version v1:
#   baseline  v1 alone;
#   canary    5 s into the run a second version v2 (the demo bundle under another version name) is
#             published into the repository (copied under a hidden name, renamed in), loaded and warmed
#             up in the background, then run in the shadow with its frames written to a candidate
#             directory. Its validation window (VALIDATION, default 100000 s) outlasts the run, so
#             it is a canary to the end; VALIDATION=20 makes it validate and be promoted mid-run
#             instead (the report then shows the promotion and the seconds around it).
# Prints, for each run, production's latency from the input that completes a second to the output's
# rename (p50, p99: the daemon's own part; from the files' change times, 4-ms ticks, and from the
# daemon's debug log, 0.1 ms: from the input's inotify event to the rename), the stage times per second of data (model: production;
# shadow: the canary and its monitor) and the band ASD ratio; then the p99 change and the compute
# ratio (model + shadow) / model. Needs a built build-demo/ or builds it (tools/demo.sh, step 2).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
OUT=${OUT:-$REPO/build-demo/bench-canary}
VALIDATION=${VALIDATION:-100000}
export DEMO_SKIP_DEPS=1 JOBS=${JOBS:-2}

run() {  # run NAME DURING
  local dir=$OUT/$1
  rm -rf "$dir"
  mkdir -p "$dir/models"
  cp -r demo/bundle "$dir/models/v1"
  DEMO_DIR=$dir DEMO_BUNDLE=$dir/models/v1 DEMO_LOG_LEVEL=debug DEMO_DURING=$2 DEMO_CONFIG_EXTRA="models: {repository: $dir/models, validation_seconds: $VALIDATION, \
candidate_directory: $dir/canary, probation_seconds: 600, scan_interval_seconds: 10}
control: {socket: $dir/ctl.sock}" bash tools/demo.sh > "$dir.log" 2>&1 || { tail -30 "$dir.log"; exit 1; }
  "$REPO/build-demo/daemon/deepclean" ctl --socket "$dir/ctl.sock" status > /dev/null 2>&1 || true
}

publish_v2='sleep 5; cp -r '"$REPO"'/demo/bundle models/.v2.tmp
sed -i "s/^version: .*/version: demo-canary-v2/" models/.v2.tmp/bundle.yaml
mv models/.v2.tmp models/v2; echo "v2 published at $(date +%s.%N)"'

echo "== baseline: v1 alone =="
run baseline ""
echo "== canary: v2 published 5 s in =="
run canary "$publish_v2"

p99() { sed -n 's/^ *p50 \([0-9.]*\) ms, p99 \([0-9.]*\) ms.*/\2/p' "$OUT/$1.log" | head -1; }
stage() { sed -n "s/.*processing per second of data: .*$2 \\([0-9.]*\\) ms.*/\\1/p" "$OUT/$1.log" | head -1; }
for r in baseline canary; do
  echo "-- $r"
  grep -E "^ *p50 .* ms, p99|processing per second|band ASD ratio|frames in" "$OUT/$r.log" | head -6
  grep -E "model v2|canary|promoted|rejected" "$OUT/$r/daemon.log" | head -8 || true
done
# The daemon's own measure: "GPS g: output written, completed by the arrival of (...), 0.0121 s after
# that input arrived" (debug), for the outputs an input arrival completed.
logged() { sed -n 's/.*output written, completed by the arrival of .*, \([0-9.]*\) s after that input arrived/\1/p' \
  "$OUT/$1/daemon.log" | /usr/bin/python3 -c '
import sys, numpy as np
x = 1e3 * np.array([float(l) for l in sys.stdin])
print("%d %.2f %.2f %.2f" % (len(x), np.percentile(x, 50), np.percentile(x, 99), x.max()))'; }
read -r nb b50 b99 bmax <<< "$(logged baseline)"
read -r nc c50 c99 cmax <<< "$(logged canary)"
echo "production latency, daemon log (input event -> output rename): baseline $nb outputs p50 $b50 p99 $b99 max $bmax ms;" \
  "with the canary $nc outputs p50 $c50 p99 $c99 max $cmax ms ($(/usr/bin/python3 -c "print('%+.0f %%' % (100 * ($c99 / $b99 - 1)))"))"
b=$(p99 baseline) c=$(p99 canary) m=$(stage canary model) k=$(stage canary clean) s=$(stage canary shadow)
mb=$(stage baseline model) kb=$(stage baseline clean)
/usr/bin/python3 - "$b" "$c" "$m" "$k" "${s:-0}" "$mb" "$kb" "$OUT/canary/deepclean_H1.prom" <<'PY'
import re, sys
b, c, m, k, s, mb, kb = map(float, sys.argv[1:8])
prom = {}
for line in open(sys.argv[8]):
    x = re.match(r"^(\S+?)(\{.*\})?\s+(\S+)$", line.strip())
    if x and not line.startswith("#"):
        prom[x.group(1) + (x.group(2) or "")] = float(x.group(3))
shadow = prom.get('deepclean_stage_seconds_total{stage="shadow"}', 0.0)
n = prom.get("deepclean_canary_validation_seconds", 0.0)
if n > 0:
    # Per second the canary ran: its validated seconds (fewer than the seconds it ran: conservative).
    s = 1e3 * shadow / n
print("production latency p99, file change times: baseline %.1f ms, with the canary %.1f ms (%+.0f %%; target <= +10 %%)" % (b, c, 100 * (c / b - 1)))
# One model's compute: production's model and clean stages per second of data; the shadow stage is
# the same two for the canary, per second it was validated over.
print("compute per second of data: production model %.1f + clean %.1f ms (baseline run %.1f + %.1f ms), shadow "
      "(the canary's) %.1f ms: two models cost %.2fx one (target <= 2.1x)" % (m, k, mb, kb, s, (m + k + s) / (m + k)))
PY
echo "runs: $OUT/{baseline,canary}/ (report.md, daemon.log, metrics), logs $OUT/{baseline,canary}.log"
