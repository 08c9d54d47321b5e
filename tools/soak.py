#!/usr/bin/python3
"""Soak: `deepclean simulate` and `deepclean run` together, hours of simulated data as fast as the
machine allows, with faults, restarts and reloads (issue 18; docs/reliability.md).

    tools/soak.py --hours 24 --speed 30 [--out /tmp/dc-soak] [--build build] [--seed 1]
                  [--restart-every 3] [--reload-every 1] [--report docs/reliability/soak]

What runs:
  * the simulator publishes HOURS of the demo detector at SPEED simulated seconds per wall second
    (`--speed`), with every fault kind of docs/simulator.md at random rates (FAULTS below), and
    deletes its input files 900 s after publishing them (the site keeps about 300 s);
  * the daemon cleans them with the committed demo bundle (demo/bundle) and the demo's settings,
    output retention 3600 s (the disk stays bounded); every RESTART_EVERY simulated hours it is
    stopped, alternately by SIGTERM and by SIGKILL, and started again (`start: resume`); every
    RELOAD_EVERY simulated hours it gets a SIGHUP, alternately with an operational change
    (output.retention_seconds) and a change that shapes the output (gate.close_above), so both
    reload paths run;
  * a collector lists the output directory every few seconds: each output second is recorded with
    its inode (a second written twice is a duplicate) and every new file is checked with
    `deepclean frame verify`; the daemon's RSS, open file descriptors, threads and log size are
    sampled, with its metrics (band ASD ratio, seconds in/out/missing).

What it checks, at the end: every strain second the simulator published without a fault that
withholds or spoils the strain has exactly one output frame; no output second is written twice (a
restart, even by SIGKILL, resumes after the newest output on disk); every output frame verifies; the daemon never
exited unless told to; RSS after the first hour within 10 % of its median; fds constant between
restarts. It writes REPORT.md (figures) and REPORT.png (RSS, fds and band ratio over time) and exits
non-zero when a check fails.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

FAULTS = ("missing:0.001,late:0.001:3,dup:0.001,truncated:0.0005,corrupt:0.0005,nan:0.0005,"
          "svdrop:0.001,nochan:0.0005")
# Strain faults after which the second has no output, or may have none, by design: withheld,
# unreadable (truncated, corrupt), or later than the timeout (given up; the late file is not
# reprocessed). `nan`, `svdrop`, `nochan` and any witness fault still give exactly one output.
STRAIN_SPOILERS = {"missing", "truncated", "corrupt", "late"}
START_GPS = 1400000000


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    p.add_argument("--speed", type=float, default=30.0, help="simulated seconds per wall second (default 30)")
    p.add_argument("--out", default="/tmp/dc-soak", help="scratch directory (removed first)")
    p.add_argument("--build", default="build", help="build directory holding daemon/deepclean")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--restart-every", type=float, default=3.0, help="simulated hours between restarts")
    p.add_argument("--reload-every", type=float, default=1.0, help="simulated hours between reloads")
    p.add_argument("--replot", action="store_true",
                   help="only write the report again from REPORT.json and OUT/daemon.log (after a change of this script)")
    p.add_argument("--report", default="", help="REPORT path prefix (REPORT.md, REPORT.png); default OUT/soak")
    return p.parse_args()


def read_metrics(path):
    out = {}
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                key, _, value = line.rpartition(" ")
                try:
                    out[key] = float(value)
                except ValueError:
                    pass
    except OSError:
        pass
    return out


def first_start(log_path):
    """The GPS second the daemon's first start began at (its log), or None."""
    try:
        with open(log_path, errors="replace") as f:
            for line in f:
                m = re.search(r"starting at GPS (\d+)", line)
                if m:
                    return int(m.group(1))
    except OSError:
        pass
    return None


