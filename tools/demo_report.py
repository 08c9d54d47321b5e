#!/usr/bin/python3
"""Report of the one-command demo (tools/demo.sh; method in docs/demo.md).

Reads what the demo left in --dir: the simulator's frames (sim/), the daemon's output frames
(cleaned/), its metrics file and logs; prints the figures, writes report.md, asd.png and
latency.csv there. Exit status 0 when the band ASD ratio meets its target, the guard bands beside
the band are not made worse, and every input second has its output frame; 1 otherwise.

Latency is measured per frame from file timestamps. Both programs publish a file by writing a hidden
temporary file and renaming it into place, and rename(2) sets the file's status-change time (ctime),
so st_ctime_ns is the moment the file appeared under its name: for an input frame its arrival, for
an output frame its publication (resolution: the kernel's coarse clock, one timer tick, <= 4 ms).
"""
import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import yaml
from scipy.signal import welch

GPS_UNIX_OFFSET = 315964800 - 18  # Unix = GPS + 315964800 - 18 (leap seconds since 1980; docs/simulator.md)
TARGET = 0.07        # band ASD ratio cleaned/raw in the model's band (issue 13's target at <= 1 s latency)
GUARD_HZ = 10.0      # guard bands on each side of the band: cleaning must not add noise there
GUARD_TARGET = 1.05  # their ASD ratio cleaned/raw


def frames_by_gps(directory, obs, frame_type):
    out = {}
    pat = re.compile(r"^%s-%s-(\d+)-1\.gwf$" % (re.escape(obs), re.escape(frame_type)))
    for name in os.listdir(directory):
        m = pat.match(name)
        if m:
            out[int(m.group(1))] = os.path.join(directory, name)
    return out


def ctime_ns(path):
    return os.stat(path).st_ctime_ns


