"""Training throughput (images/s) for full and partial fine-tuning at several input sizes, on random
tensors (so data loading is excluded), with and without channels_last. Prints a table."""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from fakelens.models import create_model
from fakelens.train.trainer import _freeze, _set_train


def step_rate(arch: str, size: int, batch: int, freeze: int, channels_last: bool, steps: int) -> float:
    torch.manual_seed(0)
    model = create_model(arch, pretrained=False, input_size=size)
    _freeze(model, freeze)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    _set_train(model)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], 1e-4)
    x = torch.rand(batch, 3, size, size)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = (torch.rand(batch) > 0.5).float()
    times = []
    for i in range(steps + 1):
        t = time.perf_counter()
        loss = nn.functional.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i:  # the first step pays for allocation
            times.append(time.perf_counter() - t)
    return batch / (sum(times) / len(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--arch", default="efficientnet-lite0")
    ap.add_argument("--sizes", default="128,160,224")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args()
    print(f"training throughput, {args.arch}, batch {args.batch}, {torch.get_num_threads()} threads (images/s)")
    print("| input | full fine-tune | full, channels_last | stem+3 blocks frozen, channels_last |")
    print("|---|---|---|---|")
    for size in [int(s) for s in args.sizes.split(",")]:
        a = step_rate(args.arch, size, args.batch, 0, False, args.steps)
        b = step_rate(args.arch, size, args.batch, 0, True, args.steps)
        c = step_rate(args.arch, size, args.batch, 3, True, args.steps)
        print(f"| {size} | {a:.1f} | {b:.1f} | {c:.1f} |")


if __name__ == "__main__":
    main()
