#!/usr/bin/env bash
# Proves that config.cpp's comparison of a configuration section cannot silently miss a member: a
# copy of config/config.cpp whose InferenceSettings comparison leaves out `aggregation_seconds` must
# fail to compile with the static_assert's message. Run by ctest as `config.fields_cover_members`.
#
#   tools/check-config-fields.sh CXX
set -euo pipefail
cxx=${1:?usage: $0 CXX}
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/config-fields.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
whole='DC_COMPARED_AS_A_WHOLE(InferenceSettings, x.kernel_seconds, x.sampling_rate, x.aggregation_seconds)'
grep -qF "$whole" "$src/config/config.cpp" || { echo "config/config.cpp no longer has: $whole" >&2; exit 1; }
sed "s/, x.aggregation_seconds)/)/" "$src/config/config.cpp" > "$tmp/config.cpp"
if "$cxx" -std=c++17 -I"$src" -fsyntax-only "$tmp/config.cpp" > "$tmp/log" 2>&1; then
  echo "a comparison that leaves out a member compiled: the static_assert does not hold fields() to the struct" >&2
  exit 1
fi
if ! grep -q "InferenceSettings: fields() must name every member" "$tmp/log"; then
  cat "$tmp/log" >&2
  echo "the copy failed to compile, but not on the static_assert" >&2
  exit 1
fi
echo "ok: leaving a member out of fields() is a compile error (InferenceSettings: fields() must name every member)"