def memory_figures(samples):
    """RSS and heap after the first simulated hour (the soak runs hours of data per wall minute)."""
    late = [s for s in samples if s[1] - START_GPS >= 3600] or samples
    rss = sorted(s[2] for s in late)
    med = statistics.median(rss) if rss else 0
    return {
        "rss_median_after_1h_mib": round(med / 1024, 1),
        "rss_p99_after_1h_mib": round(rss[int(0.99 * (len(rss) - 1))] / 1024, 1) if rss else None,
        "rss_max_after_1h_mib": round(rss[-1] / 1024, 1) if rss else None,
        "rss_max_deviation_after_1h": round(max(abs(x - med) for x in rss) / med, 4) if med else None,
        "rss_first_sample_mib": round(samples[0][2] / 1024, 1) if samples else None,
        "rss_last_sample_mib": round(samples[-1][2] / 1024, 1) if samples else None,
        # the C heap (glibc): in use tells a leak, free-but-held tells fragmentation
        "heap_in_use_after_1h_min_max_mib": minmax_mib([x[7] for x in late]),
        "heap_free_after_1h_min_max_mib": minmax_mib([x[8] for x in late]),
    }


def passed(r):
    dev = r["rss_max_deviation_after_1h"]
    return (r["lost"] == 0 and r["duplicates"] == 0 and r["frames_failing_verify"] == 0
            and not r["unexpected_exits"] and (dev is None or dev <= 0.10))


def minmax_mib(values_kib):
    v = [x for x in values_kib if x == x]
    return [round(min(v) / 1024, 1), round(max(v) / 1024, 1)] if v else None


