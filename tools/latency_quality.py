#!/usr/bin/python3
"""The latency-quality study (docs/latency-quality.md): band ASD ratio against algorithmic latency.

One command, deterministic for its seeds on one machine:
  1. `deepclean simulate`: TRAIN + TEST seconds of frames (seed --seed, the demo's 6 witnesses),
  2. `deepclean train`, plain: the demo bundle's recipe (demo/train.yaml: 4-s kernels, 30 epochs) on
     the first TRAIN seconds,
  3. two fine-tunings of that network on the same seconds, --finetune-epochs each: with the plain loss
     (the control: as much extra training) and with the streaming-aware loss (training.stream_weight
     --stream-weight, 0.5: half the loss on the last --stream-aggregation s of each kernel, the part the
     daemon averages),
  4. for each network, aggregation window N and band-pass (causal; window and fir at several
     look-aheads): `deepclean clean` over the TEST seconds (never seen in training) and the band ASD
     ratio cleaned/raw over the fully cleaned stretch (state bit 0), measured here with scipy's Welch
     (1-s Hann segments, half overlap; mean over the band's bins of sqrt(PSD ratio), as the demo
     report), the same ratio in the guard bands 45-55 and 65-75 Hz (the larger of the two: above 1,
     cleaning adds noise beside the band) and the worst 1-Hz bin from 40 to 85 Hz outside the band.
     The algorithmic latency is the one `deepclean check-config` prints.
Writes results.csv, table.md and latency-quality.png to --out; the work files go to --work.
Usage: /usr/bin/python3 tools/latency_quality.py --deepclean build/daemon/deepclean [--out docs/latency-quality]
"""
import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
from scipy.signal import welch

from demo_report import export, longest_run  # tools/demo_report.py: read back a channel, the fully cleaned run

WITNESSES = ["H1:PEM-CS_MAINSMON_EBAY_1_DQ", "H1:ASC-CHARD_P_OUT_DQ", "H1:ASC-DHARD_Y_OUT_DQ",
             "H1:ASC-PRC2_P_OUT_DQ", "H1:ASC-SRC1_Y_OUT_DQ", "H1:ASC-MICH_P_OUT_DQ"]
STRAIN = "H1:GDS-CALIB_STRAIN"
CLEANED = "H1:GDS-CALIB_STRAIN_DEEPCLEAN"
STATE = "H1:DEEPCLEAN-STATE_VECTOR"
BAND = (55.0, 65.0)
START = 1300010000
RATE = 32  # kernels per second, as the demo

# (method, look-ahead s): the band-passes compared. fir look-aheads are whole samples at 512 Hz.
# "fir+W" is fir with bandpass.bands widened by W Hz on each side: firwin puts its -6 dB points at
# the band edges, so with the cleaning band's own edges only the band's middle is passed at full
# gain (at L = 0.25 s the gain is 0.5 at the edges). Widening passes more of the band, and also
# more of the network's prediction just outside it, which no loss constrains: the guard-band
# figures below measure that harm (fir+4 at 0.25 s: ASD ratio up to ~70 at 68 Hz in the demo).
BANDPASSES = [("causal", 0.0), ("fir", 0.125), ("fir", 0.25), ("fir", 0.4375), ("fir", 1.0),
              ("fir+1", 0.125), ("fir+1", 0.25), ("fir+1", 0.4375), ("fir+4", 0.25),
              ("window", 0.125), ("window", 0.25), ("window", 0.5), ("window", 1.0)]
AGGREGATIONS = [0.25, 0.5, 0.75, 1.0, 2.0]
# The fine-tuned networks are compared with the plain one on the settings that fit a 1-s latency.
FINETUNED_AGGREGATIONS = [0.5, 0.75, 1.0]
FINETUNED_BANDPASSES = [("fir", 0.4375), ("fir+1", 0.25), ("fir+1", 0.4375), ("window", 0.25)]
# Guard bands: 10 Hz on each side of the cleaning band, where a band-pass edge passes prediction
# that the training loss never saw. Their ASD ratio should stay at 1 (no harm); "worst bin" is the
# largest 1-Hz-bin ratio from 40 to 85 Hz outside the band.
GUARDS = [(45.0, 55.0), (65.0, 75.0)]


def run(cmd, log=None, **kw):
    t = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if log:
        with open(log, "w") as f:
            f.write(r.stdout + r.stderr)
    if r.returncode != 0:
        sys.exit("failed (%d): %s\n%s%s" % (r.returncode, " ".join(cmd), r.stdout[-3000:], r.stderr[-3000:]))
    return r.stdout, time.time() - t


