#!/usr/bin/python3
"""Issue 15's promotion targets, measured on a run of tools/bench-promotion.sh.

Reads the run's directory (the demo layout: sim/, cleaned/, daemon.log, run.yaml) and the outputs of
each model alone over the same input (`deepclean clean`, one directory each), and prints:
  - exactly once: every input second with strain has one output frame, and the daemon's log wrote
    each GPS second once;
  - the switch second S (the log's "model V promoted at GPS S") and the state bits "cleaned" (0) and
    "model OK" (2) on every 1/16-s slot of the seconds S-8 .. S+8;
  - the band ASD ratio cleaned/raw over the 16 s around the switch [S-8, S+8) for the published
    output and for each model alone: sqrt(sum P_cleaned / sum P_raw) over the band's 1-Hz bins,
    one Hann-windowed 1-s segment per second (the daemon's validation measure,
    docs/model-lifecycle.md), and the same per second.
Exit status 0 when every second is there once, the bits hold and the published ratio is no worse
than the worse model's alone (the target: "no worse than either model's alone").
"""
import argparse
import re
import sys

import numpy as np

sys.path.insert(0, __import__("os").path.dirname(__file__))
from demo_report import export, frames_by_gps  # noqa: E402


def band_power(x, fs, low, high):
    """Per 1-s segment: the Hann-windowed power summed over the bins in [low, high]."""
    n = int(fs)
    w = np.hanning(n + 1)[:-1]  # periodic Hann, as the daemon's
    segs = x[: len(x) // n * n].reshape(-1, n) * w
    p = np.abs(np.fft.rfft(segs, axis=1)) ** 2
    f = np.fft.rfftfreq(n, 1 / fs)
    return p[:, (f >= low) & (f <= high)].sum(axis=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, help="the run (tools/demo.sh layout)")
    ap.add_argument("--deepclean", required=True)
    ap.add_argument("--alone", nargs=2, action="append", metavar=("NAME", "DIR"), required=True,
                    help="a model's output alone (H-H1_llhoft_DEEPCLEAN-*.gwf)")
    ap.add_argument("--band", nargs=2, type=float, default=[55, 65])
    ap.add_argument("--half", type=int, default=8, help="seconds each side of the switch")
    a = ap.parse_args()
    d = a.dir
    ok = True
    strain = frames_by_gps(d + "/sim/kafka/H1", "H", "H1_llhoft")
    out = frames_by_gps(d + "/cleaned", "H", "H1_llhoft_DEEPCLEAN")
    log = open(d + "/daemon.log").read()
    written = [int(g) for g in re.findall(r"GPS (\d+): output written", log)]
    dup = sorted({g for g in written if written.count(g) > 1})
    missing = sorted(set(strain) - set(out))
    print("inputs %d, outputs %d, output lines in the log %d; missing %s; written twice %s"
          % (len(strain), len(out), len(written), missing or "none", dup or "none"))
    ok &= not missing and not dup and len(written) == len(out)
    m = re.search(r"model (\S+) promoted at GPS (\d+)", log)
    if not m:
        print("no promotion in the log")
        return 1
    version, s = m.group(1), int(m.group(2))
    print("model %s promoted at GPS %d (%s)" % (version, s, re.search(r"promoted at GPS \d+: ([^;]*)", log).group(1)))
    gps = list(range(s - a.half, s + a.half))
    if any(g not in out or g not in strain for g in gps):
        print("the seconds around the switch are not all there")
        return 1
    sv = export(a.deepclean, "H1:DEEPCLEAN-STATE_VECTOR", [out[g] for g in gps]).astype(np.uint32)
    bad = [gps[i // 16] for i in np.nonzero((sv & 5) != 5)[0]]
    print("state bits cleaned and model OK on all %d slots of GPS %d..%d: %s"
          % (len(sv), gps[0], gps[-1], "yes" if not bad else "NO, missing in " + str(sorted(set(bad)))))
    ok &= not bad
    raw = export(a.deepclean, "H1:GDS-CALIB_STRAIN", [strain[g] for g in gps])
    fs = len(raw) / len(gps)
    low, high = a.band
    p_raw = band_power(raw, fs, low, high)
    series = {"published": export(a.deepclean, "H1:GDS-CALIB_STRAIN_DEEPCLEAN", [out[g] for g in gps])}
    for name, directory in a.alone:
        alone = frames_by_gps(directory, "H", "H1_llhoft_DEEPCLEAN")
        series[name + " alone"] = export(a.deepclean, "H1:GDS-CALIB_STRAIN_DEEPCLEAN", [alone[g] for g in gps])
    ratios = {}
    print("band %g-%g Hz, GPS %d..%d (the switch at %d, crossfade from there):" % (low, high, gps[0], gps[-1], s))
    print("  %-16s %s   per second (g - S = %d .. %d)" % ("", "ratio", -a.half, a.half - 1))
    for name, x in series.items():
        p = band_power(x, fs, low, high)
        ratios[name] = float(np.sqrt(p.sum() / p_raw.sum()))
        print("  %-16s %.4f   %s" % (name, ratios[name], " ".join("%.3f" % v for v in np.sqrt(p / p_raw))))
    worst_alone = max(v for k, v in ratios.items() if k != "published")
    passed = ratios["published"] <= worst_alone * (1 + 1e-9)
    print("published %.4f against %.4f for the worse model alone: %s"
          % (ratios["published"], worst_alone, "no worse (PASS)" if passed else "WORSE (FAIL)"))
    ok &= passed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
