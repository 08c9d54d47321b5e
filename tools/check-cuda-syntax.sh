#!/usr/bin/env bash
# Syntax check of the CUDA path (the code compiled only with -DDEEPCLEAN_CUDA) against the LibTorch
# headers of this machine and a CUDA toolkit's headers, without a CUDA LibTorch or a GPU. Run by
# ctest as `cuda.syntax` (tests/CMakeLists.txt) in builds with DEEPCLEAN_CUDA=OFF.
#
#   tools/check-cuda-syntax.sh BUILD_DIR [EXTRA.cpp ...]
#
# Each CUDA-path translation unit is compiled with -fsyntax-only -DDEEPCLEAN_CUDA=1 and the exact
# command CMake uses for core/model's sources (BUILD_DIR/compile_commands.json: compiler, include
# dirs, definitions, warning flags incl. -Werror, the folder's -fopenmp). cuda_runner.cpp is not in
# a non-CUDA build, so it takes the command of a sibling (device.cpp). The files checked: it, and
# every core/model/*.cpp with a DEEPCLEAN_CUDA branch. EXTRA files (also $DEEPCLEAN_CUDA_SYNTAX_EXTRA,
# colon-separated) are checked the same way; used to prove the check catches a broken copy.
# Added: -isystem <CUDA include dir> and -isystem <temp dir with c10/cuda/impl/cuda_cmake_macros.h>,
# the header PyTorch's CMake generates and Debian's libtorch-dev does not ship.
# The CUDA headers: $DEEPCLEAN_CUDA_INCLUDE if set (only there), else $CUDA_HOME, $CUDA_PATH, nvcc's,
# /usr/local/cuda, /usr/include.
# Exit 77 (ctest: skipped) when there are no CUDA headers or the LibTorch headers lack c10/cuda.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR [EXTRA.cpp ...]" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
shift
src_dir=$(cd "$(dirname "$0")/.." && pwd)
extra=("$@")
if [ -n "${DEEPCLEAN_CUDA_SYNTAX_EXTRA:-}" ]; then
  IFS=: read -r -a _env_extra <<<"$DEEPCLEAN_CUDA_SYNTAX_EXTRA"
  extra+=("${_env_extra[@]}")
fi

ccjson="$build_dir/compile_commands.json"
if [ ! -f "$ccjson" ]; then
  echo "no $ccjson (CMAKE_EXPORT_COMPILE_COMMANDS is ON in CMakeLists.txt; configure first)" >&2
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cuda-syntax.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ---- the compile commands of core/model (JSON read by CMake itself: no jq/python needed) -------
cat >"$tmp/cc.cmake" <<'EOF'
file(READ "${CC}" j)
string(JSON n LENGTH "${j}")
math(EXPR last "${n} - 1")
foreach(i RANGE ${last})
  string(JSON f GET "${j}" ${i} file)
  if(f MATCHES "/core/model/[^/]*\\.cpp$")
    string(JSON d GET "${j}" ${i} directory)
    string(JSON c GET "${j}" ${i} command)
    execute_process(COMMAND "${CMAKE_COMMAND}" -E echo "${f}\t${d}\t${c}")
  endif()
endforeach()
EOF
declare -A cmd_of dir_of
while IFS=$'\t' read -r f d c; do
  cmd_of["$f"]=$c
  dir_of["$f"]=$d
done < <(cmake -DCC="$ccjson" -P "$tmp/cc.cmake")
template="$src_dir/core/model/device.cpp"
if [ -z "${cmd_of[$template]:-}" ]; then
  echo "no compile command for $template in $ccjson (DEEPCLEAN_WITH_TORCH=OFF?)" >&2
  exit 1
fi

# words_for FILE: the compile command (as a bash array `words`) for FILE, without -o/-c/depfile
# flags and without the source, so that the caller can append its own.
words_for() {
  local f=$1 key=$1
  [ -n "${cmd_of[$f]:-}" ] || key=$template
  local -a all
  eval "all=(${cmd_of[$key]})"  # the command is a shell command line (CMake quotes it as such)
  words=()
  local i=0 n=${#all[@]}
  while [ $i -lt "$n" ]; do
    case ${all[$i]} in
      -o | -c | -MT | -MF | -MQ) i=$((i + 2)); continue ;;
      -MD | -MMD) i=$((i + 1)); continue ;;
    esac
    words+=("${all[$i]}")
    i=$((i + 1))
  done
  cwd=${dir_of[$key]}
}

# ---- CUDA headers ------------------------------------------------------------------------------
cuda_inc=
candidates=()
if [ -n "${DEEPCLEAN_CUDA_INCLUDE:-}" ]; then
  candidates=("$DEEPCLEAN_CUDA_INCLUDE")  # this directory only
else
  [ -n "${CUDA_HOME:-}" ] && candidates+=("$CUDA_HOME/include")
  [ -n "${CUDA_PATH:-}" ] && candidates+=("$CUDA_PATH/include")
  if command -v nvcc >/dev/null 2>&1; then
    candidates+=("$(dirname "$(readlink -f "$(command -v nvcc)")")/../include")
  fi
  candidates+=(/usr/local/cuda/include /usr/local/cuda/targets/x86_64-linux/include /usr/include)