def train_config(path, sim, bundle, start, end, epochs, lr, initial=None, stream_weight=0.0, aggregation=0.5):
    lines = [
        "data:",
        "  strain: {directory: %s/kafka/H1, frame_type: H1_llhoft}" % sim,
        "  witness: {directory: %s/lldetchar/H1, frame_type: H1_lldetchar}" % sim,
        "  start: %d" % start,
        "  end: %d" % end,
        "  state: {channel: H1:GDS-CALIB_STATE_VECTOR, mask: 3}",
        "channels:",
        "  strain: %s" % STRAIN,
        "  witnesses: [%s]" % ", ".join(WITNESSES),
        "model: {sample_rate: 512, bands: [[%g, %g]], filter_order: 8}" % BAND,
        "training:",
        "  kernel_seconds: 4",
        "  kernel_stride_seconds: 0.5",
        "  fftlength_seconds: 1",
        "  batch_size: 16",
        "  learning_rate: %g" % lr,
        "  epochs: %d" % epochs,
        "  validation_fraction: 0.2",
        "  patience: 6",
        "  seed: 7",
        "  threads: 2",
    ]
    if initial:
        lines.append("  initial_bundle: %s" % initial)
    if stream_weight > 0:
        lines.append("  stream_weight: %g" % stream_weight)
        lines.append("stream: {kernel_seconds: 1, sampling_rate: %d, aggregation_seconds: %g, method: fir, "
                     "look_ahead_seconds: 0.4375, bands: [[54, 66]]}" % (RATE, aggregation))
    lines += ["output: {bundle: %s, version: latency-quality, force: true}" % bundle]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def clean_config(path, sim, out, bundle, kernel, aggregation, method, look_ahead):
    base, _, widen = method.partition("+")
    bp = "{method: %s, memory_seconds: 10%s%s}" % (
        base, "" if method == "causal" else ", look_ahead_seconds: %g" % look_ahead,
        ", bands: [[%g, %g]]" % (BAND[0] - float(widen), BAND[1] + float(widen)) if widen else "")
    text = """ifo: H1
input:
  strain: {directory: %s/kafka/H1, frame_type: H1_llhoft, channel: %s}
  witness: {directory: %s/lldetchar/H1, frame_type: H1_lldetchar}
  state_vector: {channel: H1:GDS-CALIB_STATE_VECTOR, mask: 3}
output: {directory: %s, frame_type: H1_llhoft_DEEPCLEAN, channel: %s, state_vector_channel: %s, compression: raw}
model: {bundle: %s, device: cpu, threads: 2, batch_size: 64}
inference: {kernel_seconds: %g, sampling_rate: %d, aggregation_seconds: %g}
bandpass: %s
subtraction: {taper_seconds: 1}
logging: {level: warn}
""" % (sim, STRAIN, sim, out, CLEANED, STATE, bundle, kernel, RATE, aggregation, bp)
    with open(path, "w") as f:
        f.write(text)


