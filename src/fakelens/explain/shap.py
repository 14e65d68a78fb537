"""SHAP: Shapley values of superpixels (quickshift, as LIME) by Kernel SHAP (Lundberg & Lee, 2017),
batched. Hidden superpixels take their mean colour; the values sum exactly to f(image) - f(all
hidden), f the probability of the target (as the shap package reports for classifiers).

Written in NumPy (Captum's KernelShap needs torch): coalition sizes are drawn from the Shapley
kernel, so every sample weighs the same, and the efficiency constraint is solved exactly by
eliminating the last player from the weighted least squares.
"""

from __future__ import annotations

import numpy as np

from fakelens.explain.base import PerturbationExplainer
from fakelens.explain.registry import register_explainer
from fakelens.explain.superpixels import hidden, masked_batch, segment


def kernel_shap(value, n: int, samples: int, rng: np.random.Generator, batch_size: int = 64) -> np.ndarray:
    """Shapley values of n players; `value(keep)` gives the value of each K x n coalition batch."""
    full, empty = value(np.ones((1, n), np.int64))[0], value(np.zeros((1, n), np.int64))[0]
    if n == 1:
        return np.array([full - empty])
    sizes = np.arange(1, n)
    kernel = (n - 1) / (sizes * (n - sizes))
    k = rng.choice(sizes, size=int(samples), p=kernel / kernel.sum())
    keep = (rng.random((int(samples), n)).argsort(1) < k[:, None]).astype(np.int64)  # a random k-subset per row
    y = np.concatenate([value(keep[i:i + batch_size]) for i in range(0, len(keep), batch_size)]) - empty
    # phi_last = (full - empty) - sum(others): regress y - z_last (full - empty) on z_j - z_last.
    a = keep[:, :-1] - keep[:, -1:]
    phi = np.linalg.lstsq(a, y - keep[:, -1] * (full - empty), rcond=None)[0]
    return np.append(phi, (full - empty) - phi.sum())


@register_explainer
class Shap(PerturbationExplainer):
    name, display = "shap", "SHAP"
    signed = True
    defaults = {"samples": 1000, "kernel_size": 4, "max_dist": 200, "ratio": 0.2, "segmentation": "quickshift",
                "fill": "mean", "batch_size": 64, "seed": 0}

    def explain_one(self, x, target, samples, kernel_size, max_dist, ratio, segmentation, fill, batch_size, seed):
        seg = segment(x.transpose(1, 2, 0), kernel_size, max_dist, ratio, seed, segmentation)
        background = hidden(x, seg, fill)
        phi = kernel_shap(lambda keep: self.evaluate(masked_batch(x, background, seg, keep), target, int(batch_size)),
                          int(seg.max()) + 1, samples, np.random.default_rng(seed), int(batch_size))
        return phi[seg], seg
