#!/usr/bin/env bash
# Checks systemd/deepclean@.service offline: `systemd-analyze verify` must be silent and succeed,
# and the `systemd-analyze security` exposure must be at most 2.0 (issue 23). Usage: check-unit.sh BINARY
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
binary=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Verify an instance whose ExecStart points at the freshly built binary (the man page of Documentation= is
# checked where it is installed: tools/systemd-test.sh runs `systemd-analyze verify` in its container).
sed "s#/usr/bin/deepclean#${binary}#g" "$here/systemd/deepclean@.service" > "$tmp/deepclean@H1.service"
if ! out=$(systemd-analyze verify --man=no "$tmp/deepclean@H1.service" 2>&1) || [ -n "$out" ]; then
  echo "systemd-analyze verify failed:"; echo "$out"; exit 1
fi
report=$(systemd-analyze security --offline=yes "$tmp/deepclean@H1.service" 2>&1 | tail -1)
echo "$report"
exposure=$(echo "$report" | sed -n 's/.*level for [^:]*: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || { echo "could not read the exposure level"; exit 1; }
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || { echo "exposure $exposure > 2.0"; exit 1; }
echo "unit OK: verify clean, exposure $exposure (target <= 2.0)"
