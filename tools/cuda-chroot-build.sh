#!/usr/bin/env bash
# Compiles and links deepclean's CUDA path (-DDEEPCLEAN_CUDA=ON) against a real CUDA LibTorch on a
# machine with no GPU: Debian trixie's libtorch-cuda-dev 2.6 (contrib) and NVIDIA's CUDA 12.x
# libraries (non-free), in a debootstrapped trixie chroot, then runs the whole ctest there (the CPU
# tests in the CUDA-enabled binary; CudaRunner.* skip without a GPU). docs/gpu.md, section
# "Building the CUDA path without a GPU (Debian trixie chroot)", says what this proves and what not.
#
#   sudo tools/cuda-chroot-build.sh [STAGE...]
#     STAGE: chroot packages source build test   (default: all five, in this order)
#            umount                               (unmount what the stages mounted; also done on exit)
#
# Every stage is idempotent: `chroot` skips debootstrap when the chroot exists, `packages` installs
# only what is missing, `source` updates the clone, `build` is an incremental ninja build, `test`
# reruns ctest. Needs root (debootstrap, chroot, mount), debootstrap on the host (installed from the
# host's own Debian if missing) and deb.debian.org; nothing from trixie is installed on the host.
#
# Environment:
#   CHROOT=DIR       the chroot (/work/chroots/trixie-cuda)
#   MIRROR=URL       Debian mirror (http://deb.debian.org/debian)
#   LOG=FILE         everything this script and the tools it runs print ($CHROOT.log, appended)
#   DC_REPO=DIR      the repository to clone (this checkout)
#   DC_REV=REV       the commit to build (HEAD of DC_REPO)
#   DC_SRC=clone|worktree   clone: the committed DC_REV; worktree: a copy of DC_REPO's working
#                    tree (tracked + untracked, not ignored files) for trying uncommitted fixes
#   DC_SHARED=DIR    bind-mounted at /src/shared, i.e. ../shared of the checkout (/work/shared)
#   JOBS=N           ninja -j (2); the build runs under nice
#   DC_TARGETS="..." build only these (default: everything)
#   CTEST_ARGS="..." extra ctest arguments (e.g. "-L model")
#   DC_ONEDNN_ISA=ISA  ONEDNN_MAX_CPU_ISA for the tests (SSE41; empty: oneDNN's own choice), see
#                    stage_test: trixie's oneDNN miscomputes batched Conv1d on this machine's CPU
#   TORCH_CUDA_ARCH_LIST  passed to CMake (9.0: an H100; nothing is compiled for the GPU by us,
#                    it only keeps Torch's CMake from probing for a GPU)
#
# Inside the chroot: the source at /src/deepclean, the build in /src/deepclean/build, ../shared at
# /src/shared. cuDNN: libtorch-cuda-2.6 depends on `nvidia-cudnn`, a contrib package whose postinst
# downloads cuDNN from NVIDIA, which this workplace cannot reach; the license question is answered
# "I Decline" (so it downloads nothing) and a stub libcudnn.so.9.0.0 is built in its place from
# the cudnn* symbols libtorch_cuda imports, each aborting with a message if ever called (never,
# without a GPU). Our code does not call cuDNN directly.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHROOT=${CHROOT:-/work/chroots/trixie-cuda}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
LOG=${LOG:-$CHROOT.log}
DC_REPO=${DC_REPO:-$ROOT}
DC_REV=${DC_REV:-HEAD}
DC_SRC=${DC_SRC:-clone}
DC_SHARED=${DC_SHARED:-/work/shared}
JOBS=${JOBS:-2}
DC_TARGETS=${DC_TARGETS:-}
CTEST_ARGS=${CTEST_ARGS:-}
TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
DC_ONEDNN_ISA=${DC_ONEDNN_ISA-SSE41}
SRC=/src/deepclean          # inside the chroot
BUILD=$SRC/build
BIN=$BUILD/daemon/deepclean  # the binary

PACKAGES=(
  # the CUDA LibTorch and the CUDA toolkit its CMake config looks for
  libtorch-cuda-dev nvidia-cuda-toolkit nvidia-cuda-dev
  # toolchain and our other libraries (tools/install-deps.sh, trixie names)
  g++ cmake ninja-build pkgconf git ca-certificates
  libyaml-cpp-dev libspdlog-dev libfmt-dev libboost-dev libsystemd-dev libgcrypt20-dev prometheus-cpp-dev zlib1g-dev
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev libopenblas0-pthread
  # test oracles and test-model export (tools/fixtures/*.py: numpy, scipy, yaml, torch)
  python3 python3-numpy python3-scipy python3-yaml python3-torch-cuda python3-prometheus-client
  systemd  # systemd-analyze for the systemd.unit test
)

