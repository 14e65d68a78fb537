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
