#!/usr/bin/env bash
# Checks the shipped units offline, systemd/deepclean@.service and systemd/deepclean-retrain@.service:
# `systemd-analyze verify` must be silent and succeed, and the `systemd-analyze security` exposure must
# be at most 2.0 (issue 23). Usage: check-unit.sh BINARY
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
binary=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for unit in deepclean deepclean-retrain; do
  # Verify an instance whose Exec lines point at the freshly built binary (the man page of Documentation=
  # is checked where it is installed: tools/systemd-test.sh runs `systemd-analyze verify` in its container).
  sed "s#/usr/bin/deepclean#${binary}#g" "$here/systemd/$unit@.service" > "$tmp/$unit@H1.service"
  if ! out=$(systemd-analyze verify --man=no "$tmp/$unit@H1.service" 2>&1) || [ -n "$out" ]; then
    echo "$unit@.service: systemd-analyze verify failed:"; echo "$out"; exit 1
  fi
  report=$(systemd-analyze security --offline=yes "$tmp/$unit@H1.service" 2>&1 | tail -1)
  echo "$unit@.service: $report"
  exposure=$(echo "$report" | sed -n 's/.*level for [^:]*: \([0-9.]*\).*/\1/p')
  [ -n "$exposure" ] || { echo "$unit@.service: could not read the exposure level"; exit 1; }
  awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || { echo "$unit@.service: exposure $exposure > 2.0"; exit 1; }
  echo "$unit@.service OK: verify clean, exposure $exposure (target <= 2.0)"
done
