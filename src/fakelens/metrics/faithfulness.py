"""Deletion and insertion (Petsiuk et al., RISE, BMVC 2018; seed 004): is a saliency map faithful?

Deletion removes the most important pixels first, replacing them with a blurred copy of the face,
and tracks the explained probability: a faithful map makes it fall fast (low area under the
curve). Insertion starts from the blurred face and restores the most important pixels first: a
faithful map makes it rise fast (high area). All steps of a curve go through the model as one
batch. A random map and a centre-prior map give the baselines a real map must beat.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np
import torch

BLUR_KERNEL, BLUR_SIGMA = 51, 50.0  # seed 004's settings


def blurred(image: torch.Tensor, kernel: int = BLUR_KERNEL, sigma: float = BLUR_SIGMA) -> torch.Tensor:
    """Gaussian-blurred copy of a 3 x H x W image (the 'removed' state of every pixel)."""
    k = min(kernel, (min(image.shape[1:]) // 2) * 2 + 1)  # a kernel wider than a small crop only smears more edge
    arr = image.permute(1, 2, 0).numpy()
    return torch.from_numpy(cv2.GaussianBlur(arr, (k, k), sigma, borderType=cv2.BORDER_REFLECT)).permute(2, 0, 1)


def centre_prior(h: int, w: int) -> np.ndarray:
    """A Gaussian bump on the crop's centre: the 'it looks at the middle of the face' baseline."""
    y, x = np.mgrid[0:h, 0:w]
    return np.exp(-(((y - (h - 1) / 2) / (h / 4)) ** 2 + ((x - (w - 1) / 2) / (w / 4)) ** 2) / 2).astype(np.float32)


def random_map(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w)).astype(np.float32)


def _curves(prob: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor, base: torch.Tensor,
            saliency: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = saliency.shape
    order = np.argsort(-saliency.ravel(), kind="stable")
    rank = np.empty(h * w, np.int64)
    rank[order] = np.arange(h * w)
    rank = torch.from_numpy(rank.reshape(h, w))
    counts = torch.from_numpy(np.round(np.linspace(0, h * w, steps + 1)).astype(np.int64))
    top = (rank.unsqueeze(0) < counts.view(-1, 1, 1)).unsqueeze(1).float()  # (steps+1, 1, H, W): top-k pixels
    deletion = image * (1 - top) + base * top
    insertion = base * (1 - top) + image * top
    with torch.no_grad():
        p = prob(torch.cat([deletion, insertion])).numpy()
    return p[: steps + 1], p[steps + 1:]


def auc(curve: np.ndarray) -> float:
    """Area under a curve sampled at evenly spaced fractions of pixels, x in [0, 1]."""
    return float(np.trapezoid(curve, dx=1.0 / (len(curve) - 1)))


def deletion_insertion(prob: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor, saliency: np.ndarray,
                       steps: int = 32, base: torch.Tensor | None = None) -> dict:
    """Deletion and insertion curves and AUCs of one map for one 3 x H x W image in [0, 1].

    `prob` maps a batch to the explained probability (of the target class). A signed map is
    ranked by its positive evidence first.
    """
    if saliency.shape != tuple(image.shape[1:]):
        raise ValueError(f"map {saliency.shape} does not match image {tuple(image.shape[1:])}")
    base = blurred(image) if base is None else base
    d, i = _curves(prob, image, base, saliency, steps)
    return {"deletion_auc": round(auc(d), 4), "insertion_auc": round(auc(i), 4),
            "deletion_curve": d.round(4).tolist(), "insertion_curve": i.round(4).tolist()}


def baselines(prob: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor, steps: int = 32, seed: int = 0,
              base: torch.Tensor | None = None) -> dict:
    """Deletion and insertion AUCs of a random map and of a centre prior on the same image."""
    h, w = image.shape[1:]
    base = blurred(image) if base is None else base
    out = {}
    for name, m in (("random", random_map(h, w, seed)), ("centre", centre_prior(h, w))):
        r = deletion_insertion(prob, image, m, steps, base)
        out[name] = {"deletion_auc": r["deletion_auc"], "insertion_auc": r["insertion_auc"]}
    return out


def target_probability(forward: Callable[[torch.Tensor], torch.Tensor], target: str) -> Callable:
    """Probability of `target` ('fake' or 'real') from a logit forward."""
    if target == "fake":
        return lambda x: torch.sigmoid(forward(x)).reshape(-1)
    return lambda x: 1 - torch.sigmoid(forward(x)).reshape(-1)
