#!/usr/bin/env bash
# Runs one libFuzzer target (fuzz/README.md):
#   fuzz/run.sh BINARY SECONDS            a run of SECONDS on a scratch corpus (the test command)
#   fuzz/run.sh BINARY runs:N CORPUS      a campaign of N executions growing the corpus in CORPUS
# The target is named by the binary (fuzz_gwf_reader, fuzz_config, fuzz_bundle_yaml, fuzz_control);
# its seeds go into the corpus first:
#   fuzz_gwf_reader   the real frames of ../shared/data/gwf when present, plus small generated files
#                     (fuzz/make_seeds.py: v8 little/big-endian, v7/v6 big-endian, every compression
#                     code, with and without a TOC) that the project's writer does not produce;
#   fuzz_config       config/examples/*.yaml, with fuzz/config.dict;
#   fuzz_bundle_yaml  fuzz/seeds/bundle_yaml;
#   fuzz_control      fuzz/seeds/control (one request per line).
# Fails (non-zero) when libFuzzer reports a crash, leak, timeout or out-of-memory, and copies the
# reproducer(s) to the current directory.
set -euo pipefail
BIN=${1:?usage: fuzz/run.sh BINARY SECONDS|runs:N [CORPUS]}
HOW=${2:?usage: fuzz/run.sh BINARY SECONDS|runs:N [CORPUS]}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT="$HERE/.."
SHARED="$ROOT/../shared/data/gwf"
TARGET=$(basename "$BIN")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CORPUS=${3:-$WORK/corpus}
mkdir -p "$CORPUS" "$WORK/artifacts" "$WORK/seeds"
extra=()
case "$TARGET" in
  fuzz_gwf_reader)
    if compgen -G "$SHARED/*.gwf" > /dev/null; then
      cp "$SHARED"/*.gwf "$WORK/seeds/"
    else
      echo "fuzz/run.sh: $SHARED absent, generated seeds only"
    fi
    if command -v python3 > /dev/null; then
      python3 "$HERE/make_seeds.py" "$WORK/seeds"
    else
      echo "fuzz/run.sh: python3 absent, no generated seeds"
    fi
    # -max_len 65536: the generated seeds (a few kB) stay whole and iterations stay fast (a whole
    # 4 MB real frame costs milliseconds per run); the real files enter cut to their first 64 kB
    # (header, dictionary, first structures). Whole real files are covered by tests/gwf.
    # -rss_limit_mb: the reader caps any one decode at 1032 x the input size (about 68 MB here).
    extra=(-max_len=65536 -rss_limit_mb=2560)
    ;;
  fuzz_config)
    cp "$ROOT"/config/examples/*.yaml "$WORK/seeds/"
    extra=(-max_len=8192 -dict="$HERE/config.dict" -rss_limit_mb=2048)
    ;;
  fuzz_bundle_yaml)
    cp "$HERE"/seeds/bundle_yaml/* "$WORK/seeds/"
    extra=(-max_len=8192 -rss_limit_mb=2048)
    ;;
  fuzz_control)
    cp "$HERE"/seeds/control/* "$WORK/seeds/"
    extra=(-max_len=4096 -rss_limit_mb=2048)
    ;;
  *)
    echo "fuzz/run.sh: unknown target $TARGET" >&2
    exit 2
    ;;
esac
case "$HOW" in
  runs:*) limit=(-runs="${HOW#runs:}") ;;
  *) limit=(-max_total_time="$HOW") ;;
esac
echo "fuzz/run.sh: $TARGET: $(ls "$WORK/seeds" | wc -l) seeds, corpus $CORPUS ($(ls "$CORPUS" | wc -l) inputs), $HOW"
set +e
"$BIN" "$CORPUS" "$WORK/seeds" "${limit[@]}" "${extra[@]}" -timeout=30 -artifact_prefix="$WORK/artifacts/" \
  -print_final_stats=1 2>&1 | tail -n 40
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  echo "fuzz/run.sh: $TARGET failed (exit $rc); reproducer(s):"
  for f in "$WORK"/artifacts/*; do
    [ -e "$f" ] || continue
    keep="$(pwd)/$TARGET-$(basename "$f")"
    cp "$f" "$keep"
    echo "  $keep"
  done
  exit "$rc"
fi
echo "fuzz/run.sh: $TARGET: no finding ($HOW)"
