#!/usr/bin/env python3
"""Ridgeline's CPU backend vs onnxruntime on every zoo model, in one run on one machine.

  .venv/bin/python bench/cpu_vs_ort.py [--ridge build/release/tools/ridge/ridge] [--threads N]
        [--batch 1] [--duration-s 3] [--only a,b] [--rounds 3]

Both sides: the same model file, batch, random float inputs and intra-op thread count; warm-up
of at least 200 ms and 20 runs, then at least 200 runs or --duration-s (BENCHMARKS.md).
onnxruntime runs with ORT_ENABLE_ALL. Ratio = ORT median / Ridgeline median (> 1: Ridgeline
faster). With --rounds R (default 3) the two sides alternate R times per model (ridge, ort,
ridge, ort, ...) so that other load on a shared machine hits both alike; the reported median
is the median of the per-round medians, the min the overall minimum, and the paired ratio the
median over rounds of (ORT round median / the ridge round just before it).
Writes bench/results/cpu_vs_ort.{json,md} with device, date, versions and command.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

REPO = Path(__file__).resolve().parent.parent
ZOO = ["resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "convnext_tiny", "yolov8n"]


def stats(samples_ms, batch):
    s = np.sort(np.asarray(samples_ms))
    mean = float(s.mean())
    return {"min": float(s[0]), "median": float(np.percentile(s, 50)), "mean": mean,
            "p90": float(np.percentile(s, 90)), "p99": float(np.percentile(s, 99)),
            "max": float(s[-1]), "cv": float(s.std() / mean) if mean else 0.0,
            "runs": int(len(s)), "throughput_per_s": batch * len(s) / (s.sum() / 1000.0)}


ORT_SPIN = ["0"]


def combine(rounds):
    """Per-round stats -> one: median of round medians, overall min, worst CV."""
    ok = [r for r in rounds if "median" in r]
    if not ok:
        return rounds[-1]
    out = dict(ok[-1])
    out["median"] = float(np.median([r["median"] for r in ok]))
    out["min"] = float(min(r["min"] for r in ok))
    out["cv"] = float(max(r["cv"] for r in ok))
    out["runs"] = int(sum(r["runs"] for r in ok))
    out["round_medians"] = [r["median"] for r in ok]
    return out


def bench_ort(path, batch, threads, warmup_ms, duration_s):
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    # The counterpart of ridge's OMP_WAIT_POLICY=passive: ORT's pool spins by default too, and
    # on a shared machine that halves its speed (resnet50 136 -> 78 ms, same minute).
    opts.add_session_config_entry("session.intra_op.allow_spinning", ORT_SPIN[0])
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    rng = np.random.RandomState(0)
    feeds = {}
    for inp in sess.get_inputs():
        dims = [batch if not isinstance(d, int) or d <= 0 else d for d in inp.shape]
        feeds[inp.name] = rng.uniform(-1, 1, size=dims).astype(np.float32)
    t0, n = time.perf_counter(), 0
    while n < 20 or (time.perf_counter() - t0) * 1e3 < warmup_ms:
        sess.run(None, feeds)
        n += 1
    samples, start = [], time.perf_counter()
    while len(samples) < 200 and time.perf_counter() - start < duration_s:
        t = time.perf_counter()
        sess.run(None, feeds)
        samples.append((time.perf_counter() - t) * 1e3)
    return stats(samples, batch)


def bench_ridge(ridge, path, batch, threads, warmup_ms, duration_s):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    cmd = [ridge, "bench", str(path), "--device", "cpu", "--batch", str(batch), "--threads",
           str(threads), "--warmup-ms", str(warmup_ms), "--duration-s", str(duration_s),
           "--json", out]
    env = dict(os.environ)
    # libgomp's default spin-wait burns the cores a preempted peer thread needs: on this shared
    # 2-core machine yolov8n took ~1 s instead of ~0.11 s (docs/cpu_backend.md, Threads).
    env.setdefault("OMP_WAIT_POLICY", "passive")
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        return {"error": (r.stderr or r.stdout).strip().splitlines()[-1:]}
    j = json.loads(Path(out).read_text())
    os.unlink(out)
    lat = j["latency_ms"]
    return {"min": lat["min"], "median": lat["median"], "mean": lat["mean"], "p90": lat["p90"],
            "p99": lat["p99"], "max": lat["max"], "cv": j["cv"], "runs": j["runs"],
            "throughput_per_s": j["throughput_per_s"], "kernels": j.get("kernels", {})}


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ridge", default=str(REPO / "build/release/tools/ridge/ridge"))
    ap.add_argument("--models", default=str(REPO / "models"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--warmup-ms", type=float, default=200)
    ap.add_argument("--duration-s", type=float, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--spin", action="store_true",
                    help="let both sides spin-wait (ORT allow_spinning=1, OMP_WAIT_POLICY "
                    "unset); default: both passive, which suits a shared machine")
    ap.add_argument("--out", default=str(REPO / "bench/results/cpu_vs_ort"))
    args = ap.parse_args()
    names = args.only.split(",") if args.only else ZOO
    if args.spin:
        ORT_SPIN[0] = "1"
        os.environ["OMP_WAIT_POLICY"] = "active"
    rows = []
    for name in names:
        path = Path(args.models) / f"{name}.onnx"
        if not path.exists():
            print(f"skip {name}: {path} absent", file=sys.stderr)
            continue
        rds, oos = [], []
        for _ in range(max(1, args.rounds)):
            rds.append(bench_ridge(args.ridge, path, args.batch, args.threads, args.warmup_ms,
                                   args.duration_s))
            oos.append(bench_ort(path, args.batch, args.threads, args.warmup_ms,
                                 args.duration_s))
        rd, oo = combine(rds), combine(oos)
        ratio = oo["median"] / rd["median"] if "median" in rd else None
        # Each ridge round and the ORT round right after it saw nearly the same load: the median
        # of these per-round ratios is steadier than the ratio of medians when load swings.
        pairs = [o["median"] / r["median"] for r, o in zip(rds, oos) if "median" in r]
        paired = float(np.median(pairs)) if pairs else None
        rows.append({"model": name, "ridge": rd, "ort": oo, "ratio_ort_over_ridge": ratio,
                     "ratio_paired_median": paired, "ratio_per_round": pairs})
        print(f"{name:16s} ridge {rd.get('median', float('nan')):8.2f} ms  "
              f"ort {oo['median']:8.2f} ms  ratio {ratio if ratio else float('nan'):.2f}  "
              f"paired {paired if paired else float('nan'):.2f}",
              flush=True)
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "device": cpu_name(), "cores": os.cpu_count(), "threads": args.threads,
        "batch": args.batch, "onnxruntime": ort.__version__, "numpy": np.__version__,
        "python": platform.python_version(),
        "ridge": subprocess.run([args.ridge, "version"], capture_output=True,
                                text=True).stdout.strip(),
        "rounds": args.rounds,
        "ort_allow_spinning": ORT_SPIN[0],
        "ridge_env": {"OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "passive")},
        "command": " ".join(shlex.quote(a) for a in sys.argv),
        "load_average_1_5_15": list(os.getloadavg()),  # other work on the machine skews both
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out + ".json").write_text(json.dumps({"meta": meta, "results": rows}, indent=1))
    md = [f"# Ridgeline CPU vs onnxruntime ({meta['date']})", "",
          f"Device: {meta['device']}, {meta['cores']} cores, {args.threads} threads, batch "
          f"{args.batch}. onnxruntime {meta['onnxruntime']} (ORT_ENABLE_ALL); {meta['ridge']}.",
          f"Command: `{meta['command']}` (ridge with OMP_WAIT_POLICY="
          f"{meta['ridge_env']['OMP_WAIT_POLICY']}, ORT allow_spinning={ORT_SPIN[0]})",
          f"Load average at the end (1/5/15 min): {meta['load_average_1_5_15']}", "",
          f"Each model: {args.rounds} alternating rounds per side; median of round medians, "
          "min over all runs, CV = worst round.", "",
          "| model | ridge median ms | ridge min | ridge CV | ort median ms | ort min | ort CV "
          "| ort / ridge | paired ratio (range) |",
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        rd, oo = r["ridge"], r["ort"]
        flag = lambda s: " (unstable)" if s.get("cv", 0) > 0.10 else ""  # noqa: E731
        if "median" in rd:
            md.append(f"| {r['model']} | {rd['median']:.2f}{flag(rd)} | {rd['min']:.2f} | "
                      f"{rd['cv']*100:.1f}% | {oo['median']:.2f}{flag(oo)} | {oo['min']:.2f} | "
                      f"{oo['cv']*100:.1f}% | "
                      f"{r['ratio_ort_over_ridge']:.2f} | {r['ratio_paired_median']:.2f} "
                      f"({min(r['ratio_per_round']):.2f}-{max(r['ratio_per_round']):.2f}) |")
        else:
            md.append(f"| {r['model']} | error: {rd['error']} | | | {oo['median']:.2f} | | | |")
    Path(args.out + ".md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
