#!/usr/bin/env python3
"""Exports Ridgeline's model zoo to models/<name>.onnx plus models/<name>.macs.json.

Run with the project venv (scripts/setup.sh creates it):  .venv/bin/python scripts/export_zoo.py
  --force         re-export models that are already present
  --only a,b      export just these models
  --out DIR       output folder (default: <repo>/models)

Every model is built with random weights (torch.manual_seed(0), no download, no network), its
BatchNorm running statistics are calibrated (calibrate_batchnorm, below), it is put in eval mode
and exported at opset 17 with a dynamic batch axis and constant folding. Each export is then
checked with onnx.checker and one onnxruntime inference at batch 2 (which also exercises the
dynamic batch axis) compared against torch. The .macs.json file is an independent torch-side MAC
count (scripts/count_macs.py) at batch 1; its format is documented in docs/setup.md.

Why calibrate: a freshly initialised BatchNorm has running mean 0 and variance 1, so in eval mode
it is nearly the identity and nothing keeps activations at unit scale. Layer after layer they
shrink (or grow): uncalibrated mobilenet_v2 / efficientnet_b0 logits are ~1e-9 / ~1e-14, below
fp16's smallest normal number (6.1e-5) and on the way to fp32 denormals (slow on the CPU), while
resnet50's are ~100. A trained network's statistics describe its activations; here they are
measured the way training does, on seeded random inputs, so logits are O(1) (max |logit| 0.5-4)
and fp16 vs fp32 comparisons (top-1 agreement, error relative to the output scale) mean
something. scripts/gpu_roundtrip.sh imports build() so that the GPU machine re-exports the same
seeded, calibrated weights.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Keep ultralytics' settings file inside the repo and stop it from reaching the network. These
# must be set before ultralytics is imported.
os.environ.setdefault("YOLO_CONFIG_DIR", str(REPO / ".cache" / "ultralytics"))
os.environ.setdefault("YOLO_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from count_macs import count_macs  # noqa: E402

OPSET = 17

# name -> (input name, output name, input H=W)
ZOO = {
    "resnet18": ("input", "output", 224),
    "resnet50": ("input", "output", 224),
    "mobilenet_v2": ("input", "output", 224),
    "efficientnet_b0": ("input", "output", 224),
    "convnext_tiny": ("input", "output", 224),
    "yolov8n": ("images", "output0", 640),
}


# Calibration inputs per model: (batches, batch size). 16 images give each BatchNorm channel at
# least 16 x 7 x 7 samples at the last stage; yolov8n: 4 images of 640 x 640 (8x the pixels).
CALIBRATION = {"yolov8n": (2, 2)}
CALIBRATION_DEFAULT = (2, 8)
CALIBRATION_SEED = 1234


def calibrate_batchnorm(
    model: torch.nn.Module, size: int, batches: int, batch_size: int, seed: int = CALIBRATION_SEED
) -> int:
    """Sets every BatchNorm's running mean/variance to the statistics of its actual inputs.

    Only the BatchNorm layers go to train mode (each normalises with its batch statistics, so the
    layers after it see unit-scale activations while they accumulate theirs); dropout and
    stochastic depth stay in eval mode. momentum=None makes the running statistics the plain
    average over all calibration batches. Inputs are standard normal from a generator of its
    own (seed), so the result does not depend on the global RNG. Leaves the model in eval mode;
    returns the number of BatchNorm layers calibrated (0 for convnext_tiny: LayerNorm only).
    """
    model.eval()
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
        norm.train()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _ in range(batches if norms else 0):
            model(torch.randn(batch_size, 3, size, size, generator=generator))
    model.eval()
    return len(norms)


def build(name: str, calibrate: bool = True) -> torch.nn.Module:
    """The zoo model `name` with seeded random weights, BatchNorm calibrated, in eval mode."""
    torch.manual_seed(0)
    if name == "yolov8n":
        from ultralytics.nn.modules import Detect
        from ultralytics.nn.tasks import DetectionModel

        model = DetectionModel("yolov8n.yaml", verbose=False)
        for module in model.modules():
            if isinstance(module, Detect):
                # What ultralytics' own ONNX exporter sets: return only the decoded
                # [batch, 4 + classes, anchors] tensor instead of (decoded, raw feature maps).
                module.export = True
                module.format = "onnx"
    else:
        import torchvision

        model = getattr(torchvision.models, name)(weights=None)
    if calibrate:
        calibrate_batchnorm(model, ZOO[name][2], *CALIBRATION.get(name, CALIBRATION_DEFAULT))
    return model.eval()


def export_one(name: str, out_dir: Path) -> dict:
    import onnx
    import onnxruntime as ort

    input_name, output_name, size = ZOO[name]
    start = time.monotonic()
    model = build(name)
    build_s = time.monotonic() - start
    example = torch.randn(1, 3, size, size)

    start = time.monotonic()
    onnx_path = out_dir / f"{name}.onnx"
    tmp_path = out_dir / f".{name}.onnx.tmp"  # renamed at the end: readers never see half a file
    torch.onnx.export(
        model,
        example,
        str(tmp_path),
        opset_version=OPSET,
        input_names=[input_name],
        output_names=[output_name],
        dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}},
        do_constant_folding=True,
    )
    export_s = time.monotonic() - start

    # torch 1.13 cannot infer YOLO's output dims once the batch is dynamic and writes names like
    # "Concatoutput0_dim_1"; the traced shape is known, so pin every non-batch dim to it.
    with torch.no_grad():
        traced = model(example)
    traced = traced[0] if isinstance(traced, (tuple, list)) else traced
    proto = onnx.load(str(tmp_path))
    dims = proto.graph.output[0].type.tensor_type.shape.dim
    if any(d.HasField("dim_param") for d in list(dims)[1:]):
        for dim, extent in zip(list(dims)[1:], traced.shape[1:]):
            dim.dim_value = int(extent)
        onnx.save(proto, str(tmp_path))
    del proto

    onnx.checker.check_model(str(tmp_path), full_check=True)
    batch2 = torch.randn(2, 3, size, size)
    with torch.no_grad():
        expected = model(batch2)
    if isinstance(expected, (tuple, list)):
        expected = expected[0]
    expected = expected.numpy()
    session = ort.InferenceSession(str(tmp_path), providers=["CPUExecutionProvider"])
    (got,) = session.run([output_name], {input_name: batch2.numpy()})
    if got.shape != expected.shape:
        raise RuntimeError(f"{name}: onnxruntime shape {got.shape} != torch {expected.shape}")
    # Relative to the output's own scale (printed): calibrated logits are O(1), yolov8n's output
    # mixes boxes in pixels (~600) and class scores (<1e-3).
    scale = max(float(np.abs(expected).max()), 1e-30)
    max_err = float(np.abs(got - expected).max()) / scale
    if not max_err < 1e-3:
        raise RuntimeError(f"{name}: onnxruntime differs from torch, max rel error {max_err:.2e}")

    macs = count_macs(model, example)
    record = {"model": name, "input_shape": [1, 3, size, size], **macs}
    tmp_json = out_dir / f".{name}.macs.json.tmp"
    tmp_json.write_text(json.dumps(record) + "\n")
    os.replace(tmp_path, onnx_path)
    os.replace(tmp_json, out_dir / f"{name}.macs.json")
    return {
        "build_s": build_s,
        "export_s": export_s,
        "max_rel_err": max_err,
        "scale": scale,
        "mb": onnx_path.stat().st_size / 1e6,
        **record,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="re-export present models")
    parser.add_argument("--only", default="", help="comma-separated subset of the zoo")
    parser.add_argument("--out", default=str(REPO / "models"), help="output folder")
    args = parser.parse_args()

    names = [n for n in args.only.split(",") if n] or list(ZOO)
    unknown = [n for n in names if n not in ZOO]
    if unknown:
        print(f"unknown model(s): {', '.join(unknown)}; zoo: {', '.join(ZOO)}", file=sys.stderr)
        return 2
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))

    total = time.monotonic()
    for name in names:
        present = (out_dir / f"{name}.onnx").exists() and (out_dir / f"{name}.macs.json").exists()
        if present and not args.force:
            print(f"{name:16s} present, skipped (--force re-exports)")
            continue
        t0 = time.monotonic()
        r = export_one(name, out_dir)
        print(
            f"{name:16s} {r['mb']:7.1f} MB  {r['macs'] / 1e9:6.3f} GMACs  "
            f"{r['params'] / 1e6:6.2f} M params  max|out| {r['scale']:.3g}  "
            f"ort max rel err {r['max_rel_err']:.1e}  "
            f"({time.monotonic() - t0:.1f} s, build+calibration {r['build_s']:.1f} s)",
            flush=True,
        )
    print(f"zoo done in {time.monotonic() - total:.1f} s -> {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
