#!/usr/bin/env python3
"""Writes onnxruntime reference outputs for the CPU backend's zoo test.

For every zoo model present under --models, makes seeded random inputs (float32 uniform in
[-1, 1), numpy RandomState(1234)) at --batch, runs onnxruntime's CPU provider on them, and writes
  <out>/<model>/manifest.json            {"inputs": [[name, file]], "outputs": [[name, file]]}
  <out>/<model>/input_<i>.npy, output_<i>.npy
The gtest (cpu_zoo_test) then runs Ridgeline on the same inputs and compares.

Run with the project venv:  .venv/bin/python tests/backends/make_ort_reference.py --out DIR
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

ZOO = ["resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "convnext_tiny", "yolov8n"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True, help="folder holding <name>.onnx")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--only", default="", help="comma-separated subset")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else ZOO
    models = Path(args.models)
    for name in names:
        path = models / f"{name}.onnx"
        if not path.exists():
            print(f"skip {name}: {path} absent")
            continue
        out = Path(args.out) / name
        out.mkdir(parents=True, exist_ok=True)
        opts = ort.SessionOptions()
        # The reference should be the plain graph, not ORT's fused rewrite of it.
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        rng = np.random.RandomState(1234)
        feeds, manifest = {}, {"inputs": [], "outputs": [], "batch": args.batch}
        for i, inp in enumerate(sess.get_inputs()):
            dims = [args.batch if not isinstance(d, int) or d <= 0 else d for d in inp.shape]
            if inp.type != "tensor(float)":
                print(f"{name}: input {inp.name} is {inp.type}; only float inputs", file=sys.stderr)
                return 1
            x = rng.uniform(-1, 1, size=dims).astype(np.float32)
            feeds[inp.name] = x
            np.save(out / f"input_{i}.npy", x)
            manifest["inputs"].append([inp.name, f"input_{i}.npy"])
        results = sess.run(None, feeds)
        for i, (o, r) in enumerate(zip(sess.get_outputs(), results)):
            np.save(out / f"output_{i}.npy", np.ascontiguousarray(r))
            manifest["outputs"].append([o.name, f"output_{i}.npy"])
        (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
        print(f"wrote {out} ({len(results)} outputs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