def read_metrics(path):
    """Prometheus text: {(name, labels-string): value}."""
    values = {}
    if not os.path.exists(path):
        return values
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$", line.strip())
        if m:
            values[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return values


def metric(values, name, labels=""):
    return values.get((name, labels))


def export(deepclean, channel, files):
    with tempfile.NamedTemporaryFile(suffix=".f64", delete=False) as tmp:
        path = tmp.name
    try:
        subprocess.run([deepclean, "frame", "export", "--channel", channel, "--out", path] + files, check=True,
                       stderr=subprocess.DEVNULL)
        return np.fromfile(path, dtype=np.float64)
    finally:
        os.unlink(path)


def longest_run(mask):
    """[start, end) of the longest run of True in a boolean array (0, 0 if none)."""
    best = (0, 0)
    start = None
    for i, v in enumerate(list(mask) + [False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    return best


def pct(x, q):
    return float(np.percentile(np.asarray(x), q)) if len(x) else float("nan")


def machine():
    model = "unknown CPU"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "%s, %d CPUs (nproc), %s %s" % (model, os.cpu_count(), platform.system(), platform.release())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--deepclean", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--bundle", required=True)
    a = ap.parse_args()

    cfg = yaml.safe_load(open(a.config))
    bundle = yaml.safe_load(open(os.path.join(a.bundle, "bundle.yaml")))
    ifo = cfg["ifo"]
    obs = ifo[0]
    inp, outc = cfg["input"], cfg["output"]
    strain_ch = inp["strain"]["channel"]
    clean_ch = outc.get("channel", strain_ch + "_DEEPCLEAN")
    sv_ch = outc.get("state_vector_channel", ifo + ":DEEPCLEAN-STATE_VECTOR")
    # The band the model was trained to clean (bandpass.bands only shapes the filter, often wider).
    bands = bundle["bands"]
    low, high = float(bands[0][0]), float(bands[0][1])

    strain = frames_by_gps(inp["strain"]["directory"], obs, inp["strain"]["frame_type"])
    witness = frames_by_gps(inp["witness"]["directory"], obs, inp["witness"]["frame_type"])
    cleaned = frames_by_gps(outc["directory"], obs, outc["frame_type"])
    values = read_metrics(cfg["metrics"]["path"])
    lines = []

    def say(s=""):
        print(s)
        lines.append(s)

    # ---- frames ---------------------------------------------------------------------------------
    n_in, n_out = len(strain), len(cleaned)
    missing_out = sorted(set(strain) - set(cleaned))
    gps0, gps1 = (min(strain), max(strain)) if strain else (0, -1)
    say("frames in:  %d strain + %d witness frames from the simulator (GPS %d-%d)" % (n_in, len(witness), gps0, gps1))
    m_out = metric(values, "deepclean_seconds_total", '{event="out"}')
    m_cleaned = metric(values, "deepclean_seconds_total", '{event="cleaned"}')
    m_missing = metric(values, "deepclean_seconds_total", '{event="missing"}')
    say("frames out: %d output frames (daemon metrics: out %s, fully cleaned %s, missing %s)%s"
        % (n_out, fmt_int(m_out), fmt_int(m_cleaned), fmt_int(m_missing),
           "" if not missing_out else "; NO OUTPUT for GPS " + ", ".join(map(str, missing_out))))

    # ---- latency --------------------------------------------------------------------------------
    arrival = {g: max(ctime_ns(strain[g]), ctime_ns(witness[g])) for g in strain if g in witness}
    published = {g: ctime_ns(p) for g, p in cleaned.items()}
    alg = metric(values, "deepclean_algorithmic_latency_seconds")
    # The input second whose arrival completed output second g is g + d for a fixed d (the look-ahead
    # rounded up to whole seconds): find d as the usual distance between g and the newest input second
    # that had arrived when output g appeared.
    arrived = sorted(arrival.items(), key=lambda kv: kv[1])
    lead = []
    for g, t in published.items():
        before = [h for h, ta in arrived if ta <= t]
        if before:
            lead.append(max(before) - g)
    d = int(np.bincount(np.array([x for x in lead if x >= 0])).argmax()) if lead else 0
    rows = []
    for g in sorted(published):
        if g in arrival and g + d in arrival and arrival[g + d] <= published[g]:
            rows.append((g, (published[g] - arrival[g + d]) / 1e9, (published[g] - arrival[g]) / 1e9,
                         published[g] / 1e9 - (g + 1 + GPS_UNIX_OFFSET)))
    flushed = len(published) - len(rows)
    trig = [r[1] for r in rows]
    same = [r[2] for r in rows]
    data = [r[3] for r in rows]
    with open(os.path.join(a.dir, "latency.csv"), "w") as f:
        f.write("gps,completing_input_to_output_s,input_same_second_to_output_s,end_of_second_to_output_s\n")
        for r in rows:
            f.write("%d,%.6f,%.6f,%.6f\n" % r)
    say("latency input arrival -> output rename (input second g+%d completes output g; %d frames):" % (d, len(rows)))
    say("            p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (1e3 * pct(trig, 50), 1e3 * pct(trig, 99),
                                                               1e3 * max(trig) if trig else float("nan")))
    if alg is not None:
        need = int(np.ceil(alg - 1e-9))  # output g ends at g+1 and needs data up to g+1+alg: input second g+need
        say("            algorithmic latency %.3f s (daemon): output g needs data from input second g+%d; published on "
            "the arrival of input second g+%d" % (alg, need, d))
    say("            input second g arrival -> output g rename: p50 %.3f s, p99 %.3f s" % (pct(same, 50), pct(same, 99)))
    # The floor for that figure: the wait from the arrival of input g to that of input g+d, which the
    # input's publication jitter sets (no daemon can publish output g before input g+d is there).
    wait = [(arrival[r[0] + d] - arrival[r[0]]) / 1e9 for r in rows]
    say("            of which waiting for input g+%d (the floor, set by the input's arrival times): p50 %.3f s, "
        "p99 %.3f s" % (d, pct(wait, 50), pct(wait, 99)))
    say("            end of second g (GPS clock) -> output g rename: p50 %.3f s, p99 %.3f s" % (pct(data, 50), pct(data, 99)))
    if flushed:
        say("            (%d output frame(s) written by the end-of-stream flush, not by an input arrival: not counted)" % flushed)
    # Cross-check with the daemon's own histogram, which counts every output frame: a flushed frame
    # from the newest input arrival before it (the stall timeout is then part of its latency).
    every = []
    for g, t in published.items():
        before = [ta for _, ta in arrived if ta <= t]
        if before:
            every.append((t - max(before)) / 1e9)
    hc = metric(values, "deepclean_latency_seconds_count")
    hs = metric(values, "deepclean_latency_seconds_sum")
    if hc:
        say("            cross-check, every output frame: daemon histogram %d frames, mean %.1f ms; files %d frames, "
            "mean %.1f ms" % (hc, 1e3 * hs / hc, len(every), 1e3 * float(np.mean(every)) if every else float("nan")))
    stages = {}
    for st in ("read", "clean", "model", "write", "shadow"):
        v = metric(values, "deepclean_stage_seconds_total", '{stage="%s"}' % st)
        if v is not None and n_out:
            stages[st] = 1e3 * v / n_out
    if stages:
        say("processing per second of data: " + ", ".join("%s %.1f ms" % kv for kv in stages.items())
            + " (daemon stage metrics)")

    # ---- band ASD ratio -------------------------------------------------------------------------
    common = sorted(set(strain) & set(cleaned))
    # longest run of consecutive seconds present in both
    best, run = [], []
    for g in common:
        run = run + [g] if run and g == run[-1] + 1 else [g]
        if len(run) > len(best):
            best = run
    if len(best) < 8:
        say("band ASD ratio: FAIL, only %d consecutive seconds with both raw and cleaned frames" % len(best))
        return 1
    raw = export(a.deepclean, strain_ch, [strain[g] for g in best])
    cln = export(a.deepclean, clean_ch, [cleaned[g] for g in best])
    sv = export(a.deepclean, sv_ch, [cleaned[g] for g in best]).astype(np.uint32)
    fs = len(raw) / len(best)
    per_slot = int(round(fs / 16))
    s0, s1 = longest_run((sv & 1) == 1)  # bit 0 CLEANED: g = 1 throughout the 1/16 s (no taper)
    i0, i1 = s0 * per_slot, s1 * per_slot
    n_seg = int(fs)  # 1-s Hann segments, half overlap: as the trainer and the daemon's band monitor
    ok_len = (i1 - i0) >= 8 * n_seg
    ratio = float("nan")
    guards = [float("nan"), float("nan")]
    if ok_len:
        f, p_raw = welch(raw[i0:i1], fs=fs, window="hann", nperseg=n_seg, noverlap=n_seg // 2)
        _, p_cln = welch(cln[i0:i1], fs=fs, window="hann", nperseg=n_seg, noverlap=n_seg // 2)
        band = (f >= low) & (f <= high)
        ratio = float(np.mean(np.sqrt(p_cln[band] / p_raw[band])))
        guards = [float(np.mean(np.sqrt(p_cln[sel] / p_raw[sel])))
                  for sel in ((f >= low - GUARD_HZ) & (f < low), (f > high) & (f <= high + GUARD_HZ))]
    cleaned_seconds = (i1 - i0) / fs
    t_start = best[0] + s0 / 16 if best else 0
    harmless = all(g <= GUARD_TARGET for g in guards)
    passed = ok_len and ratio <= TARGET and harmless
    m_ratio = metric(values, "deepclean_band_asd_ratio", '{band="%g-%g"}' % (low, high))
    say("band ASD ratio cleaned/raw, %g-%g Hz: %.3f  (target <= %.2f: %s)" % (
        low, high, ratio, TARGET, "PASS" if ok_len and ratio <= TARGET else "FAIL"))
    say("            guard bands %g-%g Hz: %.3f, %g-%g Hz: %.3f  (no harm beside the band: <= %.2f: %s)" % (
        low - GUARD_HZ, low, guards[0], high, high + GUARD_HZ, guards[1], GUARD_TARGET,
        "PASS" if harmless else "FAIL"))
    say("            Welch, 1-s Hann segments, half overlap, mean over the %d bins in the band, on the %.2f s "
        "fully cleaned (state bit 0) from GPS %.4f; daemon's own monitor: %s"
        % (int(np.sum((np.arange(0, fs / 2 + 1) >= low) & (np.arange(0, fs / 2 + 1) <= high))), cleaned_seconds,
           t_start, "%.3f" % m_ratio if m_ratio is not None else "n/a"))

    # ---- plot -----------------------------------------------------------------------------------
    png = os.path.join(a.dir, "asd.png")
    if ok_len:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        seg = 4 * n_seg if (i1 - i0) >= 16 * n_seg else n_seg
        f, pr = welch(raw[i0:i1], fs=fs, window="hann", nperseg=seg, noverlap=seg // 2)
        _, pc = welch(cln[i0:i1], fs=fs, window="hann", nperseg=seg, noverlap=seg // 2)
        fig, ax = plt.subplots(1, 2, figsize=(12, 4.6))
        for axis, (lo, hi), logx in ((ax[0], (10, 1000), True), (ax[1], (low - 15, high + 15), False)):
            sel = (f >= lo) & (f <= hi)
            axis.plot(f[sel], np.sqrt(pr[sel]), color="tab:red", lw=1, label="raw " + strain_ch)
            axis.plot(f[sel], np.sqrt(pc[sel]), color="tab:blue", lw=1, label="cleaned " + clean_ch)
            axis.axvspan(low, high, color="0.85", zorder=0, label="cleaning band %g-%g Hz" % (low, high))
            axis.set_yscale("log")
            if logx:
                axis.set_xscale("log")
            axis.set_xlim(lo, hi)
            axis.set_xlabel("frequency [Hz]")
            axis.set_ylabel(r"ASD [strain/$\sqrt{\mathrm{Hz}}$]")
            axis.grid(True, which="both", alpha=0.3)
        ax[1].legend(loc="upper right", fontsize=8)
        ax[1].set_title("band ASD ratio %.3f (target <= %.2f), guard bands %.2f / %.2f: %s"
                        % (ratio, TARGET, guards[0], guards[1], "PASS" if passed else "FAIL"), fontsize=9)
        ax[0].set_title("deepclean demo: %.0f s cleaned live from GPS %d (Welch, %g-s segments)"
                        % (cleaned_seconds, int(t_start), seg / fs), fontsize=10)
        fig.tight_layout()
        fig.savefig(png, dpi=110)

    # ---- report.md ------------------------------------------------------------------------------
    load = open("/proc/loadavg").read().split()[:3]
    loads = os.path.join(a.dir, "loadavg.txt")
    with open(os.path.join(a.dir, "report.md"), "w") as r:
        r.write("# deepclean demo report\n\n")
        r.write("- date: %s\n" % time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))
        r.write("- machine: %s\n" % machine())
        if os.path.exists(loads):
            r.write("- load average (1/5/15 min) during the run: %s\n" % "; ".join(
                l.strip() for l in open(loads) if l.strip()))
        r.write("- load average at report time: %s\n" % " ".join(load))
        r.write("- model bundle: %s (version %s)\n" % (os.path.abspath(a.bundle), bundle.get("version")))
        r.write("- configuration: %s\n\n" % os.path.abspath(a.config))
        r.write("```\n" + "\n".join(lines) + "\n```\n\n")
        r.write("![ASD before and after](asd.png)\n\n")
        r.write("Method: docs/demo.md. Per-frame latencies: latency.csv. Logs: daemon.log, simulate.log.\n")
    print("report: %s, plot: %s, per-frame latency: %s" % (os.path.join(a.dir, "report.md"), png,
                                                          os.path.join(a.dir, "latency.csv")))
    return 0 if passed and not missing_out and n_in > 0 else 1


def fmt_int(v):
    return "n/a" if v is None else "%d" % v


if __name__ == "__main__":
    sys.exit(main())
