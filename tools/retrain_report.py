#!/usr/bin/python3
"""Issue 16's end-to-end report, from a run of tools/retrain-e2e.sh.

Reads the run's directory: sim/ (the raw strain), cleaned/ (`deepclean run` with `deepclean retrain`
beside it), baseline/ (`deepclean clean` with the starting model alone), daemon.log (debug: one line
per output second; promotions, rejections, roll-backs) and retrain.log (one line per cycle and its
outcome), and writes report.md and retrain-e2e.png into --out:
  - the band ASD ratio cleaned/raw per minute for both, over the seconds of observing input outside
    a segment's start or end ramp (state-vector bit 1 "input OK" set and bit 3 "in taper" clear on
    all 16 slots, in both outputs): sqrt(sum P_cleaned / sum P_raw) over the band's 1-Hz bins of one
    Hann-windowed 1-s segment per second (the daemon's validation measure). A second the gate kept
    from subtracting counts with what was published (about the raw strain: ratio ~1). A minute with
    fewer than 30 such seconds (a lock loss) is not counted;
  - the fraction of counted minutes at or below the target (0.2) for each;
  - the seconds the do-no-harm gate touched (bit 5) in each;
  - the retrain cycles (trigger, span, outcome) and the lifecycle's decisions on the GPS axis.
"""
import argparse
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from demo_report import export, frames_by_gps  # noqa: E402
from promotion_report import band_power  # noqa: E402

STRAIN, CLEANED, STATE = "H1:GDS-CALIB_STRAIN", "H1:GDS-CALIB_STRAIN_DEEPCLEAN", "H1:DEEPCLEAN-STATE_VECTOR"


def decisions(daemon_log):
    """[(gps, kind, version, text)] from the daemon's log; a line without a GPS takes the last
    output second written before it."""
    out, last = [], None
    for line in open(daemon_log, errors="replace"):
        m = re.search(r"GPS (\d+): output written", line)
        if m:
            last = int(m.group(1))
            continue
        for kind, pat in (("promoted", r"model (\S+) promoted at GPS (\d+)"),
                          ("rolled back", r"model (\S+) rolled back at GPS (\d+)")):
            m = re.search(pat, line)
            if m:
                out.append((int(m.group(2)), kind, m.group(1), re.sub(r"^<\d>\S+ \S+ \w+: ", "", line).strip()))
        m = re.search(r"model (\S+) rejected: (.*)", line)
        if m and last is not None:
            out.append((last, "rejected", m.group(1), m.group(2).strip()))
        m = re.search(r"model repository: new version (\S+)", line)
        if m and last is not None:
            out.append((last, "canary", m.group(1), "new version in the repository"))
    return out