def band_ratio(dc, sim, out, t0, t1):
    seconds = list(range(t0, t1))
    raw_files = [os.path.join(sim, "kafka/H1/H-H1_llhoft-%d-1.gwf" % g) for g in seconds]
    cln_files = [os.path.join(out, "H-H1_llhoft_DEEPCLEAN-%d-1.gwf" % g) for g in seconds]
    missing = [f for f in cln_files if not os.path.exists(f)]
    if missing:
        sys.exit("no output frame %s" % missing[0])
    raw = export(dc, STRAIN, raw_files)
    cln = export(dc, CLEANED, cln_files)
    sv = export(dc, STATE, cln_files).astype(np.uint32)
    fs = len(raw) / len(seconds)
    per_slot = int(round(fs / 16))
    s0, s1 = longest_run((sv & 1) == 1)  # bit 0: fully cleaned (no taper) throughout the 1/16 s
    i0, i1 = s0 * per_slot, s1 * per_slot
    n = int(fs)
    f, p_raw = welch(raw[i0:i1], fs=fs, window="hann", nperseg=n, noverlap=n // 2)
    _, p_cln = welch(cln[i0:i1], fs=fs, window="hann", nperseg=n, noverlap=n // 2)
    r = np.sqrt(p_cln / p_raw)
    band = (f >= BAND[0]) & (f <= BAND[1])
    # Guard bands exclude the band's edge bins: [45, 55) and (65, 75].
    guard = max(float(np.mean(r[(f >= lo) & (f <= hi) & ((f < BAND[0]) | (f > BAND[1]))])) for lo, hi in GUARDS)
    outside = (f >= 40) & (f <= 85) & ((f < BAND[0]) | (f > BAND[1]))
    return float(np.mean(r[band])), guard, float(np.max(r[outside])), (i1 - i0) / fs


def latency_of(dc, cfg):
    out, _ = run([dc, "check-config", cfg])
    m = re.search(r"latency:\s+([0-9.]+) s algorithmic", out)
    if not m:
        sys.exit("check-config printed no latency line for %s:\n%s" % (cfg, out))
    return float(m.group(1))


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    modes = sorted({r["training"] for r in rows}, key=lambda m: ["plain", "plain+finetune", "stream-aware"].index(m))
    fig, axes = plt.subplots(1, len(modes), figsize=(5.2 * len(modes), 4.6), sharey=True, squeeze=False)
    marker = {"causal": "s", "fir": "o", "fir+1": "D", "fir+4": "X", "window": "^"}
    colors = {a: c for a, c in zip(AGGREGATIONS, ["tab:blue", "tab:orange", "tab:purple", "tab:green", "tab:red"])}
    for ax, mode in zip(axes[0], modes):
        for r in rows:
            if r["training"] != mode:
                continue
            harm = r["guard"] > 1.05  # hollow: the guard bands are made worse
            c = colors[r["aggregation_s"]]
            ax.scatter(r["latency_s"], r["ratio"], marker=marker[r["method"]], s=36, alpha=0.85,
                       facecolors="none" if harm else c, edgecolors=c)
        ax.axvline(1.0, color="0.6", lw=0.8, ls="--")
        ax.set_title("training: %s (hollow: guard bands worse)" % mode)
        ax.set_xlabel("algorithmic latency (s)")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("band ASD ratio cleaned/raw, %g-%g Hz" % BAND)
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], marker=marker[m], ls="", color="0.3", label=m) for m in marker]
    handles += [Line2D([], [], marker="o", ls="", color=colors[a], label="aggregation %g s" % a) for a in AGGREGATIONS]
    axes[0][-1].legend(handles=handles, fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deepclean", required=True)
    ap.add_argument("--out", default="docs/latency-quality")
    ap.add_argument("--work", default="build-study/latency-quality")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--train-seconds", type=int, default=1200)
    ap.add_argument("--test-seconds", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--finetune-epochs", type=int, default=10)
    ap.add_argument("--stream-aggregation", type=float, default=0.5)
    ap.add_argument("--stream-weight", type=float, default=0.5)
    ap.add_argument("--keep", action="store_true", help="keep the simulated frames and outputs")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 2 aggregations x 3 band-passes")
    a = ap.parse_args()
    if a.quick:
        AGGREGATIONS[:] = FINETUNED_AGGREGATIONS[:] = [0.5, 1.0]
        BANDPASSES[:] = FINETUNED_BANDPASSES[:] = [("causal", 0.0), ("fir+1", 0.4375), ("window", 0.5)]
    dc = os.path.abspath(a.deepclean)
    os.makedirs(a.work, exist_ok=True)
    os.makedirs(a.out, exist_ok=True)
    work = os.path.abspath(a.work)
    sim = os.path.join(work, "sim")
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    t_begin = time.time()
    t_train, t_test = START + a.train_seconds, START + a.train_seconds + a.test_seconds

    if not os.path.exists(os.path.join(sim, "kafka/H1/H-H1_llhoft-%d-1.gwf" % (t_test - 1))):
        shutil.rmtree(sim, ignore_errors=True)
        print("simulate %d s (seed %d)" % (t_test - START, a.seed), flush=True)
        run([dc, "simulate", "--out", sim, "--unrelated", "0", "--seed", str(a.seed), "--start", str(START),
             "--duration", str(t_test - START), "--compress", "raw", "--quiet"])

    bundles = {}
    plain = os.path.join(work, "bundle-plain")
    specs = [("plain", plain, dict(epochs=a.epochs, lr=0.05)),
             ("plain+finetune", os.path.join(work, "bundle-finetune"),
              dict(epochs=a.finetune_epochs, lr=0.005, initial=plain)),
             ("stream-aware", os.path.join(work, "bundle-stream"),
              dict(epochs=a.finetune_epochs, lr=0.005, initial=plain, stream_weight=a.stream_weight,
                   aggregation=a.stream_aggregation))]
    for mode, bundle, kw in specs:
        if not os.path.exists(os.path.join(bundle, "bundle.yaml")):
            cfg = os.path.join(work, "train-%s.yaml" % mode)
            train_config(cfg, sim, bundle, START, t_train, **kw)
            print("train %s -> %s" % (mode, bundle), flush=True)
            _, dt = run([dc, "train", "--config", cfg], log=bundle + ".log")
            print("  %.0f s" % dt, flush=True)
        bundles[mode] = bundle

    # Results are kept in work/rows.txt (one line per cleaning run), so a rerun with a larger grid
    # only runs what is new.
    done = {}
    cache = os.path.join(work, "rows.txt")
    if os.path.exists(cache):
        for line in open(cache):
            row = dict(kv.split("=", 1) for kv in line.split())
            if "guard" not in row:
                continue  # a row of the first version of this study, without the guard bands
            done[(row["training"], float(row["aggregation_s"]), row["method"], float(row["look_ahead_s"]))] = row
    rows = []
    for mode, bundle in bundles.items():
        for agg in AGGREGATIONS if mode == "plain" else FINETUNED_AGGREGATIONS:
            kernel = max(1.0, agg)
            for method, look_ahead in BANDPASSES if mode == "plain" else FINETUNED_BANDPASSES:
                key = (mode, agg, method, look_ahead)
                if key in done:
                    r = done[key]
                    rows.append(dict(training=mode, aggregation_s=agg, kernel_s=kernel, method=method,
                                     look_ahead_s=look_ahead, latency_s=float(r["latency_s"]), ratio=float(r["ratio"]),
                                     guard=float(r["guard"]), worst_bin=float(r["worst_bin"]), cleaned_s=float(r["cleaned_s"]), clean_wall_s=float(r["clean_wall_s"])))
                    continue
                tag = "%s-N%g-%s%g" % (mode, agg, method, look_ahead)
                out = os.path.join(work, "out", tag)
                shutil.rmtree(out, ignore_errors=True)
                os.makedirs(out)
                cfg = os.path.join(work, "out", tag + ".yaml")
                clean_config(cfg, sim, out, bundle, kernel, agg, method, look_ahead)
                latency = latency_of(dc, cfg)
                _, dt = run([dc, "clean", "--config", cfg, "--start", str(t_train), "--end", str(t_test)])
                ratio, guard, worst, seconds = band_ratio(dc, sim, out, t_train, t_test)
                if not a.keep:
                    shutil.rmtree(out)
                row = dict(training=mode, aggregation_s=agg, kernel_s=kernel, method=method,
                           look_ahead_s=look_ahead, latency_s=round(latency, 4), ratio=round(ratio, 4),
                           guard=round(guard, 4), worst_bin=round(worst, 3), cleaned_s=round(seconds, 2), clean_wall_s=round(dt, 1))
                line = "  ".join("%s=%s" % kv for kv in row.items())
                print(line, flush=True)
                with open(cache, "a") as f:
                    f.write(line + "\n")
                rows.append(row)

    with open(os.path.join(a.out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    # The table: one row per (training, band-pass), one column per aggregation window:
    # band ratio / guard-band ratio (latency); harm (guard > 1.05) in bold.
    with open(os.path.join(a.out, "table.md"), "w") as f:
        f.write("| training | band-pass, look-ahead | " + " | ".join("N = %g s" % g for g in AGGREGATIONS) + " |\n")
        f.write("|---|---|" + "---|" * len(AGGREGATIONS) + "\n")
        for mode in bundles:
            for method, look_ahead in BANDPASSES:
                cells = []
                for agg in AGGREGATIONS:
                    r = [x for x in rows if x["training"] == mode and x["method"] == method
                         and x["look_ahead_s"] == look_ahead and x["aggregation_s"] == agg]
                    if r:
                        g = "%.2f" % r[0]["guard"]
                        cells.append("%.3f / %s (%.2f s)" % (r[0]["ratio"], "**%s**" % g if r[0]["guard"] > 1.05 else g,
                                                             r[0]["latency_s"]))
                    else:
                        cells.append("")
                if any(cells):
                    f.write("| %s | %s %g s | %s |\n" % (mode, method, look_ahead, " | ".join(cells)))
    plot(rows, os.path.join(a.out, "latency-quality.png"))
    if not a.keep:
        shutil.rmtree(sim)
    print("done in %.0f s: %s/{results.csv,table.md,latency-quality.png}" % (time.time() - t_begin, a.out))


if __name__ == "__main__":
    main()
