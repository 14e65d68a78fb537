"""Overlays a person can read: the face crop beside the map drawn over it."""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps


def normalise(m: np.ndarray, signed: bool) -> np.ndarray:
    """Unsigned maps to [0, 1] by their 99th percentile; signed maps to [-1, 1] by the 99th percentile of |m|."""
    scale = np.percentile(np.abs(m), 99) or np.abs(m).max() or 1.0
    return np.clip(m / scale, -1 if signed else 0, 1)


def colourise(m: np.ndarray, signed: bool) -> np.ndarray:
    """H x W map -> H x W x 3 uint8 (inferno for unsigned, blue-white-red for signed)."""
    n = normalise(m, signed)
    rgb = colormaps["bwr"]((n + 1) / 2) if signed else colormaps["inferno"](n)
    return (rgb[..., :3] * 255).astype(np.uint8)


def overlay(face: np.ndarray, m: np.ndarray, signed: bool, alpha: float = 0.55) -> np.ndarray:
    """[face | map blended over the face] as one H x 2W x 3 uint8 image."""
    colour = colourise(m, signed).astype(np.float32)
    weight = alpha * (np.abs(normalise(m, signed))[..., None] if signed else 1.0)
    blended = (face.astype(np.float32) * (1 - weight) + colour * weight).astype(np.uint8)
    return np.concatenate([face, blended], axis=1)


def superpixel_panels(face: np.ndarray, m: np.ndarray, segments: np.ndarray, top: int = 5) -> np.ndarray:
    """LIME's two views, as seeds 001/002 draw them: [face | top positive superpixels only |
    top positive (green) and negative (red) superpixels], with superpixel boundaries."""
    from skimage.segmentation import mark_boundaries

    values = np.array([m[segments == s].mean() for s in range(int(segments.max()) + 1)])
    order = np.argsort(-np.abs(values))[:top]
    pos = [s for s in order if values[s] > 0]
    neg = [s for s in order if values[s] < 0]
    f = face.astype(np.float32) / 255
    only_pos = np.where(np.isin(segments, pos)[..., None], f, f * 0.25)
    both = f.copy()
    both[np.isin(segments, pos)] = both[np.isin(segments, pos)] * 0.5 + np.array([0, 1, 0]) * 0.5
    both[np.isin(segments, neg)] = both[np.isin(segments, neg)] * 0.5 + np.array([1, 0, 0]) * 0.5
    panels = [f, mark_boundaries(only_pos, segments, color=(1, 1, 0)), mark_boundaries(both, segments, color=(1, 1, 0))]
    return (np.concatenate(panels, axis=1) * 255).clip(0, 255).astype(np.uint8)


def timeline(spans: list[list[float]], values: np.ndarray, path, title: str = "") -> None:
    """Signed contributions over a clip as a bar chart PNG: one bar per frame (or window, spanning its time)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    starts = np.array([s for s, _ in spans])
    ends = np.array([e for _, e in spans])
    gap = np.median(np.diff(starts)) if len(starts) > 1 else 0.5
    widths = np.maximum(ends - starts, gap * 0.8)
    fig, ax = plt.subplots(figsize=(8, 2.6), dpi=100)
    ax.bar(starts, values, width=widths, align="edge", color=np.where(values >= 0, "#c0392b", "#2e86c1"),
           alpha=0.8, edgecolor="none")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("SHAP value")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