def cycles(retrain_log):
    """[(trigger, start, end, outcome, text)] from the retrain's log."""
    out, cur = [], None
    for line in open(retrain_log, errors="replace"):
        m = re.match(r"retrain: cycle \((\w+): .*\) on GPS (\d+)-(\d+)", line)
        if m:
            cur = (m.group(1), int(m.group(2)), int(m.group(3)))
            continue
        m = re.match(r"retrain: (published|not published|skipped): (.*)", line)
        if m and cur:
            out.append(cur + (m.group(1), m.group(2).strip()))
            cur = None
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--deepclean", required=True)
    ap.add_argument("--start", type=int, required=True)
    ap.add_argument("--seconds", type=int, required=True)
    ap.add_argument("--drift", default="")
    ap.add_argument("--speed", default="")
    ap.add_argument("--settings", default="", help="the run's retrain and models settings, for the report")
    ap.add_argument("--band", nargs=2, type=float, default=[55, 65])
    ap.add_argument("--target", type=float, default=0.2)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    d = a.dir
    raw_f = frames_by_gps(d + "/sim/kafka/H1", "H", "H1_llhoft")
    with_f = frames_by_gps(d + "/cleaned", "H", "H1_llhoft_DEEPCLEAN")
    without_f = frames_by_gps(d + "/baseline", "H", "H1_llhoft_DEEPCLEAN")
    low, high = a.band
    minutes = []  # (gps of the minute's start, ratio with, ratio without, counted seconds)
    gated = {"with": 0, "without": 0}
    missing = {"with": 0, "without": 0}
    block = 600
    for b0 in range(a.start, a.start + a.seconds, block):
        gps = [g for g in range(b0, min(b0 + block, a.start + a.seconds)) if g in raw_f]
        missing["with"] += sum(g not in with_f for g in gps)
        missing["without"] += sum(g not in without_f for g in gps)
        gps = [g for g in gps if g in with_f and g in without_f]
        if not gps:
            continue
        raw = export(a.deepclean, STRAIN, [raw_f[g] for g in gps])
        fs = len(raw) / len(gps)
        p_raw = band_power(raw, fs, low, high)
        p, clean = {}, None
        for name, files in (("with", with_f), ("without", without_f)):
            p[name] = band_power(export(a.deepclean, CLEANED, [files[g] for g in gps]), fs, low, high)
            sv = export(a.deepclean, STATE, [files[g] for g in gps]).astype(np.uint32).reshape(len(gps), -1)
            full = ((sv & 2) != 0).all(axis=1) & ((sv & 8) == 0).all(axis=1)
            gated[name] += int(((sv & 32) != 0).any(axis=1).sum())
            clean = full if clean is None else clean & full
        for m0 in range(b0, b0 + block, 60):
            idx = [i for i, g in enumerate(gps) if m0 <= g < m0 + 60 and clean[i]]
            if len(idx) < 30:
                minutes.append((m0, np.nan, np.nan, len(idx)))
                continue
            r = [float(np.sqrt(p[n][idx].sum() / p_raw[idx].sum())) for n in ("with", "without")]
            minutes.append((m0, r[0], r[1], len(idx)))
    mins = np.array(minutes, dtype=float)
    counted = ~np.isnan(mins[:, 1])
    rw, rwo = mins[counted, 1], mins[counted, 2]
    dec = decisions(d + "/daemon.log")
    cyc = cycles(d + "/retrain.log")
    os.makedirs(a.out, exist_ok=True)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    hours = (mins[:, 0] - a.start) / 3600
    fig, ax = plt.subplots(figsize=(11, 5))
    ax.semilogy(hours, mins[:, 2], "-", color="tab:red", lw=1, label="without retraining (demo bundle alone)")
    ax.semilogy(hours, mins[:, 1], "-", color="tab:blue", lw=1.2, label="with retraining")
    ax.axhline(a.target, color="k", ls="--", lw=0.8, label="target %.1f" % a.target)
    for g, kind, v, _ in dec:
        x = (g - a.start) / 3600
        if kind == "promoted":
            ax.axvline(x, color="tab:green", lw=0.8, alpha=0.7)
        elif kind == "rejected":
            ax.plot([x], [1.5], "x", color="tab:red", ms=6)
        elif kind == "rolled back":
            ax.axvline(x, color="tab:orange", lw=1.2)
    for trig, s, e, outcome, _ in cyc:
        ax.plot([(e - a.start) / 3600], [2.2], "v" if outcome == "published" else "o", color="tab:blue"
                if outcome == "published" else "0.5", ms=5)
    lost = np.isnan(mins[:, 1])
    for h, l in zip(hours, lost):
        if l:
            ax.axvspan(h, h + 1 / 60, color="0.85", lw=0)
    ax.set_xlabel("hours of simulated time from GPS %d" % a.start)
    ax.set_ylabel("band ASD ratio cleaned/raw, %g-%g Hz, per minute" % (low, high))
    ax.set_ylim(0.02, 3)
    ax.set_title("retraining against drift: green lines promotions, red x rejections; triangles published "
                 "candidates, grey dots not published; grey: not counted", fontsize=9)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "retrain-e2e.png"), dpi=110)

    def frac(r):
        return 100.0 * float(np.mean(r <= a.target)) if len(r) else float("nan")

    L = []
    L.append("# Retraining against drift, end to end (issue 16)\n")
    L.append("Produced by `tools/retrain-e2e.sh` (%s s of simulated time from GPS %d at %sx, scenario `%s`); "
             "figures by `tools/retrain_report.py`. Method: the script's and the report's docstrings.\n"
             % (a.seconds, a.start, a.speed, a.drift))
    if a.settings:
        L.append("Settings: %s\n" % a.settings)
    L.append("![band ratio per minute](retrain-e2e.png)\n")
    L.append("| figure | with retraining | without (starting model alone) |")
    L.append("|---|---|---|")
    L.append("| minutes counted (≥ 30 observing seconds outside ramps) | %d of %d | the same |" % (counted.sum(), len(mins)))
    L.append("| minutes with band ratio ≤ %.1f | **%.1f %%** | %.1f %% |" % (a.target, frac(rw), frac(rwo)))
    L.append("| band ratio per minute: median / 95th percentile / max | %.3f / %.3f / %.3f | %.3f / %.3f / %.3f |"
             % (np.median(rw), np.percentile(rw, 95), rw.max(), np.median(rwo), np.percentile(rwo, 95), rwo.max()))
    L.append("| seconds touched by the do-no-harm gate (bit 5) | %d | %d |" % (gated["with"], gated["without"]))
    L.append("| input seconds without an output frame | %d | %d |" % (missing["with"], missing["without"]))
    pub = sum(c[3] == "published" for c in cyc)
    L.append("| retrain cycles: published / not published / skipped | %d / %d / %d | — |"
             % (pub, sum(c[3] == "not published" for c in cyc), sum(c[3] == "skipped" for c in cyc)))
    L.append("| lifecycle: promotions / rejections / roll-backs | %d / %d / %d | — |"
             % tuple(sum(k == x for _, k, _, _ in dec) for x in ("promoted", "rejected", "rolled back")))
    L.append("\n## Per hour: median band ratio per minute\n")
    L.append("| hour | with | without | minutes counted |")
    L.append("|---|---|---|---|")
    for h in range(int(np.ceil(a.seconds / 3600))):
        sel = counted & (mins[:, 0] >= a.start + 3600 * h) & (mins[:, 0] < a.start + 3600 * (h + 1))
        if sel.any():
            L.append("| %d | %.3f | %.3f | %d |" % (h, np.median(mins[sel, 1]), np.median(mins[sel, 2]), sel.sum()))
    L.append("\n## Timeline (GPS, hours from the start)\n")
    L.append("| GPS | h | event |")
    L.append("|---|---|---|")
    events = [(e, "retrain %s cycle on GPS %d-%d: %s: %s" % (t, s, e, o, txt[:160])) for t, s, e, o, txt in cyc]
    events += [(g, "model %s %s: %s" % (v, k, txt[:160])) for g, k, v, txt in dec]
    for g, text in sorted(events):
        L.append("| %d | %.2f | %s |" % (g, (g - a.start) / 3600, text.replace("|", "/")))
    open(os.path.join(a.out, "report.md"), "w").write("\n".join(L) + "\n")
    print("\n".join(L[:14]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