mkdir -p "$(dirname "$LOG")"
exec > >(tee -a "$LOG") 2>&1
log() { echo "[cuda-chroot $(date -u +%H:%M:%S)] $*"; }
die() { log "FAILED: $*"; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mount)"
in_chroot() { chroot "$CHROOT" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
                DEBIAN_FRONTEND=noninteractive "$@"; }

# ---- mounts (each only once; undone on exit) -----------------------------------------------------
MOUNTED=()
mount_one() {  # mount_one TARGET ARGS...
  local target=$CHROOT$1
  shift
  mkdir -p "$target"
  mountpoint -q "$target" && return 0
  mount "$@" "$target" || die "mount $* $target"
  MOUNTED+=("$target")
}
mount_all() {
  mount_one /proc -t proc proc
  mount_one /sys -t sysfs sys
  mount_one /dev --bind /dev
  mount_one /dev/pts --bind /dev/pts
  if [ -d "$DC_SHARED" ]; then
    mount_one /src/shared --bind "$DC_SHARED"
    mount -o remount,bind,ro "$CHROOT/src/shared" 2>/dev/null || true
  else
    log "no $DC_SHARED: tests that read ../shared will skip"
  fi
}
umount_all() {
  local i
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do umount "${MOUNTED[$i]}" 2>/dev/null || umount -l "${MOUNTED[$i]}"; done
  MOUNTED=()
}
stage_umount() {
  local m
  for m in /src/shared /dev/pts /dev /sys /proc; do
    mountpoint -q "$CHROOT$m" && { umount "$CHROOT$m" 2>/dev/null || umount -l "$CHROOT$m"; }
  done
  log "umount: nothing of ours mounted under $CHROOT"
}
trap umount_all EXIT

# ---- chroot --------------------------------------------------------------------------------------
stage_chroot() {
  if [ -x "$CHROOT/usr/bin/apt-get" ] && [ -f "$CHROOT/etc/debian_version" ]; then
    log "chroot: $CHROOT exists (Debian $(cat "$CHROOT/etc/debian_version"))"
  else
    command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; } ||
      die "installing debootstrap on the host"
    [ -f /usr/share/debootstrap/scripts/trixie ] || die "this debootstrap does not know trixie"
    log "chroot: debootstrap --variant=minbase trixie $CHROOT"
    mkdir -p "$(dirname "$CHROOT")"
    debootstrap --variant=minbase --components=main,contrib,non-free,non-free-firmware \
      trixie "$CHROOT" "$MIRROR" || die "debootstrap"
  fi
  cat > "$CHROOT/etc/apt/sources.list" <<EOF
deb $MIRROR trixie main contrib non-free non-free-firmware
deb $MIRROR trixie-updates main contrib non-free non-free-firmware
deb ${MIRROR%/debian}/debian-security trixie-security main contrib non-free non-free-firmware
EOF
  rm -f "$CHROOT/etc/apt/sources.list.d/debian.sources"
  cp /etc/resolv.conf "$CHROOT/etc/resolv.conf" 2>/dev/null || true
}

