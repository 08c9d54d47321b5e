#!/usr/bin/env bash
# Checks that tools/systemd-test.sh catches each finding of issue 23 again: for each, the package is
# repacked with the old setting put back (and the test's copy of the unit changed to match, so the
# byte-identity check passes), the test is run, and it must fail at the expected check.
# Usage: tools/systemd-test-mutations.sh DEB     (about 5 minutes; results: docs/operations.md)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
deb=$(realpath "$1")
scratch=$(mktemp -d /var/tmp/deepclean-mutations.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
failures=0

# mutate NAME EXPECTED-FAILURE-REGEX SED-ON-UNIT SED-ON-TMPFILES SED-ON-TEST
mutate() {
  local name=$1 expect=$2 unit_sed=$3 tmpfiles_sed=$4 test_sed=$5
  local tree="$scratch/$name"
  mkdir -p "$tree/tools" "$tree/systemd"
  sed -e "$test_sed" "$here/tools/systemd-test.sh" > "$tree/tools/systemd-test.sh"
  sed -e "$unit_sed" "$here/systemd/deepclean@.service" > "$tree/systemd/deepclean@.service"
  dpkg-deb -R "$deb" "$tree/pkg"
  cp "$tree/systemd/deepclean@.service" "$tree/pkg/lib/systemd/system/deepclean@.service"
  sed -i -e "$tmpfiles_sed" "$tree/pkg/usr/lib/tmpfiles.d/deepclean.conf"
  (cd "$tree/pkg" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | xargs -0 md5sum > DEBIAN/md5sums)
  dpkg-deb -b --root-owner-group "$tree/pkg" "$tree/deepclean.deb" > /dev/null
  local rc=0
  bash "$tree/tools/systemd-test.sh" "$tree/deepclean.deb" > "$tree/log" 2>&1 || rc=$?
  local got
  got=$(grep -m1 'FAIL:' "$tree/log" || true)
  if [ "$rc" = 1 ] && echo "$got" | grep -E "$expect" > /dev/null; then
    echo "mutation $name: caught: $got"
  else
    echo "mutation $name: NOT caught as expected (exit $rc): ${got:-no failure}"
    tail -5 "$tree/log"
    failures=$((failures + 1))
  fi
}

mutate ProcSubset=pid 'did not start' 's/^ProcSubset=all/ProcSubset=pid/' '' ''
mutate RemoveIPC=yes 'stop removed' 's/^RemoveIPC=no/RemoveIPC=yes/' '' ''
mutate /bin/kill '/bin/kill is not executable|reload failed' 's#^ExecReload=.*#ExecReload=/bin/kill -HUP $MAINPID#' '' ''
mutate insecure-memory 'alarming lines.*insecure memory' '' '' 's/ --capability=CAP_IPC_LOCK//'
mutate no-tmpfiles-output '/dev/shm/deepclean not made' '' '/^d \/dev\/shm\/deepclean /d' ''
echo "mutations not caught: $failures"
[ "$failures" = 0 ]
