#!/usr/bin/env bash
# Runs the frame-reader fuzzer: fuzz/run.sh BINARY SECONDS
# Seed corpus (in a temporary directory): the real frames of ../shared/data/gwf when present, plus
# small generated files (fuzz/make_seeds.py: v8 little/big-endian, v7/v6 big-endian, every
# compression code, with and without a TOC) that the project's writer does not produce.
# Fails (non-zero) when libFuzzer reports a crash, leak, timeout or out-of-memory.
set -euo pipefail
BIN=${1:?usage: fuzz/run.sh BINARY SECONDS}
SECONDS_TO_RUN=${2:?usage: fuzz/run.sh BINARY SECONDS}
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED="$HERE/../../shared/data/gwf"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/corpus" "$WORK/artifacts"
if compgen -G "$SHARED/*.gwf" > /dev/null; then
  cp "$SHARED"/*.gwf "$WORK/corpus/"
else
  echo "fuzz/run.sh: $SHARED absent, generated seeds only"
fi
if command -v python3 > /dev/null; then
  python3 "$HERE/make_seeds.py" "$WORK/corpus"
else
  echo "fuzz/run.sh: python3 absent, no generated seeds"
fi
echo "fuzz/run.sh: $(ls "$WORK/corpus" | wc -l) seeds, ${SECONDS_TO_RUN} s"
# -max_len 65536: the generated seeds (a few kB) stay whole and iterations stay fast (a whole
# 4 MB real frame costs milliseconds per run); the real files enter cut to their first 64 kB
# (header, dictionary, first structures). Whole real files are covered by tests/gwf.
# -rss_limit_mb: the reader caps any one decode at 1032 x the input size (about 68 MB here).
set +e
"$BIN" "$WORK/corpus" -max_total_time="$SECONDS_TO_RUN" -max_len=65536 -rss_limit_mb=2560 \
  -timeout=30 -artifact_prefix="$WORK/artifacts/" -print_final_stats=1 2>&1 | tail -n 40
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  echo "fuzz/run.sh: the fuzzer failed (exit $rc); reproducer(s):"
  for f in "$WORK"/artifacts/*; do
    [ -e "$f" ] || continue
    keep="$(pwd)/fuzz-$(basename "$f")"
    cp "$f" "$keep"
    echo "  $keep"
  done
  exit "$rc"
fi
echo "fuzz/run.sh: no crash in ${SECONDS_TO_RUN} s"
