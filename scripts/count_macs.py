"""Independent multiply-accumulate (MAC) count of a torch model, for cross-checking Ridgeline.

Ridgeline computes FLOPs from the ONNX graph; this counts MACs on the *torch* side with forward
hooks, so the two figures come from different code paths and a bug in one shows as a mismatch.

Counted modules (everything else, e.g. BatchNorm, activations, pooling, adds, is ignored; those
are element-wise and do not change the total by more than a few percent for CNNs):
  nn.Conv2d: Cout * Hout * Wout * (Cin / groups) * kh * kw, per batch item.
  nn.Linear: in_features * out_features per output row. A Linear applied to an N-d tensor (e.g.
             ConvNeXt's per-pixel MLPs on NHWC tensors) runs once per leading position, so the
             count is (output.numel() / out_features) * in * out, not just in * out.

Usage as a script: python scripts/count_macs.py resnet50   (torchvision name, 224x224 input)
"""

import json
import sys

import torch
from torch import nn


def count_macs(model: nn.Module, example: torch.Tensor) -> dict:
    """Runs `model(example)` once under no_grad and returns {"macs", "params", "by_type"}."""
    by_type = {"Conv2d": 0, "Linear": 0}
    handles = []

    def conv_hook(module: nn.Conv2d, inputs, output):
        cout, hout, wout = output.shape[1], output.shape[2], output.shape[3]
        kh, kw = module.kernel_size
        cin_per_group = module.in_channels // module.groups
        by_type["Conv2d"] += output.shape[0] * cout * hout * wout * cin_per_group * kh * kw

    def linear_hook(module: nn.Linear, inputs, output):
        rows = output.numel() // module.out_features
        by_type["Linear"] += rows * module.in_features * module.out_features

    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    try:
        with torch.no_grad():
            model(example)
    finally:
        for handle in handles:
            handle.remove()

    # Per-sample figures: the hooks saw the whole batch.
    batch = example.shape[0]
    by_type = {k: int(v // batch) for k, v in by_type.items()}
    return {
        "macs": int(sum(by_type.values())),
        "params": int(sum(p.numel() for p in model.parameters())),
        "by_type": by_type,
    }


def main() -> int:
    import torchvision

    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    torch.manual_seed(0)
    model = getattr(torchvision.models, sys.argv[1])(weights=None).eval()
    result = count_macs(model, torch.zeros(1, 3, 224, 224))
    print(json.dumps({"model": sys.argv[1], "input_shape": [1, 3, 224, 224], **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
