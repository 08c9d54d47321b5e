#!/usr/bin/env bash
# Writes deepclean(1) from the binary's own help with help2man: the top-level help, then one section per
# subcommand (its --help, and its sub-subcommands'), so the man page cannot drift from the program.
# Usage: make-manpage.sh BINARY OUT.1   (the Debian package build runs it; needs help2man)
set -euo pipefail
bin=$1
out=$2
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Subcommand names from the "Subcommands:" block of CLI11's help.
subcommands() { "$@" --help | awk '/^Subcommands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{on=0}'; }

{
  echo '[SUBCOMMANDS]'
  for sub in $(subcommands "$bin"); do
    echo ".SS \"deepclean $sub\""
    echo '.nf'
    "$bin" "$sub" --help | sed -e "s#$bin#deepclean#g" -e 's/\\/\\e/g; s/^\./\\\&./'
    echo '.fi'
    for subsub in $(subcommands "$bin" "$sub"); do
      echo ".SS \"deepclean $sub $subsub\""
      echo '.nf'
      "$bin" "$sub" "$subsub" --help | sed -e "s#$bin#deepclean#g" -e 's/\\/\\e/g; s/^\./\\\&./'
      echo '.fi'
    done
  done
  cat "$here/tools/manpage.h2m"
} > "$tmp/include.h2m"

help2man --no-info --no-discard-stderr --section=1 \
  --name="real-time DeepClean noise subtraction for gravitational-wave strain" \
  --include="$tmp/include.h2m" --output="$out" "$bin"
echo "make-manpage: wrote $out"
