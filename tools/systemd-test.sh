#!/usr/bin/env bash
# The Debian package and its unit under a real systemd: a Debian 12 root file system (debootstrap,
# cached), booted with `systemd-nspawn -b`, driven from outside with `nsenter`. Installs, runs,
# reloads, hangs, stops, restarts, reboots, upgrades and purges the package while
# `deepclean simulate --realtime` feeds it, and checks what an operator would see.
#
# Usage: tools/systemd-test.sh DEB
#   DEB: deepclean_<version>_<arch>.deb (tools/build-deb.sh makes it).
# Environment:
#   DEEPCLEAN_SYSTEMD_CACHE  where the root file systems are cached (default /var/cache/deepclean-systemd-test)
#   DEEPCLEAN_SYSTEMD_KEEP=1 keep the container's tree and logs after the run (printed at the end)
# Exit status: 0 all checks passed; 1 a check failed (the container's journal is printed); 77 this
# machine cannot run it (not root, no network namespace support), with the reason.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
deb=$(realpath "$1")
cache=${DEEPCLEAN_SYSTEMD_CACHE:-/var/cache/deepclean-systemd-test}
suite=bookworm
mirror=${DEEPCLEAN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
t0=$(date +%s)

say() { echo "systemd-test [$(( $(date +%s) - t0 ))s]: $*"; }
skip() { echo "systemd-test: SKIP: $*"; exit 77; }
checks=0
ok() { checks=$((checks + 1)); say "ok $checks: $*"; }

[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, systemd-nspawn, nsenter)"
for tool in debootstrap systemd-nspawn nsenter dpkg-deb; do
  command -v "$tool" > /dev/null || skip "$tool not installed (tools/install-deps.sh installs it)"
done

# ---- root file systems: base (debootstrap) and base + the package's dependencies, both cached -----
# Host-side nspawn without a container manager: no machined registration, stay in our own cgroup.
# nspawn keeps its state under /run/systemd/nspawn, which must be a tmpfs; on hosts whose /run is a
# plain directory (PID 1 is not systemd) a tmpfs is mounted there.
mkdir -p /run/systemd/nspawn
if ! [ "$(stat -f -c %T /run/systemd/nspawn)" = tmpfs ]; then
  mount -t tmpfs -o mode=0755 tmpfs /run/systemd/nspawn
fi
NSPAWN=(systemd-nspawn -q --register=no --keep-unit)

mkdir -p "$cache"
base="$cache/$suite-base"
if [ ! -f "$base/.complete" ]; then
  say "debootstrap $suite (minbase + systemd) into $base"
  rm -rf "$base"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus "$suite" "$base" "$mirror" \
    > "$cache/debootstrap.log" 2>&1 || { tail -20 "$cache/debootstrap.log"; exit 1; }
  # apt inside the tree uses the same mirror as debootstrap did.
  echo "deb $mirror $suite main" > "$base/etc/apt/sources.list"
  touch "$base/.complete"
fi

# The dependency layer: what `apt-get install --no-install-recommends ./deepclean.deb` installs, plus
# the package's Recommends, minus deepclean itself, keyed by the package's relationship fields. Without
# other packages' recommends the system stays minimal (no procps: /bin/kill is absent, as the issue found).
key=$( (echo v2; dpkg-deb -f "$deb" Depends; dpkg-deb -f "$deb" Recommends; date +%G-%V) | sha256sum | cut -c1-16)
deps="$cache/$suite-deps-$key"
if [ ! -f "$deps/.complete" ]; then
  say "installing the package's dependencies into $deps"
  rm -rf "$deps" "$cache/$suite-deps-"*
  cp -a "$base" "$deps"
  rm -f "$deps/.complete"
  cp "$deb" "$deps/root/"
  recommends=$(dpkg-deb -f "$deb" Recommends | tr ',' '\n' | sed 's/[|(].*//; s/ //g')
  "${NSPAWN[@]}" -D "$deps" --pipe bash -c "
    set -e
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    pkgs=\$(apt-get install -s --no-install-recommends /root/$(basename "$deb") | awk '/^Inst / && \$2 != \"deepclean\" {print \$2}')
    apt-get install -y -qq --no-install-recommends \$pkgs $recommends > /dev/null
    apt-get clean
    rm -f /root/*.deb" > "$cache/deps.log" 2>&1 || { tail -20 "$cache/deps.log"; exit 1; }
  touch "$deps/.complete"
fi

# ---- the container ----------------------------------------------------------------------------
work=$(mktemp -d /var/tmp/deepclean-systemd-test.XXXXXX)
root="$work/root"
nspawn_pid=""
CPID=""
journal_dump() {
  [ -n "$CPID" ] && [ -d "/proc/$CPID" ] || return 0
  echo "---- container journal (deepclean units, last 80 lines) ----"
  ct journalctl --no-pager -o short-monotonic -n 80 -u 'deepclean@*' 2>&1 || true
}
fail() {
  echo "systemd-test: FAIL: $*" >&2
  journal_dump >&2
  exit 1
}
cleanup() {
  local rc=$?
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2> /dev/null; then
    kill -TERM "$nspawn_pid" 2> /dev/null || true  # nspawn asks the container's systemd to power off
    for _ in $(seq 1 100); do kill -0 "$nspawn_pid" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$nspawn_pid" 2> /dev/null || true
  fi
  if [ "${DEEPCLEAN_SYSTEMD_KEEP:-0}" = 1 ]; then
    echo "systemd-test: kept $work"
  else
    rm -rf "$work"
  fi
  exit $rc
}
trap cleanup EXIT

say "copying the cached root file system"
cp -a "$deps" "$root"
echo deepclean-test > "$root/etc/hostname"
cp "$deb" "$root/root/"

ct() { nsenter -t "$CPID" -a -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

# The container stands in for a host: its own network namespace (systemd then sets up the loopback of
# the unit's PrivateNetwork=, which needs CAP_NET_ADMIN there) and CAP_IPC_LOCK, without which nspawn's
# seccomp filter refuses mlock(2) to every process, which a host does not (libgcrypt, loaded by
# LibTorch's dependencies, then prints "Warning: using insecure memory!").
boot() {
  "${NSPAWN[@]}" -D "$root" -M deepclean-test -b --console=pipe --private-network --capability=CAP_IPC_LOCK > "$work/console-$1.log" 2>&1 < /dev/null &
  nspawn_pid=$!
  CPID=""
  for _ in $(seq 1 300); do
    for child in $(pgrep -P "$nspawn_pid" || true); do
      [ "$(cat "/proc/$child/comm" 2> /dev/null)" = systemd ] && CPID=$child
    done
    [ -n "$CPID" ] && break
    kill -0 "$nspawn_pid" 2> /dev/null || { cat "$work/console-$1.log"; fail "systemd-nspawn exited"; }
    sleep 0.1
  done
  [ -n "$CPID" ] || fail "the container's systemd did not start"
  local state=""
  for _ in $(seq 1 120); do  # the bus appears a moment after PID 1; then wait for the boot to finish
    if [ "${2:-}" = no-wait ]; then
      state=$(ct systemctl is-system-running 2>&1 || true)
      case "$state" in starting | running | degraded) break ;; esac
    else
      state=$(ct systemctl is-system-running --wait 2>&1 || true)
      case "$state" in running | degraded | maintenance | stopping) break ;; esac
    fi
    sleep 0.5
  done
  say "booted ($1): container PID 1 is host PID $CPID, system $state"
  [ "${2:-}" = no-wait ] && return 0
  [ "$state" = running ] || { ct systemctl --failed --no-pager || true; fail "system is $state after boot"; }
}

# Waits up to $1 s for the command "${@:2}" to succeed.
wait_for() {
  local limit=$1
  shift
  for _ in $(seq 1 $((limit * 5))); do
    "$@" && return 0
    sleep 0.2
  done
  return 1
}

# grep that reads its whole input: `grep -q` stops early, and under pipefail the writer's SIGPIPE fails
# the pipeline although the line was found.
contains() { grep "$@" > /dev/null; }
prop() { ct systemctl show -p "$2" --value "$1"; }
prop_is() { [ "$(prop "$1" "$2")" = "$3" ]; }                     # prop_is UNIT PROPERTY VALUE
prop_above() { [ "$(prop "$1" "$2")" -gt "$3" ]; }                # prop_above UNIT PROPERTY NUMBER
has_frames() { [ "$(gps_list "$1" | wc -l)" -ge "${2:-1}" ]; }   # has_frames DIR [COUNT]
journal_has() { journal_since "$1" "$2" | contains "$3"; }         # journal_has UNIT CURSORFILE REGEX
# failed_start UNIT WHY: starting UNIT must fail. Sets msg (the unit's journal lines of that try), result and
# main_pid (of the failed start), then stops the unit (Restart=on-failure would try again in 5 s) and
# resets it.
failed_start() {
  cursor "$work/cursor-failed-start"
  if ct systemctl start "$1" > /dev/null 2>&1; then fail "$1 started $2"; fi
  msg=$(journal_since "$1" "$work/cursor-failed-start")
  result=$(prop "$1" Result)
  main_pid=$(prop "$1" ExecMainPID)
  ct systemctl stop "$1"
  ct systemctl reset-failed "$1" 2> /dev/null || true
}
gps_list() { ct sh -c "ls $1 2> /dev/null" | sed -n 's/.*-\([0-9]\{9,10\}\)-1\.gwf$/\1/p' | sort -n; }
# The journal lines of a unit (MESSAGE only) since a cursor file's position.
journal_since() { ct journalctl --no-pager -o cat -u "$1" --after-cursor "$(cat "$2")"; }
cursor() { ct journalctl --no-pager -n 0 --show-cursor | sed -n 's/^-- cursor: //p' > "$1"; }

boot first

# ---- install ----------------------------------------------------------------------------------
say "installing $(basename "$deb")"
ct dpkg -i "/root/$(basename "$deb")" > "$work/install.log" 2>&1 || { cat "$work/install.log"; fail "dpkg -i failed"; }
ct getent passwd deepclean | contains ':/var/lib/deepclean:/usr/sbin/nologin$' || fail "no deepclean system user"
ct id -nG deepclean | grep -qw video || fail "deepclean is not in group video"
[ "$(ct stat -c %U:%a /dev/shm/deepclean)" = deepclean:755 ] || fail "/dev/shm/deepclean not made by tmpfiles.d"
ct getfacl -p /var/lib/prometheus/node-exporter 2> /dev/null | contains '^user:deepclean:rwx' \
  || ct sh -c 'su -s /bin/sh deepclean -c "touch /var/lib/prometheus/node-exporter/.w && rm /var/lib/prometheus/node-exporter/.w"' \
  || fail "the service user cannot write the metrics directory"
cmp -s "$root/lib/systemd/system/deepclean@.service" "$here/systemd/deepclean@.service" \
  || fail "the installed unit differs from systemd/deepclean@.service"
ct test -x /bin/sh || fail "no /bin/sh for ExecReload"
if ct test -e /bin/kill; then fail "/bin/kill exists: the container is not the minimal system the unit must work on"; fi
for f in /usr/bin/deepclean /etc/deepclean/H1.yaml /etc/deepclean/L1.yaml /usr/share/man/man1/deepclean.1.gz \
  /usr/share/doc/deepclean/examples/demo-H1.yaml /usr/share/deepclean/demo/bundle/model.pt; do
  ct test -e "$f" || fail "the package did not install $f"
done
ct sh -c 'MANWIDTH=100 zcat /usr/share/man/man1/deepclean.1.gz' | contains 'deepclean run' || fail "man page lacks the subcommands"
if grep -qiE 'fail|error|warning' "$work/install.log"; then fail "install printed a failure: $(cat "$work/install.log")"; fi
verify=$(ct systemd-analyze verify --man=no deepclean@H1.service 2>&1) || fail "systemd-analyze verify in the container: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify in the container is not silent: $verify"
ok "install: user, groups, tmpfiles directories, metrics ACL, unit identical to systemd/deepclean@.service, conffiles, man page, systemd-analyze verify silent (every Exec*= command present)"

# ---- a missing configuration: ExecStartPre fails with one line naming the file and the examples ----
failed_start deepclean@X1 "without /etc/deepclean/X1.yaml"
echo "$msg" | contains '/etc/deepclean/X1.yaml: cannot open the configuration file: No such file.*/usr/share/doc/deepclean/examples/' \
  || fail "the missing-configuration error does not name the file and the examples: $msg"
[ "$result" = exit-code ] && [ "$main_pid" = 0 ] \
  || fail "deepclean@X1 did not fail in ExecStartPre (Result $result, main PID $main_pid)"
ok "missing /etc/deepclean/X1.yaml: start fails in ExecStartPre: $(echo "$msg" | grep X1.yaml | head -1)"

# ---- the shipped H1.yaml (its bundle absent): check-config stops the start with the reason --------
failed_start deepclean@H1 "with the site example's absent bundle"
echo "$msg" | contains 'H1.yaml: model.bundle: .*/etc/deepclean/models/H1-60Hz' \
  || fail "check-config's reason is not in the journal: $msg"
ok "failing check-config stops the start, reason in the journal: $(echo "$msg" | grep 'model.bundle' | head -1)"

# ---- the demo configuration under the shipped unit, fed in real time -----------------------------
# The frame source's directories exist at every boot, as a site's frame distribution makes them.
printf 'd /dev/shm/kafka/%s 0755 root root -\nd /dev/shm/lldetchar/%s 0755 root root -\n' H1 H1 L1 L1 \
  > "$root/etc/tmpfiles.d/frames.conf"
ct systemd-tmpfiles --create /etc/tmpfiles.d/frames.conf
ct cp /usr/share/doc/deepclean/examples/demo-H1.yaml /etc/deepclean/H1.yaml
ct sed -i 's/^  retention_seconds: .*/  retention_seconds: 0/' /etc/deepclean/H1.yaml
# An L1 instance: the demo model with L1's channel names, fed by an L1 simulator.
ct sh -c 'mkdir -p /var/lib/deepclean-models && cp -r /usr/share/deepclean/demo/bundle /var/lib/deepclean-models/L1-demo &&
  sed -i "s/H1:/L1:/g" /var/lib/deepclean-models/L1-demo/bundle.yaml &&
  sed -e "s/H1/L1/g" -e "s#/usr/share/deepclean/demo/bundle#/var/lib/deepclean-models/L1-demo#" /etc/deepclean/H1.yaml > /etc/deepclean/L1.yaml'

simulate() {  # simulate IFO: the README's simulator command (a transient unit in the container), for IFO
  ct systemctl stop "sim-$1" > /dev/null 2>&1 || true
  ct systemctl reset-failed "sim-$1" > /dev/null 2>&1 || true
  ct systemd-run -q --unit="sim-$1" -p Type=exec deepclean simulate --out /dev/shm --ifo "$1" --start now \
    --duration 0 --realtime --quiet
}
simulate H1
wait_for 10 has_frames /dev/shm/kafka/H1 || fail "the simulator publishes nothing"

cursor "$work/c2"
ct systemctl enable deepclean@H1 > /dev/null 2>&1
ct systemctl start deepclean@H1 || fail "deepclean@H1 did not start"
[ "$(prop deepclean@H1 ActiveState)" = active ] || fail "deepclean@H1 not active after start"
msgs=$(ct journalctl --no-pager -o cat --after-cursor "$(cat "$work/c2")")
ready_line=$(echo "$msgs" | grep -n 'input: strain /dev/shm/kafka/H1' | head -1 | cut -d: -f1)
started_line=$(echo "$msgs" | grep -n '^Started deepclean@H1.service' | head -1 | cut -d: -f1)
[ -n "$ready_line" ] && [ -n "$started_line" ] && [ "$ready_line" -lt "$started_line" ] \
  || fail "the unit was active before the daemon was ready (ready line $ready_line, Started line $started_line)"
load_line=$(echo "$msgs" | grep -n 'deepclean .* run: H1' | head -1 | cut -d: -f1)
[ -n "$load_line" ] && [ "$load_line" -lt "$started_line" ] || fail "model loaded after the unit became active"
ok "Type=notify: 'Started' (line $started_line) only after the model load (line $load_line) and the input watch (line $ready_line)"

wait_for 20 has_frames /dev/shm/deepclean/H1 \
  || fail "no output frame 20 s after start"
status_is_cleaning() { prop deepclean@H1 StatusText | contains '^cleaning: last input GPS'; }
wait_for 10 status_is_cleaning || fail "STATUS= is not the cleaning line: $(prop deepclean@H1 StatusText)"
ok "STATUS line: $(prop deepclean@H1 StatusText)"

# Priorities: the daemon's informational lines at 6; at a clean start no line of the service's processes
# (check-config, the daemon, and whatever its libraries print on stderr, which the journal files at 6)
# at warning or worse, nor one that reads like an alarm.
journal_fields() {  # journal_fields UNIT CURSORFILE: "PRIORITY IDENTIFIER MESSAGE" per line
  ct journalctl --no-pager -o json -u "$1" --after-cursor "$(cat "$2")" | python3 -c 'import json, sys
for line in sys.stdin:
    e = json.loads(line)
    print(e.get("PRIORITY"), e.get("SYSLOG_IDENTIFIER"), e.get("MESSAGE"))'
}
prios=$(journal_fields deepclean@H1 "$work/c2")
echo "$prios" | contains '^6 deepclean deepclean .* run: H1' || fail "the daemon's start line is not at priority 6: $prios"
alarming=$(echo "$prios" | awk '$2 != "systemd" && ($1 <= 4 || tolower($0) ~ /warn|error|fail|insecure|cannot/)' || true)
[ -z "$alarming" ] || fail "start-up logged alarming lines: $alarming"
ok "journal: daemon lines at priority 6 (info); no warning, error or alarming line from start-up ($(echo "$prios" | awk '$2 != "systemd"' | wc -l) lines)"

# ---- reload: a change applied, a broken file refused with the reason -----------------------------
cursor "$work/c3"
# (demo-H1.yaml's band-pass: fir, look-ahead 0.4375 s; 0.375 s is whole samples at the bundle's 512 Hz)
ct sed -i 's/^  look_ahead_seconds: 0.4375/  look_ahead_seconds: 0.375/' /etc/deepclean/H1.yaml
ct grep -q '^  look_ahead_seconds: 0.375' /etc/deepclean/H1.yaml || fail "the test's edit of H1.yaml did not apply"
ct systemctl reload deepclean@H1 || fail "systemctl reload failed"
wait_for 30 journal_has deepclean@H1 "$work/c3" '^reloaded /etc/deepclean/H1.yaml' \
  || fail "the reload was not applied: $(journal_since deepclean@H1 "$work/c3")"
ok "reload applied: $(journal_since deepclean@H1 "$work/c3" | grep '^reloaded' | head -1 | cut -c1-160)"
cursor "$work/c4"
ct sed -i 's/^  look_ahead_seconds: 0.375/  look_ahead_seconds: -3/' /etc/deepclean/H1.yaml
ct systemctl reload deepclean@H1 || fail "systemctl reload of a broken file failed to signal"
wait_for 30 journal_has deepclean@H1 "$work/c4" '^reload rejected: .*look_ahead_seconds' \
  || fail "the broken reload was not refused with the reason: $(journal_since deepclean@H1 "$work/c4")"
[ "$(prop deepclean@H1 ActiveState)" = active ] || fail "a rejected reload stopped the service"
journal_fields deepclean@H1 "$work/c4" | contains '^3 deepclean reload rejected: ' \
  || fail "the rejected reload is not logged at priority 3 (error)"
ok "broken reload refused at priority 3 (error), service active: $(journal_since deepclean@H1 "$work/c4" | grep '^reload rejected' | head -1 | cut -c1-160)"
ct sed -i 's/^  look_ahead_seconds: -3/  look_ahead_seconds: 0.4375/' /etc/deepclean/H1.yaml
ct systemctl reload deepclean@H1

# ---- the watchdog restarts a hung daemon --------------------------------------------------------
pid=$(prop deepclean@H1 MainPID)
restarts=$(prop deepclean@H1 NRestarts)
say "SIGSTOP to the daemon (PID $pid in the container); WatchdogSec=$(prop deepclean@H1 WatchdogUSec)"
ct systemctl kill --kill-who=main --signal=SIGSTOP deepclean@H1
wait_for 90 prop_above deepclean@H1 NRestarts "$restarts" \
  || fail "the watchdog did not restart the hung daemon"
wait_for 60 prop_is deepclean@H1 ActiveState active \
  || fail "not active again after the watchdog restart"
ct journalctl --no-pager -o cat -u deepclean@H1 | contains 'Watchdog timeout' || fail "no watchdog timeout in the journal"
ok "watchdog: hung daemon killed and restarted (NRestarts $restarts -> $(prop deepclean@H1 NRestarts), new PID $(prop deepclean@H1 MainPID))"

# ---- stop and restart lose nothing and keep the output directory ---------------------------------
before=$(gps_list /dev/shm/deepclean/H1 | wc -l)
ct systemctl stop deepclean@H1
ct test -d /dev/shm/deepclean/H1 || fail "systemctl stop removed the output directory"
after=$(gps_list /dev/shm/deepclean/H1 | wc -l)
[ "$after" -ge "$before" ] || fail "systemctl stop removed output frames ($before before, $after after)"
ok "stop: output directory and its $after frames kept (RemoveIPC=no)"
sleep 3
ct systemctl start deepclean@H1 || fail "start after stop failed"
sleep 3
ct systemctl restart deepclean@H1 || fail "restart failed"

# ---- L1 beside H1 -------------------------------------------------------------------------------
simulate L1
wait_for 10 has_frames /dev/shm/kafka/L1 || fail "the L1 simulator publishes nothing"
ct systemctl start deepclean@L1 || fail "deepclean@L1 did not start"
wait_for 30 has_frames /dev/shm/deepclean/L1 5 \
  || fail "deepclean@L1 writes no output"
n_h1=$(gps_list /dev/shm/deepclean/H1 | wc -l)
sleep 5
[ "$(gps_list /dev/shm/deepclean/H1 | wc -l)" -gt "$n_h1" ] || fail "H1 stopped cleaning while L1 runs"
[ "$(prop deepclean@H1 ActiveState)/$(prop deepclean@L1 ActiveState)" = active/active ] || fail "H1 and L1 not both active"
ct test -s /var/lib/prometheus/node-exporter/deepclean_H1.prom || fail "no H1 metrics file"
ct test -s /var/lib/prometheus/node-exporter/deepclean_L1.prom || fail "no L1 metrics file"
ok "deepclean@H1 and deepclean@L1 side by side, each with its own output and metrics file"
# One instance stalled (SIGSTOP), then crashed (SIGKILL): the other cleans on untouched, and systemd
# restarts the crashed one.
l1_restarts=$(prop deepclean@L1 NRestarts)
h1_pid=$(prop deepclean@H1 MainPID)
ct systemctl kill --kill-who=main --signal=SIGSTOP deepclean@L1
n_h1=$(gps_list /dev/shm/deepclean/H1 | wc -l)
sleep 5
[ "$(gps_list /dev/shm/deepclean/H1 | wc -l)" -gt "$n_h1" ] || fail "H1 stopped cleaning while L1 was stalled"
ct systemctl kill --kill-who=main --signal=SIGKILL deepclean@L1
wait_for 60 prop_above deepclean@L1 NRestarts "$l1_restarts" || fail "systemd did not restart the killed L1"
wait_for 60 prop_is deepclean@L1 ActiveState active || fail "L1 not active again after the kill"
n_h1=$(gps_list /dev/shm/deepclean/H1 | wc -l)
sleep 3
[ "$(gps_list /dev/shm/deepclean/H1 | wc -l)" -gt "$n_h1" ] || fail "H1 stopped cleaning after L1 was killed"
[ "$(prop deepclean@H1 MainPID)" = "$h1_pid" ] || fail "killing L1 restarted H1"
ok "deepclean@L1 stalled 5 s, then killed: H1 cleaned on (same PID $h1_pid), L1 restarted by systemd (NRestarts $l1_restarts -> $(prop deepclean@L1 NRestarts))"

# ---- an output directory the unit cannot write: check-config names the path and the drop-in ------
# /srv/cleaned/T1 belongs to the service user but ProtectSystem=strict makes it read-only for the unit.
ct sh -c 'install -d -o deepclean -g deepclean /srv/cleaned/T1 &&
  sed -e "s#/dev/shm/deepclean/H1#/srv/cleaned/T1#" -e "s#deepclean_H1.prom#deepclean_T1.prom#" /etc/deepclean/H1.yaml > /etc/deepclean/T1.yaml'
failed_start deepclean@T1 "with a read-only output directory"
msg=$(echo "$msg" | grep 'output directory' | head -1)
echo "$msg" | contains 'T1.yaml: output directory /srv/cleaned/T1 is not writable or creatable (checked /srv/cleaned/T1: Read-only file system)' \
  || fail "check-config does not say why /srv/cleaned/T1 cannot be written: $msg"
dropin=$(echo "$msg" | sed -n 's/.*`systemctl edit \(deepclean@T1\)`, with the lines `\[Service\]` and `\(ReadWritePaths=[^`]*\)`.*/\1 \2/p')
[ "$dropin" = "deepclean@T1 ReadWritePaths=/srv/cleaned/T1" ] || fail "check-config does not name the drop-in: $msg"
# The drop-in it names, as `systemctl edit` would write it, makes the start succeed.
mkdir -p "$root/etc/systemd/system/deepclean@T1.service.d"
printf '[Service]\nReadWritePaths=/srv/cleaned/T1\n' > "$root/etc/systemd/system/deepclean@T1.service.d/override.conf"
ct systemctl daemon-reload
ct systemctl start deepclean@T1 || fail "deepclean@T1 does not start with the drop-in check-config named"
wait_for 20 has_frames /srv/cleaned/T1 2 || fail "deepclean@T1 writes nothing to /srv/cleaned/T1 with the drop-in"
ct systemctl stop deepclean@T1
ok "read-only output directory: check-config names it and the drop-in; with that drop-in the instance cleans into it"

# ---- every input second cleaned into exactly one frame ------------------------------------------
ct systemctl stop sim-H1 sim-L1
sleep 6   # the timeout (2 s) and the stall rule end the segments, writing the held-back seconds
for ifo in H1 L1; do
  gps_list "/dev/shm/kafka/$ifo" > "$work/in-$ifo"
  gps_list "/dev/shm/deepclean/$ifo" > "$work/out-$ifo"
  first=$(head -1 "$work/out-$ifo")
  awk -v f="$first" '$1 >= f' "$work/in-$ifo" > "$work/in-$ifo-from"
  diff "$work/in-$ifo-from" "$work/out-$ifo" > "$work/diff-$ifo" \
    || fail "$ifo: input and output seconds differ from GPS $first on: $(head -5 "$work/diff-$ifo")"
  dups=$(ct sh -c "ls /dev/shm/deepclean/$ifo" | sed -n 's/.*-\([0-9]*\)-1\.gwf$/\1/p' | sort | uniq -d | wc -l)
  [ "$dups" = 0 ] || fail "$ifo: a second was written twice"
  ok "$ifo: $(wc -l < "$work/out-$ifo") input seconds from GPS $first, each cleaned into exactly one frame$([ "$ifo" = H1 ] && echo ' (through a watchdog kill, stop, start and restart)')"
done
ct deepclean frame verify "/dev/shm/deepclean/H1/$(ct ls /dev/shm/deepclean/H1 | tail -1)" > /dev/null \
  || fail "the last H1 output frame does not verify"

# ---- upgrade: configuration, state and output kept; running instances restarted --------------------
version=$(dpkg-deb -f "$deb" Version)
up="$work/upgrade"
dpkg-deb -R "$deb" "$up"
sed -i "s/^Version: .*/Version: ${version}+upgradetest1/" "$up/DEBIAN/control"
dpkg-deb -b --root-owner-group "$up" "$root/root/deepclean-upgrade.deb" > /dev/null
simulate H1
sleep 4
pid=$(prop deepclean@H1 MainPID)
n_before=$(gps_list /dev/shm/deepclean/H1 | wc -l)
conf_sum=$(ct md5sum /etc/deepclean/H1.yaml)
ct sh -c 'date > /var/lib/deepclean/upgrade-marker'   # state the service user's home holds
ct dpkg -i --force-confold /root/deepclean-upgrade.deb > "$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; fail "upgrade failed"; }
[ "$(ct dpkg-query -W -f '${Version}' deepclean)" = "${version}+upgradetest1" ] || fail "not upgraded"
[ "$(ct md5sum /etc/deepclean/H1.yaml)" = "$conf_sum" ] || fail "the upgrade changed the edited /etc/deepclean/H1.yaml"
[ "$(prop deepclean@H1 ActiveState)" = active ] || fail "deepclean@H1 not active after the upgrade"
[ "$(prop deepclean@H1 MainPID)" != "$pid" ] || fail "the upgrade did not restart deepclean@H1"
[ "$(gps_list /dev/shm/deepclean/H1 | wc -l)" -ge "$n_before" ] || fail "the upgrade lost output frames"
ct test -f /var/lib/deepclean/upgrade-marker || fail "the upgrade removed the state directory's contents"
ok "upgrade to ${version}+upgradetest1: edited conffile and state directory kept, output kept ($n_before+ frames), running instance restarted"

# ---- reboot: tmpfiles remakes /dev/shm/deepclean; the enabled instance waits for its input -----------
# After a reboot /dev/shm is empty. Without the frame source's tmpfiles entry the input directories
# appear only when the source starts, after deepclean@H1: the service waits for them (activating, with
# a STATUS naming them) instead of failing into systemd's start limit.
ct systemctl stop sim-H1 > /dev/null 2>&1 || true
rm -f "$root/etc/tmpfiles.d/frames.conf"
say "rebooting the container"
ct systemctl reboot || true
wait "$nspawn_pid" || true   # nspawn exits when its container reboots; start it again like a host would
boot second no-wait
waiting_status() { prop deepclean@H1 StatusText | contains '^waiting for input directory /dev/shm/kafka/H1, /dev/shm/lldetchar/H1'; }
wait_for 60 waiting_status || fail "deepclean@H1 does not wait for its input after the reboot: $(prop deepclean@H1 ActiveState) '$(prop deepclean@H1 StatusText)'"
state="$(prop deepclean@H1 ActiveState)/$(prop deepclean@H1 SubState)"
[ "$state" = activating/start ] || fail "deepclean@H1 is $state while waiting for its input"
[ "$(ct stat -c %U /dev/shm/deepclean)" = deepclean ] || fail "/dev/shm/deepclean not made again at boot"
ok "reboot: /dev/shm/deepclean remade by tmpfiles.d; deepclean@H1 $state, STATUS '$(prop deepclean@H1 StatusText)'"
sleep 12   # longer than RestartSec x the start limit would allow for failed starts
[ "$(prop deepclean@H1 NRestarts)" = 0 ] || fail "deepclean@H1 restarted while waiting for its input"
simulate H1
wait_for 60 prop_is deepclean@H1 ActiveState active || fail "deepclean@H1 not active once its input appeared"
wait_for 30 has_frames /dev/shm/deepclean/H1 3 || fail "deepclean@H1 cleans nothing after the reboot"
ok "reboot: the input appeared, deepclean@H1 active and cleaning, no restart ($(gps_list /dev/shm/deepclean/H1 | wc -l) frames)"
ct systemctl is-system-running --wait > /dev/null 2>&1 || true

# ---- retraining: deepclean-retrain@H1 beside deepclean@H1, at low priority, publishes a cycle's result ----
# H1 with a model repository (its first production is model.bundle) and a training archive of 8-s
# chunks; the retrain unit fine-tunes on the first 40 s archived (1 epoch, 1 thread) and then waits
# for the cadence. Either outcome of the judgement is a working unit; both go to the journal.
ct systemctl stop deepclean@H1
ct sh -c 'cat >> /etc/deepclean/H1.yaml <<YAML
models: {repository: /var/lib/deepclean/models/H1}
training_archive: {directory: /var/lib/deepclean/archive/H1, chunk_seconds: 8}
retrain: {span_seconds: 40, min_span_seconds: 32, held_out_fraction: 0.25, epochs: 1, cadence_seconds: 100000,
          poll_seconds: 2, threads: 1}
YAML'
ct install -d -o deepclean -g deepclean /var/lib/deepclean/models/H1
cmp -s "$root/lib/systemd/system/deepclean-retrain@.service" "$here/systemd/deepclean-retrain@.service" \
  || fail "the installed retrain unit differs from systemd/deepclean-retrain@.service"
verify=$(ct systemd-analyze verify --man=no deepclean-retrain@H1.service 2>&1) || fail "systemd-analyze verify deepclean-retrain@H1: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify deepclean-retrain@H1 is not silent: $verify"
cursor "$work/c9"
ct systemctl start deepclean@H1 || fail "deepclean@H1 did not start with a repository and a training archive"
ct systemctl start deepclean-retrain@H1 || fail "deepclean-retrain@H1 did not start"
wait_for 20 journal_has deepclean-retrain@H1 "$work/c9" '^retrain: waiting: ' \
  || fail "deepclean-retrain@H1 does not say what it waits for: $(journal_since deepclean-retrain@H1 "$work/c9")"
rpid=$(prop deepclean-retrain@H1 MainPID)
[ "$(ct cat "/proc/$rpid/stat" | awk '{print $19}')" = 15 ] || fail "the retrain process does not run at nice 15"
prop_is deepclean-retrain@H1 CPUWeight 10 && prop_is deepclean-retrain@H1 IOSchedulingClass 3 \
  || fail "deepclean-retrain@H1: CPUWeight $(prop deepclean-retrain@H1 CPUWeight), I/O class $(prop deepclean-retrain@H1 IOSchedulingClass)"
cycle_done() { journal_has deepclean-retrain@H1 "$work/c9" '^retrain: \(published\|not published\): '; }
wait_for 240 cycle_done || fail "no retrain cycle ended within 240 s: $(journal_since deepclean-retrain@H1 "$work/c9" | tail -20)"
journal_since deepclean-retrain@H1 "$work/c9" | contains '^retrain: cycle (cadence: no cycle yet) on GPS ' \
  || fail "the cycle's trigger is not in the journal"
[ "$(prop deepclean-retrain@H1 ActiveState)/$(prop deepclean@H1 ActiveState)" = active/active ] \
  || fail "after the cycle: retrain $(prop deepclean-retrain@H1 ActiveState), cleaner $(prop deepclean@H1 ActiveState)"
outcome=$(journal_since deepclean-retrain@H1 "$work/c9" | grep -E '^retrain: (published|not published): ' | head -1)
if echo "$outcome" | contains '^retrain: published'; then
  ct test -f "/var/lib/deepclean/models/H1/$(echo "$outcome" | sed -n 's/^retrain: published: published \(retrain-[0-9]*\).*/\1/p')/provenance.json" \
    || fail "published, but no provenance.json in the repository: $outcome"
fi
ct systemctl stop deepclean-retrain@H1
[ "$(prop deepclean-retrain@H1 Result)" = success ] || fail "deepclean-retrain@H1 did not stop cleanly: $(prop deepclean-retrain@H1 Result)"
ok "deepclean-retrain@H1: nice 15, CPUWeight 10, idle I/O; waited, then a cycle beside the cleaner: ${outcome:0:160}"

# ---- remove and purge: running instances stopped, what the package made goes, output data stays -----
ct systemctl stop sim-H1
sleep 4   # the stall rule writes the seconds held back for look-ahead
ct systemctl is-active deepclean@H1 > /dev/null || fail "deepclean@H1 not running before the purge"
n_before=$(gps_list /dev/shm/deepclean/H1 | wc -l)
ct dpkg --purge deepclean > "$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "purge failed"; }
[ "$(prop deepclean@H1 ActiveState)" = inactive ] || fail "the removal left deepclean@H1 $(prop deepclean@H1 ActiveState)"
ct journalctl --no-pager -o cat -u deepclean@H1 | contains '^Stopped deepclean@H1.service' || fail "no clean stop at removal"
n_out=$(gps_list /dev/shm/deepclean/H1 | wc -l)
[ "$n_out" -ge "$n_before" ] && [ "$n_out" -ge 3 ] || fail "$n_out output frames after the purge, $n_before before"
# (/etc/deepclean/T1.yaml is the administrator's own file, not the package's: dpkg leaves it.)
for f in /usr/bin/deepclean /lib/systemd/system/deepclean@.service /lib/systemd/system/deepclean-retrain@.service /etc/deepclean/H1.yaml /etc/deepclean/L1.yaml \
  /var/lib/deepclean /usr/lib/tmpfiles.d/deepclean.conf /var/lib/prometheus/node-exporter/deepclean_H1.prom; do
  if ct test -e "$f"; then fail "purge left $f"; fi
done
ok "remove stops the running instance; purge: binary, unit, conffiles, state and metrics files gone; the $n_out output frames kept"

say "all $checks checks passed in $(( $(date +%s) - t0 )) s"