fi
for d in "${candidates[@]}"; do
  if [ -f "$d/cuda.h" ] && [ -f "$d/cuda_runtime_api.h" ]; then
    cuda_inc=$(cd "$d" && pwd)
    break
  fi
done
if [ -z "$cuda_inc" ]; then
  echo "SKIP: no CUDA headers (cuda.h + cuda_runtime_api.h) in: ${candidates[*]}"
  exit 77
fi

# ---- the stub of PyTorch's generated c10/cuda/impl/cuda_cmake_macros.h --------------------------
# The real one (c10/cuda/impl/cuda_cmake_macros.h.in) holds only `#cmakedefine C10_CUDA_BUILD_SHARED_LIBS`,
# defined for the shared libc10_cuda that every PyTorch wheel ships; CUDAMacros.h includes it.
mkdir -p "$tmp/stub/c10/cuda/impl"
cat >"$tmp/stub/c10/cuda/impl/cuda_cmake_macros.h" <<'EOF'
#pragma once
// Stub written by tools/check-cuda-syntax.sh (Debian's libtorch-dev does not ship this header).
#define C10_CUDA_BUILD_SHARED_LIBS
EOF
added=(-DDEEPCLEAN_CUDA=1 -isystem "$tmp/stub" -isystem "$cuda_inc")

# ---- versions, and whether these LibTorch headers have c10/cuda --------------------------------
words_for "$template"
cat >"$tmp/probe.cpp" <<'EOF'
#if __has_include(<c10/cuda/CUDAStream.h>) && __has_include(<ATen/cuda/CUDAGraph.h>)
#include <torch/version.h>
#include <cuda.h>
DC_PROBE TORCH_VERSION CUDA_VERSION
#else
DC_PROBE none
#endif
EOF
if ! (cd "$cwd" && "${words[@]}" "${added[@]}" -E -P "$tmp/probe.cpp") >"$tmp/probe.i" 2>"$tmp/probe.err"; then
  cat "$tmp/probe.err" >&2
  echo "could not preprocess torch/version.h and cuda.h with the core/model flags" >&2
  exit 1
fi
torch_version='' cuda_version=''
read -r _ torch_version cuda_version < <(grep '^DC_PROBE' "$tmp/probe.i") || true
if [ -z "$torch_version" ]; then
  echo "the version probe printed nothing (see $tmp/probe.i)" >&2
  exit 1
fi
if [ "$torch_version" = none ]; then
  echo "SKIP: the LibTorch headers have no c10/cuda/CUDAStream.h or ATen/cuda/CUDAGraph.h"
  exit 77
fi
torch_version=${torch_version//\"/}
cuda_version="$((cuda_version / 1000)).$((cuda_version % 1000 / 10)) (CUDA_VERSION $cuda_version)"
echo "LibTorch headers: $torch_version (torch/version.h); CUDA headers: $cuda_version in $cuda_inc"

# ---- the check ---------------------------------------------------------------------------------
files=("$src_dir/core/model/cuda_runner.cpp")
while IFS= read -r f; do
  [ "$f" = "$src_dir/core/model/cuda_runner.cpp" ] || files+=("$f")
done < <(grep -l DEEPCLEAN_CUDA "$src_dir"/core/model/*.cpp)
for f in "${extra[@]}"; do
  files+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")")
done
# One compiler per file, all at once (each is a few seconds to ~25 s of torch headers); output is
# kept per file and printed in order.
pids=()
for i in "${!files[@]}"; do
  f=${files[$i]}
  if [ ! -f "$f" ]; then
    echo "no such file: $f" >"$tmp/out.$i"
    pids+=("")
    continue
  fi
  words_for "$f"
  (
    start=$SECONDS
    cd "$cwd"
    if "${words[@]}" "${added[@]}" -fsyntax-only "$f" >"$tmp/log.$i" 2>&1; then
      echo "ok    ${f#"$src_dir"/} ($((SECONDS - start)) s)" >"$tmp/out.$i"
    else
      { cat "$tmp/log.$i"; echo "FAIL  ${f#"$src_dir"/} (compiler errors above)"; } >"$tmp/out.$i"
      exit 1
    fi
  ) &
  pids+=($!)
done
failed=()
for i in "${!files[@]}"; do
  if [ -z "${pids[$i]}" ] || ! wait "${pids[$i]}"; then
    failed+=("${files[$i]}")
  fi
  cat "$tmp/out.$i"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "${#failed[@]} of ${#files[@]} CUDA-path files failed -fsyntax-only -DDEEPCLEAN_CUDA=1" \
       "against LibTorch $torch_version / CUDA $cuda_version"
  exit 1
fi
echo "all ${#files[@]} CUDA-path files pass -fsyntax-only -DDEEPCLEAN_CUDA=1 with the build's flags"
