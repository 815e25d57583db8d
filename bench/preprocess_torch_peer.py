#!/usr/bin/env python3
"""PyTorch peer for the fused GPU preprocessing kernel (tools/ridge_preprocess_gpu_bench).

The same operation: 1920x1080 BGR uint8 HWC frames already on the device -> bilinear resize to
the letterbox size (F.interpolate, align_corners=False, antialias=False) -> pad to 640x640 with
114 -> BGR to RGB -> /255 -> fp16 (or fp32) NCHW. Timed eager and with
torch.compile(mode="reduce-overhead"), batch 1 and 32: CUDA events around each call, median over
--runs after --warmup, reported per frame in microseconds.

  python3 bench/preprocess_torch_peer.py --json bench/results/preprocess_torch.json
  python3 bench/preprocess_torch_peer.py --device cpu --runs 3 --warmup 1 --batch 1  # syntax
"""
import argparse
import json
import platform
import statistics
import time

import torch
import torch.nn.functional as F

SRC_W, SRC_H, OUT = 1920, 1080, 640


def letterbox_geometry(w, h, out):
    # Same rule as ridge's ComputeGeometry: round(w * r) x round(h * r), centred.
    r = min(out / w, out / h)
    new_w, new_h = max(1, min(out, round(w * r))), max(1, min(out, round(h * r)))
    return new_w, new_h, (out - new_w) // 2, (out - new_h) // 2


def make_preprocess(dtype):
    new_w, new_h, x0, y0 = letterbox_geometry(SRC_W, SRC_H, OUT)

    def preprocess(frames):  # frames: [N, H, W, 3] uint8, BGR
        x = frames.permute(0, 3, 1, 2).float()  # [N, 3, H, W]
        x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=False,
                          antialias=False)
        x = F.pad(x, (x0, OUT - new_w - x0, y0, OUT - new_h - y0), value=114.0)
        x = x.flip(1)  # BGR -> RGB
        return (x / 255.0).to(dtype).contiguous()  # [N, 3, 640, 640]

    return preprocess


def time_us(fn, arg, runs, warmup, device):
    for _ in range(warmup):
        fn(arg)
    if device == "cuda":
        torch.cuda.synchronize()
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    us = []
    for _ in range(runs):
        if device == "cuda":
            start.record()
            fn(arg)
            stop.record()
            stop.synchronize()
            us.append(start.elapsed_time(stop) * 1000.0)
        else:
            t = time.perf_counter()
            fn(arg)
            us.append((time.perf_counter() - t) * 1e6)
    return statistics.median(us)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--batch", type=int, action="append", help="repeatable; default 1 and 32")
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--types", default="fp16,fp32")
    ap.add_argument("--no-compile", action="store_true", help="eager only")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()
    batches = args.batch or [1, 32]
    results = []
    gen = torch.Generator().manual_seed(0)
    for type_name in args.types.split(","):
        dtype = {"fp16": torch.float16, "fp32": torch.float32}[type_name]
        eager = make_preprocess(dtype)
        modes = [("eager", eager)]
        if not args.no_compile and not hasattr(torch, "compile"):
            print(f"torch {torch.__version__} has no torch.compile: eager only")
        elif not args.no_compile:
            modes.append(("compile", torch.compile(eager, mode="reduce-overhead")))
        for batch in batches:
            frames = torch.randint(0, 256, (batch, SRC_H, SRC_W, 3), dtype=torch.uint8,
                                   generator=gen).to(args.device)
            for mode, fn in modes:
                us = time_us(fn, frames, args.runs, args.warmup, args.device)
                row = {"impl": "torch_" + mode, "type": type_name, "batch": batch,
                       "launch_median_us": us, "per_frame_us": us / batch}
                results.append(row)
                print(f"torch {mode:7s} {type_name} batch {batch:2d}: {us:9.1f} us per call, "
                      f"{us / batch:7.2f} us per frame", flush=True)
    if args.json:
        doc = {"device": torch.cuda.get_device_name() if args.device == "cuda" else
               platform.processor(), "torch": torch.__version__, "runs": args.runs,
               "results": results}
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)


if __name__ == "__main__":
    main()
