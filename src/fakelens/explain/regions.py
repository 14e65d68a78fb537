"""Facial regions from the 68 dlib landmarks, to say where a map's evidence lies in words.

Regions (first match wins where they overlap): eyes, brows, mouth, nose, the face boundary (the
band where a swapped face is blended in), jaw line, the rest of the face (cheeks, chin),
and background.
"""

from __future__ import annotations

import cv2
import numpy as np

REGIONS = ("eyes", "brows", "mouth", "nose", "face boundary", "jaw line", "rest of the face", "background")


def _hull(mask_shape, pts: np.ndarray, grow: int = 0) -> np.ndarray:
    m = np.zeros(mask_shape, np.uint8)
    cv2.fillConvexPoly(m, cv2.convexHull(np.round(pts).astype(np.int32)), 1)
    if grow > 0:
        m = cv2.dilate(m, np.ones((2 * grow + 1,) * 2, np.uint8))
    return m.astype(bool)


def region_masks(landmarks: np.ndarray, h: int, w: int) -> dict[str, np.ndarray]:
    """Boolean H x W masks per region, disjoint, covering the crop."""
    lm = np.asarray(landmarks, np.float32)
    size = float(max(np.ptp(lm[:, 0]), np.ptp(lm[:, 1]), 1.0))
    g = max(1, int(0.04 * size))
    face = _hull((h, w), lm)
    band = max(1, int(0.06 * size))
    kernel = np.ones((2 * band + 1,) * 2, np.uint8)
    boundary = cv2.dilate(face.astype(np.uint8), kernel).astype(bool) & ~cv2.erode(face.astype(np.uint8), kernel).astype(bool)
    jaw = np.zeros((h, w), np.uint8)
    cv2.polylines(jaw, [np.round(lm[0:17]).astype(np.int32)], False, 1, thickness=band + 1)
    raw = {
        "eyes": _hull((h, w), lm[36:42], g) | _hull((h, w), lm[42:48], g),
        "brows": _hull((h, w), lm[17:22], g) | _hull((h, w), lm[22:27], g),
        "mouth": _hull((h, w), lm[48:68], g),
        "nose": _hull((h, w), lm[27:36], g),
        "face boundary": boundary & ~jaw.astype(bool),
        "jaw line": jaw.astype(bool),
        "rest of the face": face,
    }
    taken = np.zeros((h, w), bool)
    masks = {}
    for name in REGIONS[:-1]:
        masks[name] = raw[name] & ~taken
        taken |= masks[name]
    masks["background"] = ~taken
    return masks


def region_shares(saliency: np.ndarray, landmarks: np.ndarray) -> list[dict]:
    """Per region: its share of the map's positive mass, its share of the crop's area, and their
    ratio (lift > 1: the map concentrates there). Sorted by mass share, largest first."""
    h, w = saliency.shape
    pos = np.clip(saliency, 0, None).astype(np.float64)
    total = pos.sum()
    out = []
    for name, m in region_masks(landmarks, h, w).items():
        area = m.mean()
        mass = float(pos[m].sum() / total) if total > 0 else 0.0
        out.append({"region": name, "mass": round(mass, 4), "area": round(float(area), 4),
                    "lift": round(float(mass / area), 2) if area > 0 else 0.0})
    return sorted(out, key=lambda r: -r["mass"])
