#!/usr/bin/env python3
"""CPU estimate of what an fp16-storage engine does to the zoo's classifiers' top-1.

  .venv/bin/python scripts/fp16_emulation.py [--seed 99] [--n 100] resnet18 mobilenet_v2 ...

Builds each model as scripts/export_zoo.py does (same seeds, calibrated BatchNorm), computes
fp32 logits for N uniform [-1, 1) inputs (the distribution of runtime::RandomInputs, not its
random stream), then emulates fp16 storage the way the CUDA engine stores values: BatchNorm
folded into the convolution in fp32, weights rounded to fp16 (depthwise filters excepted: the
engine's depthwise kernels read them in fp32), the input and every layer's output
rounded to fp16, arithmetic in fp32 (fp32 accumulation). Prints top-1 agreement with fp32, the
max error relative to the output scale, and the fp32 top-1/top-2 margins of the inputs that
flipped. It tells whether a GPU disagreement is what fp16 storage alone does to this model
(no GPU needed), which tests/cuda/cuda_zoo_test.cc's Fp16Top1Agreement cannot separate.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch.nn.utils.fusion import fuse_conv_bn_eval

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_zoo import ZOO, build  # noqa: E402


def to_fp16(t):
    return t.half().float() if torch.is_tensor(t) and t.is_floating_point() else t


def fold_batchnorm(module: torch.nn.Module) -> None:
    """Folds Conv2d -> BatchNorm2d pairs (sequential children, or convN/bnN attributes)."""
    names = list(module._modules)
    for a, b in zip(names, names[1:]):
        conv, norm = module._modules[a], module._modules[b]
        if isinstance(conv, torch.nn.Conv2d) and isinstance(norm, torch.nn.BatchNorm2d):
            module._modules[a] = fuse_conv_bn_eval(conv, norm)
            module._modules[b] = torch.nn.Identity()
    for k in ("1", "2", "3"):
        conv, norm = getattr(module, "conv" + k, None), getattr(module, "bn" + k, None)
        if isinstance(conv, torch.nn.Conv2d) and isinstance(norm, torch.nn.BatchNorm2d):
            setattr(module, "conv" + k, fuse_conv_bn_eval(conv, norm))
            setattr(module, "bn" + k, torch.nn.Identity())
    for child in module.children():
        fold_batchnorm(child)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--seed", type=int, default=99)
    parser.add_argument("--n", type=int, default=100, help="inputs (default 100)")
    parser.add_argument(
        "--fp16-depthwise-weights",
        action="store_true",
        help="round depthwise filters and biases to fp16 too (the CUDA engine keeps them fp32 "
        "since its depthwise kernels read fp32 parameters; earlier engines rounded them)",
    )
    args = parser.parse_args()
    torch.set_num_threads(2)
    for name in args.models:
        if name not in ZOO or name == "yolov8n":
            print(f"{name}: not a zoo classifier", file=sys.stderr)
            return 2
        model = build(name).eval()
        size = ZOO[name][2]
        gen = torch.Generator().manual_seed(args.seed)
        x = torch.rand(args.n, 3, size, size, generator=gen) * 2 - 1
        chunks = range(0, args.n, 25)
        with torch.no_grad():
            ref = torch.cat([model(x[i : i + 25]) for i in chunks]).numpy()
            fold_batchnorm(model)
            left = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
            if left:
                print(f"{name}: {left} BatchNorm layers not folded", file=sys.stderr)
            for m in model.modules():
                conv = isinstance(m, torch.nn.Conv2d)
                depthwise = conv and m.groups > 1 and m.groups == m.in_channels
                if depthwise and not args.fp16_depthwise_weights:
                    continue  # the engine's depthwise kernels read fp32 filters and bias
                for p in m.parameters(recurse=False):
                    p.copy_(to_fp16(p))
            for m in model.modules():
                if not list(m.children()) and not isinstance(m, torch.nn.Identity):
                    m.register_forward_hook(lambda mod, inp, out: to_fp16(out))
            got = torch.cat([model(to_fp16(x[i : i + 25])) for i in chunks]).numpy()
        scale = float(np.abs(ref).max())
        err = float(np.abs(got - ref).max())
        top = np.sort(ref, axis=1)
        margin = top[:, -1] - top[:, -2]
        flipped = ref.argmax(1) != got.argmax(1)
        print(
            f"{name}: emulated fp16 top-1 {args.n - flipped.sum()}/{args.n}, max rel error "
            f"{err / scale:.3g} (error {err:.3g} / output scale {scale:.3g}), min margin "
            f"{margin.min():.3g}, margins of the flipped: {np.round(margin[flipped], 5).tolist()}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
