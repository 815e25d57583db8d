#!/usr/bin/env python3
"""Prediction vs measurement for the CUDA engine (issue 4, item 9).

Runs `ridge bench --device cuda --profile` for every zoo model x batch x precision, with the
device profile `ridge probe` wrote, and compares, per configuration:
  measured  = GPU compute median of the CUDA-graph replays (what `ridge bench` reports),
  predicted = the analyzer's per-step prediction summed over the engine's steps,
  flops     = the model's FLOPs (the naive predictor, for contrast).
Prints and writes Spearman rank correlations (predicted vs measured, FLOPs vs measured), the
median absolute relative error of the prediction, and the per-layer Spearman inside each run.

Usage (GPU machine, repo root; scripts/gpu_roundtrip.sh --remote predict does this):
  python3 bench/predict_vs_measure.py --ridge .gpu/bin/ridge --profile $OUT/probe_profile.json \
      --out $OUT/prediction_vs_measurement
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ZOO = ["resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "convnext_tiny", "yolov8n"]


def ranks(xs):
    """Average ranks (ties share the mean rank), 1-based."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return r


def spearman(a, b):
    """Pearson correlation of the ranks (handles ties)."""
    if len(a) < 3:
        return float("nan")
    ra, rb = ranks(a), ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = sum((x - ma) ** 2 for x in ra) ** 0.5
    vb = sum((y - mb) ** 2 for y in rb) ** 0.5
    return cov / (va * vb) if va > 0 and vb > 0 else float("nan")


def median(xs):
    s = sorted(xs)
    n = len(s)
    return (s[n // 2] + s[(n - 1) // 2]) / 2.0 if n else float("nan")


def run_one(ridge, model, precision, batch, profile, timeout, cache):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    cmd = [ridge, "bench", model, "--device", "cuda", "--precision", precision, "--batch",
           str(batch), "--profile", "--device-profile", profile, "--json", out,
           "--duration-s", "1"]
    if cache:
        cmd += ["--timing-cache", cache]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            print(f"  FAILED {' '.join(cmd)}\n{p.stderr[-600:]}", file=sys.stderr)
            return None
        with open(out) as f:
            return json.load(f)
    except (subprocess.TimeoutExpired, json.JSONDecodeError) as e:
        print(f"  FAILED {' '.join(cmd)}: {e}", file=sys.stderr)
        return None
    finally:
        os.unlink(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ridge", required=True, help="the ridge binary")
    ap.add_argument("--profile", required=True, help="device profile from `ridge probe -o`")
    ap.add_argument("--models-dir", default="models")
    ap.add_argument("--models", default=",".join(ZOO))
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--precisions", default="fp16,fp32")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--timing-cache", default="", help="passed to ridge bench (warm rebuilds)")
    ap.add_argument("--out", required=True, help="output prefix: writes PREFIX.json, PREFIX.md")
    a = ap.parse_args()

    rows = []
    for m in a.models.split(","):
        path = os.path.join(a.models_dir, m + ".onnx")
        if not os.path.exists(path):
            print(f"  skip {m}: {path} absent", file=sys.stderr)
            continue
        for prec in a.precisions.split(","):
            for b in (int(x) for x in a.batches.split(",")):
                d = run_one(a.ridge, path, prec, b, a.profile, a.timeout, a.timing_cache)
                if not d or "profile" not in d:
                    continue
                steps = d["profile"]["steps"]
                meas = d["compute_ms"]["median"]
                pred = d["profile"]["predicted_ms"]
                flops = sum(s.get("flops", 0) for s in steps)
                layer = [(s["predicted_ms"], s["measured_ms"]) for s in steps
                         if s.get("predicted_ms", -1) > 0]
                row = {"model": m, "precision": prec, "batch": b, "measured_ms": meas,
                       "predicted_ms": pred, "flops": flops,
                       "steps_measured_ms": d["profile"]["measured_ms"],
                       "rel_error": (pred - meas) / meas if meas > 0 else None,
                       "layer_spearman": spearman([p for p, _ in layer], [q for _, q in layer])}
                rows.append(row)
                print(f"{m:16s} {prec} b{b:<3d} measured {meas:8.3f} ms  predicted {pred:8.3f} ms"
                      f"  ({row['rel_error'] * 100:+6.1f}%)  steps sum {row['steps_measured_ms']:.3f}"
                      f"  layer rho {row['layer_spearman']:.2f}", flush=True)
    if len(rows) < 3:
        print("too few runs to correlate", file=sys.stderr)
        return 1
    meas = [r["measured_ms"] for r in rows]
    summary = {
        "configurations": len(rows),
        "spearman_predicted": spearman([r["predicted_ms"] for r in rows], meas),
        "spearman_flops": spearman([r["flops"] for r in rows], meas),
        "median_abs_rel_error": median([abs(r["rel_error"]) for r in rows]),
        "median_layer_spearman": median([r["layer_spearman"] for r in rows]),
    }
    with open(a.out + ".json", "w") as f:
        json.dump({"summary": summary, "rows": rows, "device_profile": a.profile}, f, indent=1)
    with open(a.out + ".md", "w") as f:
        f.write("# Prediction vs measurement, CUDA engine\n\n")
        f.write("| model | precision | batch | measured ms | predicted ms | error | layer rho |\n")
        f.write("|---|---|---|---|---|---|---|\n")
        for r in rows:
            f.write(f"| {r['model']} | {r['precision']} | {r['batch']} | {r['measured_ms']:.3f} |"
                    f" {r['predicted_ms']:.3f} | {r['rel_error'] * 100:+.1f}% |"
                    f" {r['layer_spearman']:.2f} |\n")
        f.write(f"\nSpearman, predicted vs measured: {summary['spearman_predicted']:.3f}; "
                f"FLOPs vs measured: {summary['spearman_flops']:.3f}; median |error| "
                f"{summary['median_abs_rel_error'] * 100:.1f}%; median per-layer Spearman "
                f"{summary['median_layer_spearman']:.2f} ({len(rows)} configurations).\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
