#!/usr/bin/env python3
"""PyTorch peer timings for the CUDA engine comparison (runs on the GPU machine).

For each model and batch: torchvision model (same architectures as scripts/export_zoo.py),
fp16, channels_last, inference_mode, timed up to four ways (--modes): eager, CUDA graph replay,
torch.compile(mode="reduce-overhead") and torch.compile(mode="max-autotune") ("autotune"; its
autotuning takes minutes per model and batch, so it is not in the default modes). Median/p90/p99 of --runs CUDA-event timings after warm-up.
Merges ridge_gpu_bench JSON lines (--ridge) and writes bench/results/cuda_vs_torch.{json,md}.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess

import torch
import torchvision

MODELS = {
    "resnet18": lambda: torchvision.models.resnet18(),
    "resnet50": lambda: torchvision.models.resnet50(),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(),
    "efficientnet_b0": lambda: torchvision.models.efficientnet_b0(),
    "convnext_tiny": lambda: torchvision.models.convnext_tiny(),
}


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p * (len(v) - 1))))]


def time_fn(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ms = []
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(runs):
        s.record()
        fn()
        e.record()
        e.synchronize()
        ms.append(s.elapsed_time(e))
    return {"median_ms": statistics.median(ms), "p90_ms": pct(ms, 0.9), "p99_ms": pct(ms, 0.99)}


def bench(name, batch, runs, warmup, modes):
    torch.manual_seed(0)
    model = MODELS[name]().eval().cuda().half().to(memory_format=torch.channels_last)
    x = torch.randn(batch, 3, 224, 224, device="cuda").half().to(memory_format=torch.channels_last)
    out = {}
    with torch.inference_mode():
        if "eager" in modes:
            out["eager"] = time_fn(lambda: model(x), runs, warmup)
        if "cuda_graph" in modes:
            static_x = x.clone()
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for _ in range(3):
                    model(static_x)
            torch.cuda.current_stream().wait_stream(s)
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                model(static_x)
            out["cuda_graph"] = time_fn(g.replay, runs, warmup)
    for mode, key in (("reduce-overhead", "compile"), ("max-autotune", "autotune")):
        if key in modes:
            torch._dynamo.reset()  # each mode compiles afresh
            compiled = torch.compile(model, mode=mode)
            with torch.inference_mode():
                out[key] = time_fn(lambda: compiled(x), runs, warmup)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="resnet18,resnet50,mobilenet_v2")
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--modes", default="eager,cuda_graph,compile")
    ap.add_argument("--ridge", help="ridge_gpu_bench --json lines to merge")
    ap.add_argument("--out", default="bench/results/cuda_vs_torch")
    a = ap.parse_args()
    modes = a.modes.split(",")
    rows = []
    for m in a.models.split(","):
        for b in [int(x) for x in a.batches.split(",")]:
            r = {"model": m, "batch": b, "torch": bench(m, b, a.runs, a.warmup, modes)}
            print(json.dumps(r), flush=True)
            rows.append(r)
    ridge = []
    if a.ridge and os.path.exists(a.ridge):
        ridge = [json.loads(l) for l in open(a.ridge) if l.strip()]
    meta = {
        "date": datetime.datetime.utcnow().isoformat() + "Z",
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
        "python": platform.python_version(),
        "driver": subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True).stdout.strip(),
        "command": "bench/torch_peer.py " + " ".join(f"--{k} {v}" for k, v in vars(a).items() if v),
        "runs": a.runs, "warmup": a.warmup,
    }
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out + ".json", "w") as f:
        json.dump({"meta": meta, "torch": rows, "ridge": ridge}, f, indent=1)
    lines = [f"# Ridgeline CUDA engine vs PyTorch ({meta['device']}, {meta['date'][:10]})", "",
             f"torch {meta['torch']}, CUDA {meta['cuda']}, cuDNN {meta['cudnn']}, driver "
             f"{meta['driver']}. Median of {a.runs} CUDA-event timed runs after {a.warmup} warm-up; "
             "torch: fp16, channels_last, inference_mode. ratio = ridge / torch.compile "
             "(< 1: Ridgeline faster).", "",
             "| model | batch | ridge fp16 ms | ridge fp32 ms | torch eager | torch CUDA graph | "
             "torch.compile r-o | torch.compile max-autotune | ratio fp16/compile | "
             "ratio fp16/best torch |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        def rg(p):
            for x in ridge:
                if x["model"] == r["model"] and x["batch"] == r["batch"] and x["precision"] == p:
                    return x["median_ms"]
            return None
        t = r["torch"]
        f16, f32 = rg("fp16"), rg("fp32")
        comp = t.get("compile", {}).get("median_ms")
        fmt = lambda v: "n/a" if v is None else f"{v:.3f}"
        ratio = f"{f16 / comp:.2f}" if f16 and comp else "n/a"
        timed = [v["median_ms"] for v in t.values() if v.get("median_ms")]
        best = f"{f16 / min(timed):.2f}" if f16 and timed else "n/a"
        lines.append(f"| {r['model']} | {r['batch']} | {fmt(f16)} | {fmt(f32)} | "
                     f"{fmt(t.get('eager', {}).get('median_ms'))} | "
                     f"{fmt(t.get('cuda_graph', {}).get('median_ms'))} | {fmt(comp)} | "
                     f"{fmt(t.get('autotune', {}).get('median_ms'))} | {ratio} | {best} |")
    open(a.out + ".md", "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
