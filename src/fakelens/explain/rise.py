"""RISE (Petsiuk et al., 2018): the probability-weighted average of random smooth masks.
Written here: neither Captum nor zennit implements RISE."""

from __future__ import annotations

import numpy as np
import torch

from fakelens.explain.base import Explainer
from fakelens.explain.registry import register_explainer


def rise_masks(n: int, size: int, grid: int, p: float, generator: torch.Generator) -> torch.Tensor:
    """n x size x size soft masks: random grid x grid binary cells, bilinearly upsampled, randomly shifted."""
    cell = int(np.ceil(size / grid))
    up = (grid + 1) * cell
    cells = (torch.rand(n, 1, grid, grid, generator=generator) < p).float()
    big = torch.nn.functional.interpolate(cells, size=(up, up), mode="bilinear", align_corners=False)[:, 0]
    dx = torch.randint(0, cell, (n,), generator=generator)
    dy = torch.randint(0, cell, (n,), generator=generator)
    offsets = torch.arange(size)
    rows, cols = (dy[:, None] + offsets)[:, :, None], (dx[:, None] + offsets)[:, None, :]
    return big[torch.arange(n)[:, None, None], rows, cols]  # one gather instead of n slices


@register_explainer
class Rise(Explainer):
    name = "rise"
    defaults = {"masks": 4000, "grid": 8, "p": 0.5, "batch_size": 64, "backend": "onnx", "seed": 0}

    @torch.no_grad()
    def _attribute(self, inputs, target, masks, grid, p, batch_size, backend, seed):
        size, total, bs = inputs.shape[-1], int(masks), int(batch_size)
        out = []
        forward = self.scorer(backend)
        for x in inputs:
            g = torch.Generator().manual_seed(int(seed))  # the same masks for every image
            sal = torch.zeros(size, size)
            for start in range(0, total, bs):  # masks made batch by batch: 4000 at once would take 0.5 GB
                b = rise_masks(min(bs, total - start), size, int(grid), float(p), g)
                prob = torch.sigmoid(forward(x.unsqueeze(0) * b.unsqueeze(1)))
                prob = prob if target == "fake" else 1 - prob
                sal += (prob.view(-1, 1, 1) * b).sum(0)
            out.append((sal / (total * p)).numpy())
        return np.stack(out)
