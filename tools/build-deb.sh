#!/usr/bin/env bash
# Builds the Debian package (debian/, debhelper + CMake) from this tree, in a copy of it so that the
# work tree and its build folders are left alone, and checks it with lintian.
# Usage: tools/build-deb.sh [OUTDIR]   (default build-deb/; prints the path of the .deb last)
# Installs what it needs when run as root on Debian 12 (dpkg-dev, debhelper, lintian and the build
# dependencies of debian/control); otherwise says what is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$here/build-deb}")
src="$out/src/deepclean"
rm -rf "$out/src"
mkdir -p "$src"
# The tree as git sees it: tracked files and new files not ignored (no build folders).
if command -v git > /dev/null && git -C "$here" rev-parse --git-dir > /dev/null 2>&1; then
  (cd "$here" && git ls-files -z --cached --others --exclude-standard \
    | tar --null --ignore-failed-read -T - -cf -) | tar -C "$src" -xf -
else  # an unpacked source tarball, or no git: everything but build folders
  tar -C "$here" --exclude='./build*' --exclude='./obj-*' --exclude='./demo-output' -cf - . | tar -C "$src" -xf -
fi
cd "$src"
need_root() {
  [ "$(id -u)" = 0 ] || { echo "build-deb: missing $*; run as root, or: sudo apt-get install $*" >&2; exit 1; }
}
missing=()
for p in dpkg-dev debhelper fakeroot lintian; do
  dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  need_root "${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
fi
if ! unmet=$(dpkg-checkbuilddeps 2>&1); then
  need_root "the build dependencies (${unmet#*: })"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq --no-install-recommends "$src" > /dev/null
fi
echo "build-deb: dpkg-buildpackage in $src"
DEB_BUILD_OPTIONS="parallel=$(nproc) noautodbgsym ${DEB_BUILD_OPTIONS:-}" dpkg-buildpackage -b -us -uc > "$out/build.log" 2>&1 \
  || { tail -40 "$out/build.log"; echo "build-deb: dpkg-buildpackage failed (log: $out/build.log)"; exit 1; }
version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
mv "$out/src/deepclean_${version}_${arch}.deb" "$out/src/deepclean_${version}_${arch}.buildinfo" \
   "$out/src/deepclean_${version}_${arch}.changes" "$out/"

echo "build-deb: lintian"
# Tags left on purpose are overridden in debian/deepclean.lintian-overrides, each with its reason.
lintian --fail-on error,warning --display-info "$out/deepclean_${version}_${arch}.changes" | tee "$out/lintian.log"
echo "build-deb: $out/deepclean_${version}_${arch}.deb"