# ---- packages ------------------------------------------------------------------------------------
# A stand-in libcudnn.so.9 (see the header): every cudnn* symbol that a library in the chroot
# imports, each printing its name and aborting.
make_cudnn_stub() {
  local libdir=$CHROOT/usr/lib/x86_64-linux-gnu real
  real=$(readlink -f "$libdir/libcudnn.so.9")
  if [ -f "$real" ] && ! grep -q deepclean-cudnn-stub "$real" 2>/dev/null; then
    log "packages: $real is a real cuDNN: no stub"
    return 0
  fi
  local tmp=$CHROOT/tmp/cudnn-stub
  rm -rf "$tmp" && mkdir -p "$tmp"
  # Every library that needs libcudnn.so.9, and the cudnn symbols they leave undefined.
  local users
  users=$(in_chroot sh -c 'for f in /usr/lib/x86_64-linux-gnu/*.so.*; do
      [ -f "$f" ] && [ ! -L "$f" ] && objdump -p "$f" 2>/dev/null | grep -q "NEEDED *libcudnn\.so\.9" && echo "$f"; done')
  [ -n "$users" ] || die "no library in the chroot needs libcudnn.so.9 (unexpected)"
  log "packages: libraries needing libcudnn.so.9: $(echo $users)"
  # shellcheck disable=SC2086
  in_chroot nm -D --undefined-only $users | awk '{print $NF}' | sed 's/@.*//' | grep -E '^cudnn' | sort -u \
    > "$tmp/symbols.txt"
  {
    echo '/* deepclean-cudnn-stub: written by tools/cuda-chroot-build.sh. Not cuDNN. */'
    echo '#include <stdio.h>'
    echo '#include <stdlib.h>'
    echo 'static void dc_stub(const char* name) {'
    echo '  fprintf(stderr, "stub libcudnn.so.9 (deepclean chroot build, no cuDNN installed): %s called\n", name);'
    echo '  abort();'
    echo '}'
    while read -r s; do echo "void $s(void) { dc_stub(\"$s\"); }"; done < "$tmp/symbols.txt"
    echo 'const char deepclean_cudnn_stub_marker[] = "deepclean-cudnn-stub";'
  } > "$tmp/stub.c"
  # cuDNN's symbols are versioned (cudnnX@libcudnn.so.9): the stub defines the same version node.
  printf 'libcudnn.so.9 { global: cudnn*; deepclean_cudnn_stub_marker; local: *; };\n' > "$tmp/stub.map"
  in_chroot gcc -shared -fPIC -O1 -Wl,-soname,libcudnn.so.9 -Wl,--version-script=/tmp/cudnn-stub/stub.map \
    -o /tmp/cudnn-stub/libcudnn.so.9.0.0 /tmp/cudnn-stub/stub.c ||
    die "building the cuDNN stub"
  install -m 0644 "$tmp/libcudnn.so.9.0.0" "$libdir/libcudnn.so.9.0.0"
  in_chroot ldconfig
  log "packages: stub $libdir/libcudnn.so.9.0.0 with $(wc -l < "$tmp/symbols.txt") cudnn* symbols"
}

stage_packages() {
  [ -x "$CHROOT/usr/bin/apt-get" ] || die "no chroot at $CHROOT: run the chroot stage"
  # nvidia-cudnn's postinst would download cuDNN from NVIDIA (not reachable): decline its license,
  # so it installs only its script and symlinks.
  echo 'nvidia-cudnn nvidia-cudnn/question select I Decline' | in_chroot debconf-set-selections
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    in_chroot dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "packages: installing ${missing[*]}"
    in_chroot apt-get update -qq || die "apt-get update"
    in_chroot apt-get install -y -q --no-install-recommends "${missing[@]}" || die "apt-get install"
  else
    log "packages: all ${#PACKAGES[@]} present"
  fi
  make_cudnn_stub
  log "packages: versions"
  in_chroot dpkg-query -W -f='  ${Package} ${Version}\n' libtorch-cuda-dev libtorch-cuda-2.6 python3-torch-cuda \
    nvidia-cuda-toolkit nvidia-cuda-dev libcudart12 libcublas12 libcufft11 libnccl2 nvidia-cudnn libcuda1 \
    g++ gcc-14 cmake ninja-build libfmt-dev libspdlog-dev libyaml-cpp-dev libboost-dev prometheus-cpp-dev \
    libgtest-dev libbenchmark-dev python3 2>/dev/null
}

# ---- source --------------------------------------------------------------------------------------
stage_source() {
  local dst=$CHROOT$SRC
  if [ "$DC_SRC" = worktree ]; then
    log "source: copying the working tree of $DC_REPO (tracked + untracked, not ignored)"
    mkdir -p "$dst"
    (cd "$DC_REPO" && git ls-files -z --cached --others --exclude-standard |
       rsync -a --from0 --files-from=- ./ "$dst/") 2>/dev/null ||
      (cd "$DC_REPO" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$dst") ||
      die "copying the working tree"
  else
    local rev
    rev=$(git -C "$DC_REPO" rev-parse "$DC_REV") || die "no commit $DC_REV in $DC_REPO"
    if [ ! -d "$dst/.git" ]; then
      mkdir -p "$(dirname "$dst")"
      git clone -q --no-checkout "$DC_REPO" "$dst" || die "git clone"
    fi
    git -C "$dst" fetch -q "$DC_REPO" "$rev" && git -C "$dst" checkout -q --force --detach "$rev" ||
      die "checking out $rev"
    log "source: $SRC at $(git -C "$dst" log -1 --format='%h %s' | cut -c1-100)"
  fi
}

# ---- build ---------------------------------------------------------------------------------------
stage_build() {
  [ -f "$CHROOT$SRC/CMakeLists.txt" ] || die "no source in $CHROOT$SRC: run the source stage"
  local t0=$SECONDS
  log "build: configure (DEEPCLEAN_CUDA=ON, WERROR, RelWithDebInfo, TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST)"
  in_chroot cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DDEEPCLEAN_CUDA=ON -DDEEPCLEAN_WERROR=ON -DTORCH_CUDA_ARCH_LIST="$TORCH_CUDA_ARCH_LIST" ||
    die "configure"
  local targets=()
  [ -n "$DC_TARGETS" ] && read -r -a targets <<<"$DC_TARGETS"
  log "build: ninja -j$JOBS ${targets[*]:-(all)}"
  # shellcheck disable=SC2068
  # -k 0: report every failing translation unit in one pass, not just the first.
  in_chroot nice -n 10 cmake --build "$BUILD" -j "$JOBS" ${targets[@]:+--target ${targets[@]}} -- -k 0 ||
    die "build ($((SECONDS - t0)) s)"
  log "build: done in $((SECONDS - t0)) s"
  log "build: what libtorch the binary loads:"
  in_chroot ldd "$BIN" | grep -E 'torch|c10|cuda|cudnn|not found' | sed 's/^/  /'
}

# ---- test ----------------------------------------------------------------------------------------
stage_test() {
  [ -x "$CHROOT$BIN" ] || die "no $BIN: run the build stage"
  log "test: deepclean --version"
  in_chroot "$BIN" --version
  local t0=$SECONDS rc isa=()
  # trixie's oneDNN 3.7.2 (libdnnl3.6) computes a strided Conv1d over a batch of 2 differently
  # from the same rows one at a time (wrong values, or NaN) with its AVX2/AVX-512 kernels on the
  # dev machine's AMD EPYC; plain torch.nn.Conv1d in python3-torch-cuda shows it too, and with
  # ONEDNN_MAX_CPU_ISA=SSE41 (or oneDNN off) the rows agree. It breaks our load-time batch check,
  # the batching tests and the Python fixtures (docs/gpu.md). DC_ONEDNN_ISA sets that variable for
  # the whole run; the test models are cached per build tree, so they are remade when it changes.
  if [ -n "$DC_ONEDNN_ISA" ]; then isa=(ONEDNN_MAX_CPU_ISA="$DC_ONEDNN_ISA"); fi
  local stamp=$CHROOT$BUILD/tests/.onednn-isa
  if [ "$(cat "$stamp" 2>/dev/null)" != "isa=$DC_ONEDNN_ISA" ]; then
    rm -rf "$CHROOT$BUILD/tests/model_fixtures"
    echo "isa=$DC_ONEDNN_ISA" > "$stamp"
  fi
  log "test: ctest -j$JOBS $CTEST_ARGS ${isa[*]:-(oneDNN at its default ISA)}"
  # shellcheck disable=SC2086
  in_chroot "${isa[@]}" sh -c "cd $BUILD && nice -n 10 ctest --output-on-failure -j $JOBS $CTEST_ARGS"
  rc=$?
  log "test: ctest exit $rc after $((SECONDS - t0)) s"
  operator_checks
  return $rc
}

# What an operator sees with `device: cuda` on this machine (no GPU): the test model that ctest
# exported (build/tests/model_fixtures/*/bundle_c3) through `model info --load --device cuda`,
# `check-config` and `run` with a configuration that asks for cuda:0.
operator_checks() {
  local bundle
  bundle=$(cd "$CHROOT" && find ".$BUILD/tests/model_fixtures" -maxdepth 2 -name bundle_c3 -type d 2>/dev/null | head -1)
  if [ -z "$bundle" ]; then
    log "operator: no test bundle under $BUILD/tests/model_fixtures (ctest's model tests make it): skipped"
    return 0
  fi
  bundle=${bundle#.}
  log "operator: deepclean model info $bundle --load --device cuda"
  in_chroot "$BIN" model info "$bundle" --load --device cuda
  log "operator: exit $?"
  local d=/tmp/dc-cuda-operator
  in_chroot sh -c "rm -rf $d && mkdir -p $d/strain $d/witness $d/out && cat > $d/H1.yaml" <<EOF
ifo: H1
input:
  strain: {directory: $d/strain, frame_type: H1_llhoft, channel: H1:GDS-CALIB_STRAIN}
  witness: {directory: $d/witness, frame_type: H1_lldetchar}
output: {directory: $d/out, noise_channel: H1:GDS-CALIB_STRAIN_DEEPCLEAN_NOISE}
model: {bundle: $bundle, device: cuda:0, batch_size: 32}
inference: {kernel_seconds: 1, sampling_rate: 16, aggregation_seconds: 0.25}
bandpass: {method: window, memory_seconds: 2, look_ahead_seconds: 0.25}
subtraction: {taper_seconds: 0.25}
EOF
  log "operator: deepclean check-config (model.device cuda:0)"
  in_chroot "$BIN" check-config "$d/H1.yaml"
  log "operator: exit $?"
  log "operator: deepclean run (model.device cuda:0; 30 s limit)"
  in_chroot timeout 30 "$BIN" run --config "$d/H1.yaml"
  log "operator: exit $?"
}

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(chroot packages source build test)
log "stages: ${stages[*]} (chroot $CHROOT, log $LOG)"
rc=0
for s in "${stages[@]}"; do
  case $s in
    chroot) stage_chroot ;;
    packages) mount_all; stage_packages ;;
    source) stage_source ;;
    build) mount_all; stage_build ;;
    test) mount_all; stage_test || rc=$? ;;
    umount) umount_all; stage_umount ;;
    *) die "unknown stage $s (chroot packages source build test umount)" ;;
  esac
done
exit $rc
