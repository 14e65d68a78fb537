"""Superpixels for LIME and SHAP: quickshift as in seeds 001/002, and masked copies built in one go."""

from __future__ import annotations

import numpy as np
from skimage.segmentation import quickshift


def segment(image: np.ndarray, kernel_size: float = 4, max_dist: float = 200, ratio: float = 0.2,
            seed: int = 0, method: str = "quickshift") -> np.ndarray:
    """Superpixel labels (H x W ints from 0) of a uint8 or [0, 1] float RGB image:
    quickshift (the seeds' choice), or "grid:N", an N x N grid of squares."""
    if method.startswith("grid:"):
        n = int(method.split(":")[1])
        h, w = image.shape[:2]
        return (np.arange(h)[:, None] * n // h) * n + (np.arange(w)[None, :] * n // w)
    if method != "quickshift":
        raise ValueError(f"segmentation must be quickshift or grid:N, not {method!r}")
    img = image.astype(np.float64) / (255.0 if image.dtype == np.uint8 else 1.0)
    labels = quickshift(img, kernel_size=kernel_size, max_dist=max_dist, ratio=ratio, rng=seed)
    return np.unique(labels, return_inverse=True)[1].reshape(labels.shape)


def mean_fill(x: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Each superpixel of a 3 x H x W image painted with its own mean colour (the `lime` package's hide_color=None)."""
    n = int(segments.max()) + 1
    flat = segments.ravel()
    counts = np.bincount(flat, minlength=n).clip(min=1)
    means = np.stack([np.bincount(flat, weights=c.ravel(), minlength=n) for c in x]) / counts
    return means[:, flat].reshape(x.shape).astype(np.float32)


def hidden(x: np.ndarray, segments: np.ndarray, fill: str | float) -> np.ndarray:
    """What a hidden superpixel shows: its mean colour ("mean", as lime) or a constant grey level."""
    return mean_fill(x, segments) if fill == "mean" else np.full_like(x, float(fill))


def masked_batch(x: np.ndarray, fill: np.ndarray, segments: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Copies of x with superpixels where keep[k, s] == 0 replaced by `fill`: one array op, no Python loop."""
    m = keep[:, segments][:, None].astype(np.float32)  # K x 1 x H x W
    return x[None] * m + fill[None] * (1 - m)
