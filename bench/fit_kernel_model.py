#!/usr/bin/env python3
"""Calibrates the analyzer's kernel model against measured CUDA-engine latencies (issue 4 item 9).

The plain roofline (FLOPs / peak, bytes / bandwidth, + launch) predicts ResNet-50 fp16 batch 1 on
the H200 at 0.06 ms; the engine measures 0.37 ms: small kernels neither reach the peaks nor fill
132 SMs, and every kernel costs a few microseconds on its own. The device profile's optional
kernel model (docs/metrics.md) adds three figures, fitted here:
  compute_efficiency, memory_efficiency, streaming_memory_efficiency
                                         share of the probed peaks that real kernels reach
                                         (dense GEMM/conv kernels; the others),
  kernel_floor_s                         fixed time per kernel beyond the launch,
and wave quantization from sm_count (measured by `ridge probe`, not fitted).

Input: the GPU run's measurements (bench/predict_vs_measure.py's JSON: model, precision, batch,
measured_ms) and the probe's profile. For each configuration, `ridge analyze --json` here (no
GPU needed) gives the analyzer's kernels; the model is evaluated in Python with the formula of
analysis::PredictKernel, fitted on log error by grid search, checked by leave-one-model-out, and
the calibrated profile is then re-evaluated by `ridge analyze` itself (the figures reported).

  python3 bench/fit_kernel_model.py --ridge build/release/tools/ridge/ridge \
      --measured M.json --probe-profile P.json --out-profile data/devices/h200-calibrated.json \
      --out bench/results/prediction_vs_measurement
"""
import argparse
import datetime
import itertools
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from predict_vs_measure import median, spearman  # noqa: E402

TILE = 128  # analysis::kWaveTile


def analyze(ridge, model, profile, precision, batch):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    try:
        subprocess.run([ridge, "analyze", model, "--device", profile, "--precision", precision,
                        "--batch", str(batch), "--json", out], check=True, capture_output=True)
        with open(out) as f:
            return json.load(f)
    finally:
        os.unlink(out)


def wave_util(k, sms):
    m, n, g = k.get("gemm_m", 0), k.get("gemm_n", 0), max(1, k.get("groups", 1))
    if sms <= 0 or m <= 0 or n <= 0:
        return 1.0
    tiles = math.ceil(m / TILE) * math.ceil(n / TILE) * g
    return tiles / (math.ceil(tiles / sms) * sms)


def predict(kernels, prof, ce, me, se, floor):
    """analysis::PredictKernel summed over the analyzer's kernels, in seconds."""
    total = 0.0
    for k in kernels:
        b = k["bytes_read"] + k["weight_bytes"] + k["bytes_written"]
        dense = k.get("gemm_m", 0) > 0 and k.get("gemm_n", 0) > 1
        bw = prof["memory_bytes_per_s"] * (me if dense else se)
        rate = k["peak_flops_per_s"] * ce * k["_util"]
        total += max(k["flops"] / rate if rate > 0 else 0, b / bw) + prof["launch_overhead_s"] + floor
    return total


def arrays(c, prof):
    """The kernels of one configuration as numpy arrays, for the grid search."""
    if "_np" not in c:
        ks = c["kernels"]
        c["_np"] = (np.array([k["flops"] for k in ks]),
                    np.array([k["bytes_read"] + k["weight_bytes"] + k["bytes_written"] for k in ks]),
                    np.array([k["peak_flops_per_s"] * k["_util"] for k in ks]),
                    np.array([k.get("gemm_m", 0) > 0 and k.get("gemm_n", 0) > 1 for k in ks]))
    return c["_np"]


