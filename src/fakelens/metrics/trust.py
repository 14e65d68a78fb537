"""Is a map about the model, and is it stable? Two checks beside deletion/insertion.

- Model-randomisation sanity check (Adebayo et al., NeurIPS 2018): re-initialise the weights from
  the top layer down, in stages, and compare each map with the trained model's. A method whose map
  barely changes when the model it explains is destroyed explains the input, not the model: fail.
- Robustness (seed 002 perturbs inputs for LIME and LRP): the map of a blurred or slightly
  rotated/shifted/scaled face, warped back to the original frame, against the original map
  (Spearman rank correlation and SSIM).
"""

from __future__ import annotations

import copy
from typing import Callable

import cv2
import numpy as np
import torch
from scipy.stats import spearmanr
from skimage.metrics import structural_similarity
from torch import nn

SANITY_PASS = 0.5  # Spearman of |map| with the trained model's map, once the top half of the layers is random


def _rank_similarity(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.ravel(a), np.ravel(b)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 1.0 if np.ptp(a) == np.ptp(b) == 0 else 0.0
    return float(spearmanr(a, b).statistic)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two maps, each scaled to [0, 1] by its own range."""
    def unit(m):
        m = m.astype(np.float64)
        return (m - m.min()) / (np.ptp(m) or 1.0)

    return float(structural_similarity(unit(a), unit(b), data_range=1.0))


def weighted_layers(model: nn.Module) -> list[nn.Module]:
    """Modules holding weights, in forward (registration) order: the units the cascade re-initialises."""
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d))]


def randomised_copies(model: nn.Module, fractions=(0.1, 0.25, 0.5, 1.0), seed: int = 0) -> list[tuple[float, nn.Module]]:
    """Copies of the model with the top `fraction` of its weighted layers re-initialised (cascading from the top)."""
    torch.manual_seed(seed)
    out = []
    for f in fractions:
        m = copy.deepcopy(model).eval()
        layers = weighted_layers(m)
        k = max(1, round(f * len(layers)))
        for layer in layers[-k:]:
            layer.reset_parameters()
            if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
                layer.reset_running_stats()
                with torch.no_grad():  # random affine too: an identity BN would leave the signal intact
                    layer.weight.uniform_(0.5, 1.5)
                    layer.bias.normal_(0, 0.1)
        out.append((f, m))
    return out


def sanity_check(explain: Callable[[nn.Module, torch.Tensor], np.ndarray], model: nn.Module, x: torch.Tensor,
                 fractions=(0.1, 0.25, 0.5, 1.0), seed: int = 0, copies: list | None = None) -> dict:
    """Similarity (Spearman of |map|) between the trained model's map and each randomised model's.

    `explain(model, x)` returns the H x W map for one image x (1 x 3 x H x W). Passes when the
    similarity at half the layers random is below SANITY_PASS. `copies` reuses randomised_copies().
    """
    base = np.abs(explain(model, x))
    copies = copies if copies is not None else randomised_copies(model, fractions, seed)
    steps = {f: round(_rank_similarity(base, np.abs(explain(m, x))), 4) for f, m in copies}
    at_half = steps.get(0.5, list(steps.values())[-1])
    return {"similarity": steps, "passed": bool(at_half < SANITY_PASS)}


def _affine(size: int, angle: float, shift: float, scale: float) -> np.ndarray:
    c = (size - 1) / 2
    m = cv2.getRotationMatrix2D((c, c), angle, scale)
    m[:, 2] += shift
    return m


def robustness(explain: Callable[[torch.Tensor], np.ndarray], x: torch.Tensor, blur_sigma: float = 1.0,
               angle: float = 5.0, shift: float = 4.0, scale: float = 1.05) -> dict:
    """Map similarity under a Gaussian blur and under a small affine transform (map warped back).

    `explain(x)` returns the H x W map for one image (1 x 3 x H x W in [0, 1]). Similarities are
    computed inside the region both frames cover.
    """
    base = explain(x)
    img = x[0].permute(1, 2, 0).numpy()
    size = img.shape[0]
    blurred = cv2.GaussianBlur(img, (0, 0), blur_sigma)
    m_blur = explain(torch.from_numpy(blurred).permute(2, 0, 1)[None])
    a = _affine(size, angle, shift, scale)
    warped = cv2.warpAffine(img, a, (size, size), borderMode=cv2.BORDER_REFLECT)
    m_aff = explain(torch.from_numpy(warped).permute(2, 0, 1)[None])
    back = cv2.warpAffine(m_aff.astype(np.float32), cv2.invertAffineTransform(a), (size, size), flags=cv2.INTER_LINEAR,
                          borderValue=np.nan)
    valid = ~np.isnan(back)
    back = np.nan_to_num(back)
    return {"blur": {"spearman": round(_rank_similarity(base, m_blur), 4), "ssim": round(ssim(base, m_blur), 4)},
            "affine": {"spearman": round(_rank_similarity(base[valid], back[valid]), 4),
                       "ssim": round(ssim(np.where(valid, base, 0), np.where(valid, back, 0)), 4)}}