def proc_sample(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
        rss = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
        threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        return rss, fds, threads
    except (OSError, AttributeError):
        return None


class Soak:
    def __init__(self, a):
        self.a = a
        self.root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
        self.dc = os.path.abspath(os.path.join(a.build, "daemon", "deepclean"))
        self.out = os.path.abspath(a.out)
        self.report = os.path.abspath(a.report) if a.report else os.path.join(self.out, "soak")
        self.command = "tools/soak.py " + " ".join(sys.argv[1:])
        self.duration = int(round(a.hours * 3600))
        self.end_gps = START_GPS + self.duration
        self.outputs = {}       # gps -> (inode, mtime_ns) as last seen
        self.rewritten = []     # (gps, wall) seen with another inode
        self.verified = set()
        self.bad_frames = []    # (gps, message)
        # (wall, sim_gps, rss_kib, fds, threads, log_bytes, band_ratio, heap_in_use_kib, heap_free_kib)
        self.samples = []
        self.events = []        # (wall, sim_gps, what)
        self.unexpected_exits = []
        self.daemon = None
        self.log_path = os.path.join(self.out, "daemon.log")
        self.metrics_path = os.path.join(self.out, "metrics", "deepclean.prom")
        self.gate_toggle = False
        self.retention_toggle = False

    # ---- set-up ----
    def config(self):
        with open(os.path.join(self.root, "config", "examples", "demo-H1.yaml")) as f:
            text = f.read()
        subs = {
            "/dev/shm/kafka/H1": os.path.join(self.out, "sim", "kafka", "H1"),
            "/dev/shm/lldetchar/H1": os.path.join(self.out, "sim", "lldetchar", "H1"),
            "/dev/shm/deepclean/H1": os.path.join(self.out, "cleaned"),
            "/usr/share/deepclean/demo/bundle": os.path.join(self.root, "demo", "bundle"),
            "/var/lib/prometheus/node-exporter/deepclean_H1.prom": self.metrics_path,
        }
        for k, v in subs.items():
            text = text.replace(k, v)
        retention = 3601 if self.retention_toggle else 3600
        text = re.sub(r"retention_seconds: \d+", f"retention_seconds: {retention}", text)
        text += "\ngate:\n  close_above: %s\n" % ("1.05" if self.gate_toggle else "1.0")
        with open(os.path.join(self.out, "run.yaml"), "w") as f:
            f.write(text)

    def start_daemon(self):
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        env["OMP_WAIT_POLICY"] = "PASSIVE"
        log = open(self.log_path, "ab")
        self.daemon = subprocess.Popen([self.dc, "run", "--config", os.path.join(self.out, "run.yaml")],
                                       stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()

    # ---- observation ----
    def sim_gps(self):
        m = read_metrics(self.metrics_path)
        return int(m.get("deepclean_last_output_gps_seconds", START_GPS))

    def collect(self):
        d = os.path.join(self.out, "cleaned")
        new = []
        try:
            names = os.listdir(d)
        except OSError:
            return
        for n in names:
            m = re.match(r"H-H1_llhoft_DEEPCLEAN-(\d+)-1\.gwf$", n)
            if not m:
                continue
            gps = int(m.group(1))
            try:
                st = os.stat(os.path.join(d, n))
            except OSError:
                continue  # deleted by retention meanwhile
            ident = (st.st_ino, st.st_mtime_ns)
            old = self.outputs.get(gps)
            if old is None:
                new.append(gps)
            elif old != ident:
                self.rewritten.append((gps, time.time()))
                new.append(gps)
            self.outputs[gps] = ident
        new.sort()
        for i in range(0, len(new), 200):
            batch = [os.path.join(d, f"H-H1_llhoft_DEEPCLEAN-{g}-1.gwf") for g in new[i:i + 200]]
            batch = [p for p in batch if os.path.exists(p)]
            if not batch:
                continue
            r = subprocess.run([self.dc, "frame", "verify"] + batch, capture_output=True, text=True)
            if r.returncode != 0:
                for line in (r.stdout + r.stderr).splitlines():
                    if "No such file" in line:
                        continue
                    self.bad_frames.append(line)
            self.verified.update(new[i:i + 200])

    def sample(self):
        if self.daemon is None or self.daemon.poll() is not None:
            return
        s = proc_sample(self.daemon.pid)
        if s is None:
            return
        m = read_metrics(self.metrics_path)
        ratio = next((v for k, v in m.items() if k.startswith("deepclean_band_asd_ratio")), float("nan"))
        size = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        heap = [m.get('deepclean_heap_bytes{kind="%s"}' % k, float("nan")) / 1024 for k in ("in_use", "free")]
        g = self.sim_gps()
        if g < START_GPS and self.samples:  # just restarted: no output written yet
            g = self.samples[-1][1]
        self.samples.append((time.time(), g, s[0], s[1], s[2], size, ratio, heap[0], heap[1]))
        with open(os.path.join(self.out, "samples.jsonl"), "a") as f:  # kept if the harness dies
            f.write(json.dumps(self.samples[-1]) + "\n")

    # ---- faults of the operator's kind ----
    def restart(self, kill):
        what = "SIGKILL" if kill else "SIGTERM"
        self.daemon.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            rc = self.daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
            rc = self.daemon.wait()
            self.unexpected_exits.append((time.time(), "did not stop within 60 s of SIGTERM"))
        if not kill and rc != 0:
            self.unexpected_exits.append((time.time(), f"SIGTERM exit status {rc}"))
        self.collect()
        self.events.append((time.time(), self.sim_gps(), what))
        self.start_daemon()

    def reload(self):
        if len(self.events) % 2:
            self.gate_toggle = not self.gate_toggle
            what = "SIGHUP (gate.close_above)"
        else:
            self.retention_toggle = not self.retention_toggle
            what = "SIGHUP (output.retention_seconds)"
        self.config()
        self.daemon.send_signal(signal.SIGHUP)
        self.events.append((time.time(), self.sim_gps(), what))

    # ---- the run ----
    def run(self):
        shutil.rmtree(self.out, ignore_errors=True)
        os.makedirs(os.path.join(self.out, "metrics"))
        # A copy of the binary: a rebuild during the hour must not pull it from under the soak (the
        # first 24-h run lost its harness that way).
        copy = os.path.join(self.out, "deepclean")
        shutil.copy2(self.dc, copy)
        self.dc = copy
        self.config()
        # The daemon first: with no input and no output yet it starts at the first second to arrive.
        self.start_daemon()
        time.sleep(3)
        sim_log = open(os.path.join(self.out, "simulate.log"), "w")
        sim = subprocess.Popen([self.dc, "simulate", "--out", os.path.join(self.out, "sim"), "--start", str(START_GPS),
                                "--duration", str(self.duration), "--speed", str(self.a.speed), "--seed",
                                str(self.a.seed), "--unrelated", "0", "--compress", "raw", "--retention", "900",
                                "--faults", FAULTS], stdout=sim_log, stderr=subprocess.STDOUT)
        t0 = time.time()
        next_restart = START_GPS + self.a.restart_every * 3600
        next_reload = START_GPS + self.a.reload_every * 3600
        kill = False
        last_collect = 0.0
        while True:
            time.sleep(2)
            if self.daemon.poll() is not None:
                self.unexpected_exits.append((time.time(), f"exit status {self.daemon.returncode}"))
                self.events.append((time.time(), self.sim_gps(), "restarted after an unexpected exit"))
                self.start_daemon()
            self.sample()
            if time.time() - last_collect > 5:
                self.collect()
                last_collect = time.time()
            g = self.sim_gps()
            if g >= next_restart and g < self.end_gps - 600:
                self.restart(kill)
                kill = not kill
                next_restart += self.a.restart_every * 3600
            elif g >= next_reload and g < self.end_gps - 600:
                self.reload()
                next_reload += self.a.reload_every * 3600
            if sim.poll() is not None and g >= self.end_gps - 2:
                break
            if sim.poll() is not None and time.time() - t0 > 60 and self.samples and \
                    time.time() - self.samples[-1][0] > 120:
                break
        time.sleep(5)  # the last second's look-ahead
        self.daemon.send_signal(signal.SIGTERM)
        rc = self.daemon.wait(timeout=60)
        if rc != 0:
            self.unexpected_exits.append((time.time(), f"final SIGTERM exit status {rc}"))
        self.collect()
        sim_log.close()
        self.wall = time.time() - t0
        return self.check()

    # ---- verdict ----
    def published(self):
        """Strain seconds published, and those with a spoiling fault."""
        pub, spoiled = set(), set()
        with open(os.path.join(self.out, "simulate.log")) as f:
            for line in f:
                w = line.split()
                if len(w) >= 3 and w[0] in ("publish", "skip") and w[1] == "strain":
                    g = int(w[2])
                    kinds = {x.split(":")[0] for x in w[4].split(",")} if len(w) > 4 else set()
                    if w[0] == "skip" or kinds & STRAIN_SPOILERS:
                        spoiled.add(g)
                    elif w[0] == "publish":
                        pub.add(g)
        pub -= spoiled
        # The first start has no output to resume after, so it starts at the newest input second
        # (docs/configuration.md, input.start): what the simulator published before is not owed.
        first = first_start(self.log_path)
        if first is not None:
            pub = {g for g in pub if g >= first}
        return pub, spoiled

    def check(self):
        pub, spoiled = self.published()
        out = set(self.outputs)
        lost = sorted(pub - out)
        dups = sorted({g for g, _ in self.rewritten})
        t_first = self.samples[0][0] if self.samples else 0
        # fds between restarts: the spread within each run of the daemon after its first minute
        fds = [s[3] for s in self.samples if s[0] - t_first >= 60]
        log_bytes = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        sim_hours = self.duration / 3600.0
        ratios = [s[6] for s in self.samples if s[6] == s[6]]
        r = {
            "simulated_hours": sim_hours,
            "wall_seconds": round(self.wall),
            "strain_seconds_published_clean": len(pub),
            "strain_seconds_spoiled_by_faults": len(spoiled),
            "outputs": len(out),
            "lost": len(lost),
            "lost_first": lost[:20],
            "duplicates": len(dups),
            "duplicates_first": dups[:20],
            "frames_verified": len(self.verified),
            "frames_failing_verify": len(self.bad_frames),
            "unexpected_exits": [e[1] for e in self.unexpected_exits],
            "restarts": [e[2] for e in self.events if e[2].startswith("SIG") and "HUP" not in e[2]],
            "reloads": sum(1 for e in self.events if "HUP" in e[2]),
            "fds_min_max": [min(fds), max(fds)] if fds else None,
            "log_bytes": log_bytes,
            "log_bytes_per_simulated_hour": round(log_bytes / sim_hours),
            "log_bytes_per_wall_hour": round(log_bytes / (self.wall / 3600.0)),
            "band_asd_ratio_median": round(statistics.median(ratios), 4) if ratios else None,
            "band_asd_ratio_p90": round(sorted(ratios)[int(0.9 * (len(ratios) - 1))], 4) if ratios else None,
        }
        r.update(memory_figures(self.samples))
        r["passed"] = passed(r)
        self.write_report(r)
        return r

    def write_report(self, r):
        os.makedirs(os.path.dirname(self.report), exist_ok=True)
        with open(self.report + ".json", "w") as f:
            json.dump({"result": r, "samples": self.samples, "events": self.events}, f)
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            t0 = self.samples[0][0]
            hrs = [(s[1] - START_GPS) / 3600.0 for s in self.samples]
            fig, ax = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
            ax[0].plot(hrs, [s[2] / 1024 for s in self.samples], lw=0.8, label="RSS")
            ax[0].plot(hrs, [s[7] / 1024 for s in self.samples], lw=0.8, label="heap in use")
            ax[0].plot(hrs, [s[8] / 1024 for s in self.samples], lw=0.8, label="heap free, held")
            ax[0].set_ylabel("MiB")
            ax[0].legend()
            ax[1].plot(hrs, [s[3] for s in self.samples], lw=0.8, label="open fds")
            ax[1].plot(hrs, [s[4] for s in self.samples], lw=0.8, label="threads")
            ax[1].legend()
            ax[2].plot(hrs, [s[6] for s in self.samples], lw=0.8)
            ax[2].set_ylabel("band ASD ratio")
            ax[2].set_xlabel("simulated hours")
            for e in self.events:
                for a in ax:
                    a.axvline((e[1] - START_GPS) / 3600.0, color="r" if "KILL" in e[2] else "g" if "TERM" in e[2]
                              else "0.7", lw=0.5)
            fig.suptitle("soak: %.1f simulated h in %.0f wall min (red SIGKILL, green SIGTERM, grey SIGHUP)" %
                         (r["simulated_hours"], r["wall_seconds"] / 60))
            fig.tight_layout()
            fig.savefig(self.report + ".png", dpi=90)
        except Exception as e:  # the figures stand without the plot
            print("soak: no plot:", e, file=sys.stderr)
        with open(self.report + ".md", "w") as f:
            f.write("# Soak result\n\n`%s`\n\n| figure | value |\n|---|---|\n" % self.command)
            for k, v in r.items():
                f.write(f"| {k} | {v} |\n")


def replot(a):
    """--replot: the report again from REPORT.json (and OUT/daemon.log), with this script's rules."""
    with open(a.report + ".json") as f:
        d = json.load(f)
    samples, last = [], None
    for x in d["samples"]:
        x = list(x) + [float("nan")] * (9 - len(x))
        if x[1] < START_GPS and last is not None:
            x[1] = last
        last = x[1]
        samples.append(x)
    r = d["result"]
    for k in ("rss_median_after_1h_mib", "rss_max_deviation_after_1h", "rss_first_sample_mib",
              "rss_last_sample_mib", "heap_in_use_after_1h_min_max_mib", "heap_free_after_1h_min_max_mib"):
        r.pop(k, None)
    first = first_start(os.path.join(a.out, "daemon.log"))
    if first is not None and r["lost"] <= len(r["lost_first"]):
        r["lost_first"] = [g for g in r["lost_first"] if g >= first]
        r["lost"] = len(r["lost_first"])
    r.update(memory_figures(samples))
    r["passed"] = passed(r)
    soak = Soak.__new__(Soak)
    soak.samples, soak.events, soak.report = samples, d["events"], a.report
    soak.command = "tools/soak.py " + " ".join(x for x in sys.argv[1:] if x != "--replot")
    try:  # the command of the run itself, from its REPORT.md
        with open(a.report + ".md") as f:
            soak.command = re.findall(r"`([^`]+)`", f.read())[0] + " (report rewritten by --replot)"
    except (OSError, IndexError):
        pass
    soak.write_report(r)
    return r


def main():
    a = parse_args()
    r = replot(a) if a.replot else Soak(a).run()
    print(json.dumps(r, indent=2))
    sys.exit(0 if r["passed"] else 1)


if __name__ == "__main__":
    main()
