#!/usr/bin/python3
"""How fast a retrained model goes stale under drift, and which retrain settings slow that down.

Uses a finished run of tools/retrain-e2e.sh (its archive/ of the newest hours, its sim/ frames, its
run.yaml and a model of its repository as the parent). For each end GPS T and each variant (a YAML
flow map merged into the run's `retrain` section), it
  1. builds an archive holding only the chunks that end at or before T (symbolic links) and a
     repository whose production is the parent, so that `deepclean retrain --once` trains on the span
     ending at T exactly as the live loop would;
  2. cleans [T - 16, T + AFTER) of the run's raw frames with the candidate (`deepclean clean`);
  3. prints the band ASD ratio cleaned/raw (the report's measure: sqrt(sum P_cleaned / sum P_raw)
     over the band's 1-Hz bins of 1-s Hann segments) over consecutive LAG-second blocks after T:
     the figure the service would see that long after the span's end.
The parent itself is measured the same way ("parent"), for reference.

Usage: tools/retrain_lag_study.py --run /tmp/dc-retrain-e2e --parent DIR --end T [T ...]
         [--variant NAME='{learning_rate: 0.002}' ...] [--after 1200] [--lag 300]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from demo_report import export, frames_by_gps  # noqa: E402
from promotion_report import band_power  # noqa: E402

STRAIN, CLEANED = "H1:GDS-CALIB_STRAIN", "H1:GDS-CALIB_STRAIN_DEEPCLEAN"


def merged_retrain(line, extra):
    """The run's `retrain: {...}` flow map with the variant's keys replacing or added."""
    body = line.split("{", 1)[1].rsplit("}", 1)[0]
    keys = dict(kv.split(":", 1) for kv in [x.strip() for x in body.split(",")] if kv)
    if extra:
        for kv in [x for x in extra.strip("{} ").split(",") if x.strip()]:
            k, v = kv.split(":", 1)
            keys[k.strip()] = v
    return "retrain: {" + ", ".join("%s: %s" % (k.strip(), v.strip()) for k, v in keys.items()) + "}"


def config(run_yaml, archive, repo, retrain_extra, out_dir, start, bundle, clean):
    text = open(run_yaml).read()
    text = re.sub(r"(?m)^training_archive: \{directory: [^,]+,", "training_archive: {directory: %s," % archive, text)
    text = re.sub(r"(?m)^models: \{repository: [^,]+,", "models: {repository: %s," % repo, text)
    text = re.sub(r"(?m)^retrain: .*$", lambda m: merged_retrain(m.group(0), retrain_extra), text)
    text = re.sub(r"(?m)^  directory: .*/cleaned$", "  directory: %s" % out_dir, text)
    text = re.sub(r"(?m)^  start: .*$", "  start: %d" % start, text)
    text = re.sub(r"(?m)^  level: debug", "  level: info", text)
    if clean:  # `deepclean clean` with one bundle: no repository
        text = re.sub(r"(?m)^models: .*$\n", "", text)
    text = text.replace("\nmodel:\n", "\nmodel:\n  bundle: %s\n" % bundle, 1)
    return text


def ratios(dc, raw_dir, out_dir, t, after, lag, band):
    raw = frames_by_gps(raw_dir, "H", "H1_llhoft")
    out = frames_by_gps(out_dir, "H", "H1_llhoft_DEEPCLEAN")
    res = []
    for b in range(t, t + after, lag):
        gps = [g for g in range(b, b + lag) if g in raw and g in out]
        h = export(dc, STRAIN, [raw[g] for g in gps])
        c = export(dc, CLEANED, [out[g] for g in gps])
        fs = len(h) / len(gps)
        res.append(float(np.sqrt(band_power(c, fs, *band).sum() / band_power(h, fs, *band).sum())))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--parent", required=True, help="the parent bundle (a version of the run's repository)")
    ap.add_argument("--end", type=int, nargs="+", required=True)
    ap.add_argument("--variant", action="append", default=[], help="NAME=FLOWMAP (merged into retrain)")
    ap.add_argument("--after", type=int, default=1200)
    ap.add_argument("--lag", type=int, default=300)
    ap.add_argument("--deepclean", default="build/daemon/deepclean")
    ap.add_argument("--band", nargs=2, type=float, default=[55, 65])
    a = ap.parse_args()
    dc = os.path.abspath(a.deepclean)
    run_yaml = os.path.join(a.run, "run.yaml")
    variants = [("parent", None)] + [tuple(v.split("=", 1)) for v in (a.variant or ["default={}"])]
    chunks = sorted(os.listdir(os.path.join(a.run, "archive")))
    print("end GPS | variant | band ratio per %d s after the span's end, up to %d s" % (a.lag, a.after))
    for t in a.end:
        for name, extra in variants:
            work = tempfile.mkdtemp(prefix="dc-lag-")
            try:
                archive, repo, out = (os.path.join(work, d) for d in ("archive", "models", "cleaned"))
                for d in (archive, repo, out):
                    os.makedirs(d)
                bundle = os.path.abspath(a.parent)
                if extra is not None:
                    for c in chunks:
                        m = re.search(r"-(\d+)-(\d+)\.gwf$", c)
                        if m and int(m.group(1)) + int(m.group(2)) <= t:
                            os.symlink(os.path.join(os.path.abspath(a.run), "archive", c), os.path.join(archive, c))
                    # The repository: the parent as its production (what `deepclean run` would have recorded).
                    shutil.copytree(bundle, os.path.join(repo, "parent"))
                    open(os.path.join(repo, ".record.json"), "w").write(json.dumps({
                        "format": "deepclean-model-record/1", "pinned": None, "decisions": [],
                        "versions": [{"name": "parent", "id": "", "state": "production", "reason": "the study's parent",
                                      "since": "", "since_gps": 0}]}))
                    open(os.path.join(work, "retrain.yaml"), "w").write(
                        config(run_yaml, archive, repo, extra, out, t, os.path.join(repo, "parent"), False))
                    r = subprocess.run([dc, "retrain", "--config", os.path.join(work, "retrain.yaml"), "--once"],
                                       capture_output=True, text=True)
                    made = [d for d in os.listdir(repo) if d.startswith("retrain-")]
                    if not made:
                        last = [l for l in (r.stdout + r.stderr).splitlines() if l.startswith("retrain")][-3:]
                        print("%d | %s | not published: %s" % (t, name, " / ".join(last) or r.stderr[-300:]))
                        continue
                    bundle = os.path.join(repo, made[0])
                open(os.path.join(work, "clean.yaml"), "w").write(config(run_yaml, archive, repo, "", out, t - 16, bundle, True))
                # 16 s beyond the last block: the segment's end taper stays out of the figures.
                subprocess.run([dc, "clean", "--config", os.path.join(work, "clean.yaml"), "--start", str(t - 16),
                                "--end", str(t + a.after + 16)], capture_output=True, check=True)
                r = ratios(dc, os.path.join(a.run, "sim", "kafka", "H1"), out, t, a.after, a.lag, a.band)
                print("%d | %s | %s" % (t, name, " ".join("%.3f" % x for x in r)), flush=True)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
