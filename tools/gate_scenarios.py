#!/usr/bin/python3
"""The do-no-harm gate against models gone bad on purpose (docs/quality-gate.md, "Measured").

For each scenario: `deepclean simulate --scenario ...` (seed --seed, the demo's witnesses), then
`deepclean clean` with the demo's configuration (demo/run.yaml's inference, band-pass and gate) and
the committed demo bundle, then, from the output frames read back with `deepclean frame export`:

  - onset: when the scenario's change starts; gated: the first 1/16 s with state bit 5 (GATED) at or
    after the second of the onset, and how long after the onset that is (negative: the gate's ramp
    began before the harm, inside the same second); reopened: the first 1/16 s after that without
    bit 5 once the change is over;
  - worst 8 s: the largest band ASD ratio cleaned/raw (55-65 Hz: the mean over its 1-Hz bins of
    sqrt(PSD cleaned / PSD raw), the PSDs averaged over the eight 1-s Hann periodograms of the window,
    as scipy's welch without overlap) over every 8-s window of the published output, sliding by 1 s,
    from 8 s after the start (the segment taper) to the end; and the same for the guard bands 45-55
    and 65-75 Hz (the larger);
  - gated seconds in all, from the daemon's summary.

`--control-minutes M` adds a run of M minutes without any change: the no-false-alarm figure.
Usage: /usr/bin/python3 tools/gate_scenarios.py --deepclean build/daemon/deepclean [--work DIR]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
from scipy.signal import welch

from demo_report import export  # tools/demo_report.py: read back one channel

START = 1300020000
STRAIN, CLEANED, STATE = "H1:GDS-CALIB_STRAIN", "H1:GDS-CALIB_STRAIN_DEEPCLEAN", "H1:DEEPCLEAN-STATE_VECTOR"
BAND, GUARDS = (55.0, 65.0), ((45.0, 55.0), (65.0, 75.0))
# (name, --scenario, onset s, end s or None): changes at 40.5 s, mid-second, as a real onset would be.
SCENARIOS = [
    ("coupling flips sign", "coupling-scale@40.5-70:-1", 40.5, 70),
    ("coupling switches off", "coupling-off@40.5-70", 40.5, 70),
    ("coupling phase 90 deg", "coupling-phase@40.5-70:90", 40.5, 70),
    ("coupling x2 (cleaning still helps)", "coupling-scale@40.5-70:2", 40.5, 70),
    ("mains moves 1 Hz", "mains-shift@40.5-70:1", 40.5, 70),
    ("mains monitor drops to 0", "witness-zero@40.5-50", 40.5, 50),
    ("ASC witness flatlines", "witness-flat@40.5-50:H1:ASC-CHARD_P_OUT_DQ", 40.5, 50),
]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("failed (%d): %s\n%s%s" % (r.returncode, " ".join(cmd), r.stdout[-3000:], r.stderr[-3000:]))
    return r.stdout + r.stderr


def config(path, sim, out, bundle, run_yaml):
    text = open(run_yaml).read()
    keep = []
    # demo/run.yaml's model, inference, bandpass, subtraction and gate sections; our own input/output.
    sections = re.split(r"(?m)^(?=[a-z_]+:)", text)
    for sec in sections:
        if re.match(r"(model|inference|bandpass|subtraction|gate):", sec):
            keep.append(re.sub(r"(?m)^  bundle: .*$", "  bundle: %s" % bundle, sec).rstrip() + "\n")
    with open(path, "w") as f:
        f.write("ifo: H1\ninput:\n"
                "  strain: {directory: %s/kafka/H1, frame_type: H1_llhoft, channel: %s}\n"
                "  witness: {directory: %s/lldetchar/H1, frame_type: H1_lldetchar}\n"
                "  state_vector: {channel: H1:GDS-CALIB_STATE_VECTOR, mask: 3}\n"
                "output: {directory: %s, frame_type: H1_llhoft_DEEPCLEAN, channel: %s, state_vector_channel: %s,"
                " compression: raw}\n" % (sim, STRAIN, sim, out, CLEANED, STATE))
        f.write("".join(k for k in keep if not k.startswith("model:")))
        f.write("model: {bundle: %s, device: cpu, threads: 2, batch_size: 64}\nlogging: {level: warn}\n" % bundle)


def periodograms(x, fs, seconds):
    """One scipy periodogram (1-s Hann, density, mean removed) per second, 0-100 Hz: (f, P[second, bin])."""
    n = int(fs)
    out = []
    for k in range(seconds):
        f, p = welch(x[k * n:(k + 1) * n], fs=fs, window="hann", nperseg=n, noverlap=0)
        out.append(p[f <= 100])
    return f[f <= 100], np.array(out)


def worst_windows(f, pr, pc, first, last, width=8):
    """Largest band and guard-band ratios over windows of `width` seconds starting at first..last."""
    cr = np.cumsum(np.vstack([np.zeros(pr.shape[1]), pr]), axis=0)
    cc = np.cumsum(np.vstack([np.zeros(pc.shape[1]), pc]), axis=0)
    band = (f >= BAND[0]) & (f <= BAND[1])
    guards = [(f >= lo) & (f <= hi) & ((f < BAND[0]) | (f > BAND[1])) for lo, hi in GUARDS]
    wb = wg = 0.0
    for s0 in range(first, last + 1):
        r = np.sqrt((cc[s0 + width] - cc[s0]) / (cr[s0 + width] - cr[s0]))
        wb = max(wb, float(np.mean(r[band])))
        wg = max(wg, max(float(np.mean(r[g])) for g in guards))
    return wb, wg


def one(dc, work, bundle, run_yaml, seed, name, scenario, onset, end, seconds):
    tag = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    sim, out = os.path.join(work, tag, "sim"), os.path.join(work, tag, "out")
    shutil.rmtree(os.path.join(work, tag), ignore_errors=True)
    os.makedirs(out)
    cmd = [dc, "simulate", "--out", sim, "--unrelated", "0", "--seed", str(seed), "--start", str(START),
           "--duration", str(seconds), "--compress", "raw", "--quiet"]
    if scenario:
        cmd += ["--scenario", scenario]
    run(cmd)
    cfg = os.path.join(work, tag, "clean.yaml")
    config(cfg, sim, out, bundle, run_yaml)
    t0 = time.time()
    summary = run([dc, "clean", "--config", cfg, "--start", str(START), "--end", str(START + seconds)])
    wall = time.time() - t0
    gps = list(range(START, START + seconds))
    raw_files = [os.path.join(sim, "kafka/H1/H-H1_llhoft-%d-1.gwf" % g) for g in gps]
    out_files = [os.path.join(out, "H-H1_llhoft_DEEPCLEAN-%d-1.gwf" % g) for g in gps]
    raw = export(dc, STRAIN, raw_files)
    cln = export(dc, CLEANED, out_files)
    sv = export(dc, STATE, out_files).astype(np.uint32)
    fs = len(raw) / seconds
    gated = (sv & 32) != 0  # bit 5, per 1/16 s
    row = dict(name=name, scenario=scenario or "(none)")
    if onset is not None:
        first = next((i for i in range(int(np.floor(onset)) * 16, len(gated)) if gated[i]), None)
        row["gated_after_s"] = None if first is None else first / 16.0 - onset
        after_end = int(np.ceil(end)) * 16
        reopen = next((i for i in range(max(after_end, first or 0), len(gated)) if not gated[i]), None)
        row["reopened_after_end_s"] = None if reopen is None else reopen / 16.0 - end
    f, pr = periodograms(raw, fs, seconds)
    _, pc = periodograms(cln, fs, seconds)
    # From 8 s in (the segment start's taper) to 2 s before the end (the end-of-run flush tapers the last second).
    row["worst_8s_band"], row["worst_8s_guard"] = worst_windows(f, pr, pc, 8, seconds - 8 - 2)
    m = re.search(r"gate:\s+([0-9.]+) s gated(.*)", summary)
    row["gated_s"] = float(m.group(1)) if m else None
    row["gate_summary"] = m.group(0).strip() if m else "n/a"
    row["clean_wall_s"] = wall
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--deepclean", required=True)
    ap.add_argument("--work", default="build-study/gate-scenarios")
    ap.add_argument("--bundle", default="demo/bundle")
    ap.add_argument("--run-yaml", default="demo/run.yaml")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--seconds", type=int, default=100)
    ap.add_argument("--control-minutes", type=float, default=0)
    ap.add_argument("--only", default="", help="run only the scenarios whose name contains this")
    a = ap.parse_args()
    dc = os.path.abspath(a.deepclean)
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    os.makedirs(a.work, exist_ok=True)
    work, bundle = os.path.abspath(a.work), os.path.abspath(a.bundle)
    rows = []
    if a.control_minutes > 0:
        rows.append(one(dc, work, bundle, a.run_yaml, a.seed, "control, %g min" % a.control_minutes, "", None,
                        None, int(a.control_minutes * 60)))
        print(rows[-1], flush=True)
    for name, scenario, onset, end in SCENARIOS:
        if a.only and a.only not in name:
            continue
        rows.append(one(dc, work, bundle, a.run_yaml, a.seed, name, scenario, onset, end, a.seconds))
        print(rows[-1], flush=True)
    print("\n| scenario | `--scenario` | gated after onset | reopened after the change ends | worst 8 s: band | worst 8 s: guard bands | gated s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        fmt = lambda v, f="%+.3f s": "n/a" if v is None else f % v
        print("| %s | `%s` | %s | %s | %.3f | %.3f | %s |" % (
            r["name"], r["scenario"], fmt(r.get("gated_after_s")) if "gated_after_s" in r else "-",
            fmt(r.get("reopened_after_end_s"), "%.1f s") if "reopened_after_end_s" in r else "-",
            r["worst_8s_band"], r["worst_8s_guard"], fmt(r["gated_s"], "%.1f")))


if __name__ == "__main__":
    main()
