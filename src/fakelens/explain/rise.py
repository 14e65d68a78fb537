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
    big = torch.nn.functional.interpolate(cells, size=(up, up), mode="bilinear", align_corners=False)
    dx = torch.randint(0, cell, (n,), generator=generator)
    dy = torch.randint(0, cell, (n,), generator=generator)
    return torch.stack([big[i, 0, dy[i]:dy[i] + size, dx[i]:dx[i] + size] for i in range(n)])


@register_explainer
class Rise(Explainer):
    name = "rise"
    defaults = {"masks": 4000, "grid": 8, "p": 0.5, "batch_size": 64, "backend": "onnx", "seed": 0}

    @torch.no_grad()
    def _attribute(self, inputs, target, masks, grid, p, batch_size, backend, seed):
        size = inputs.shape[-1]
        g = torch.Generator().manual_seed(int(seed))
        m = rise_masks(int(masks), size, int(grid), float(p), g)
        out = []
        forward = self.scorer(backend)
        for x in inputs:
            sal = torch.zeros(size, size)
            for b in m.split(int(batch_size)):
                prob = torch.sigmoid(forward(x.unsqueeze(0) * b.unsqueeze(1)))
                prob = prob if target == "fake" else 1 - prob
                sal += (prob.view(-1, 1, 1) * b).sum(0)
            out.append((sal / (len(m) * p)).numpy())
        return np.stack(out)
