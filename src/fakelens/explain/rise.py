"""RISE (Petsiuk et al., 2018): the probability-weighted average of random smooth masks.
Written here: neither Captum nor zennit implements RISE."""

from __future__ import annotations

import cv2
import numpy as np

from fakelens.explain.base import PerturbationExplainer
from fakelens.explain.registry import register_explainer


def rise_masks(n: int, size: int, grid: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """n x size x size soft masks: random grid x grid binary cells, bilinearly upsampled, randomly shifted."""
    cell = int(np.ceil(size / grid))
    up = (grid + 1) * cell
    cells = (rng.random((n, grid, grid)) < p).astype(np.float32)
    # cv2 resizes up to 512 channels at once: the masks are the channels.
    big = np.concatenate([cv2.resize(np.ascontiguousarray(cells[i:i + 512].transpose(1, 2, 0)), (up, up),
                                     interpolation=cv2.INTER_LINEAR).reshape(up, up, -1)
                          for i in range(0, n, 512)], axis=2).transpose(2, 0, 1)
    dy, dx = rng.integers(0, cell, n), rng.integers(0, cell, n)
    offsets = np.arange(size)
    rows, cols = (dy[:, None] + offsets)[:, :, None], (dx[:, None] + offsets)[:, None, :]
    return big[np.arange(n)[:, None, None], rows, cols]  # one gather instead of n slices


@register_explainer
class Rise(PerturbationExplainer):
    name, display = "rise", "RISE"
    defaults = {"masks": 4000, "grid": 8, "p": 0.5, "batch_size": 64, "seed": 0}

    def explain_one(self, x, target, masks, grid, p, batch_size, seed):
        size, total, bs = x.shape[-1], int(masks), int(batch_size)
        rng = np.random.default_rng(int(seed))  # the same masks for every image
        sal = np.zeros((size, size), np.float64)
        for start in range(0, total, bs):  # masks made batch by batch: 4000 at once would take 0.5 GB
            b = rise_masks(min(bs, total - start), size, int(grid), float(p), rng)
            prob = self.evaluate(x[None] * b[:, None], target, bs)
            sal += np.tensordot(prob, b, axes=1)
        return sal / (total * p)