def fit(configs, prof):
    """Grid search minimizing the summed squared log error over `configs` (same formula as
    predict(), vectorized: the floor adds n_kernels * floor, so it is searched last)."""
    ces = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.85, 1.0]
    effs = [0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0]
    floors = np.arange(0, 81, 2) * 1e-7  # 0 .. 8 us
    bw, launch = prof["memory_bytes_per_s"], prof["launch_overhead_s"]
    meas = np.array([c["measured_s"] for c in configs])
    counts = np.array([len(c["kernels"]) for c in configs])
    best = None
    for ce, me, se in itertools.product(ces, effs, effs):
        base = np.empty(len(configs))
        for i, c in enumerate(configs):
            f, b, r, dense = arrays(c, prof)
            with np.errstate(divide="ignore", invalid="ignore"):
                comp = np.where(r > 0, f / (r * ce), 0.0)
            base[i] = np.maximum(comp, b / (bw * np.where(dense, me, se))).sum()
        pred = base[None, :] + counts[None, :] * (launch + floors[:, None])
        err = (np.log(pred / meas[None, :]) ** 2).sum(axis=1)
        j = int(np.argmin(err))
        if best is None or err[j] < best[0]:
            best = (err[j], ce, me, se, float(floors[j]))
    return best[1:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ridge", required=True)
    ap.add_argument("--measured", required=True, help="predict_vs_measure.py's JSON (GPU run)")
    ap.add_argument("--probe-profile", required=True, help="`ridge probe -o` of the same GPU")
    ap.add_argument("--sm-count", type=int, default=0, help="if the probe profile lacks it")
    ap.add_argument("--models-dir", default="models")
    ap.add_argument("--out-profile", required=True)
    ap.add_argument("--out", required=True, help="prefix for the .json/.md results")
    a = ap.parse_args()

    with open(a.probe_profile) as f:
        prof = json.load(f)
    sms = prof.get("sm_count") or prof.get("measured", {}).get("sm_count") or a.sm_count
    with open(a.measured) as f:
        rows = json.load(f)["rows"]
    configs = []
    for r in rows:
        path = os.path.join(a.models_dir, r["model"] + ".onnx")
        rep = analyze(a.ridge, path, a.probe_profile, r["precision"], r["batch"])
        for k in rep["kernels"]:
            k["_util"] = wave_util(k, sms)
        configs.append({**r, "measured_s": r["measured_ms"] * 1e-3, "kernels": rep["kernels"],
                        "flops": rep["totals"]["flops"]})
        print(f"analyzed {r['model']} {r['precision']} b{r['batch']}: "
              f"{len(rep['kernels'])} kernels", flush=True)

    ce, me, se, floor = fit(configs, prof)
    print(f"fit on all: compute_efficiency {ce}, memory_efficiency {me}, streaming {se}, "
          f"kernel_floor {floor * 1e6:.1f} us", flush=True)
    # Leave one model out: fit on the other models, predict the held-out one.
    loo = {}
    for m in sorted({c["model"] for c in configs}):
        train = [c for c in configs if c["model"] != m]
        p = fit(train, prof)
        for c in configs:
            if c["model"] == m:
                pred = predict(c["kernels"], prof, *p)
                loo[(m, c["precision"], c["batch"])] = (pred - c["measured_s"]) / c["measured_s"]

    today = datetime.date.today().isoformat()
    cal = dict(prof)
    # A profile's name is its file's stem (how `ridge analyze --device NAME` finds it).
    cal["name"] = os.path.splitext(os.path.basename(a.out_profile))[0]
    cal["display_name"] = prof.get("display_name", prof["name"]) + ", kernel model fitted"
    src = dict(cal["sources"])
    how = (f"fitted by bench/fit_kernel_model.py on {today}: {len(configs)} CUDA-engine "
           f"latencies ({', '.join(sorted({c['model'] for c in configs}))} x batch 1/32 x "
           "fp16/fp32), grid search on log error")
    cal.update({"sm_count": sms, "compute_efficiency": ce, "memory_efficiency": me,
                "streaming_memory_efficiency": se, "kernel_floor_s": floor})
    src["sm_count"] = "measured by ridge probe: cudaDevAttrMultiProcessorCount"
    for key in ("compute_efficiency", "memory_efficiency", "streaming_memory_efficiency",
                "kernel_floor_s"):
        src[key] = how
    cal["sources"] = src
    with open(a.out_profile, "w") as f:
        json.dump(cal, f, indent=2, sort_keys=True)
        f.write("\n")

    # The reported figures come from ridge analyze itself with the calibrated profile.
    results = []
    for c in configs:
        path = os.path.join(a.models_dir, c["model"] + ".onnx")
        rep = analyze(a.ridge, path, a.out_profile, c["precision"], c["batch"])
        plain = analyze(a.ridge, path, a.probe_profile, c["precision"], c["batch"])
        pred = rep["totals"]["predicted_time_s"]
        results.append({"model": c["model"], "precision": c["precision"], "batch": c["batch"],
                        "measured_ms": c["measured_ms"], "predicted_ms": pred * 1e3,
                        "plain_roofline_ms": plain["totals"]["predicted_time_s"] * 1e3,
                        "flops": c["flops"],
                        "rel_error": (pred - c["measured_s"]) / c["measured_s"],
                        "loo_rel_error": loo[(c["model"], c["precision"], c["batch"])]})
    meas = [r["measured_ms"] for r in results]
    summary = {
        "configurations": len(results),
        "spearman_predicted": spearman([r["predicted_ms"] for r in results], meas),
        "spearman_plain_roofline": spearman([r["plain_roofline_ms"] for r in results], meas),
        "spearman_flops": spearman([r["flops"] for r in results], meas),
        "median_abs_rel_error": median([abs(r["rel_error"]) for r in results]),
        "median_abs_rel_error_leave_one_model_out": median([abs(r["loo_rel_error"])
                                                            for r in results]),
        "median_abs_rel_error_plain_roofline": median(
            [abs(r["plain_roofline_ms"] - r["measured_ms"]) / r["measured_ms"] for r in results]),
        "fitted": {"compute_efficiency": ce, "memory_efficiency": me,
                   "streaming_memory_efficiency": se, "kernel_floor_s": floor, "sm_count": sms},
    }
    with open(a.out + ".json", "w") as f:
        json.dump({"summary": summary, "rows": results, "profile": cal["name"]}, f, indent=1)
    with open(a.out + ".md", "w") as f:
        f.write("# Prediction vs measurement: the analyzer against the CUDA engine\n\n")
        f.write(f"Measured: GPU compute median of CUDA-graph replays, {prof.get('display_name')}, "
                f"{today} (bench/predict_vs_measure.py). Predicted: `ridge analyze --device "
                f"{os.path.basename(a.out_profile)}` (the probe's peaks plus the kernel model "
                f"fitted by bench/fit_kernel_model.py: compute efficiency {ce}, memory "
                f"efficiency {me} (dense) / {se} (streaming kernels), kernel floor {floor * 1e6:.1f} us, {sms} SMs).\n\n")
        f.write("| model | precision | batch | measured ms | predicted ms | error | "
                "held-out error | plain roofline ms |\n|---|---|---|---|---|---|---|---|\n")
        for r in results:
            f.write(f"| {r['model']} | {r['precision']} | {r['batch']} | {r['measured_ms']:.3f} | "
                    f"{r['predicted_ms']:.3f} | {r['rel_error'] * 100:+.0f}% | "
                    f"{r['loo_rel_error'] * 100:+.0f}% | {r['plain_roofline_ms']:.3f} |\n")
        s = summary
        f.write(f"\nSpearman vs measured: predicted {s['spearman_predicted']:.3f}, plain roofline "
                f"{s['spearman_plain_roofline']:.3f}, FLOPs {s['spearman_flops']:.3f}. Median "
                f"|error|: {s['median_abs_rel_error'] * 100:.1f}% (fitted on all), "
                f"{s['median_abs_rel_error_leave_one_model_out'] * 100:.1f}% (each model "
                f"predicted by a fit on the others), plain roofline "
                f"{s['median_abs_rel_error_plain_roofline'] * 100:.1f}%.\n")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
