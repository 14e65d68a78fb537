"""Self-blended images (Shiohara & Yamasaki, CVPR 2022): fakes made from a real face alone.

A colour- and frequency-altered, slightly shifted copy of the face is blended back into
the original through a blurred, jittered landmark-hull mask. The result carries the
blending boundary and statistical mismatch that face swaps leave, without any identity
change, so the detector learns those traces rather than identities or generators.
Written here because no maintained package implements it without its training code.
"""

from __future__ import annotations

import cv2
import numpy as np


def _odd(k: float) -> int:
    k = max(3, int(k))
    return k if k % 2 else k + 1


def blend_mask(landmarks: np.ndarray, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A soft face mask in [0, 1]: landmark hull, randomly eroded or dilated, blurred twice, scaled."""
    pts = landmarks.copy()
    if rng.random() < 0.5:
        # Half the time drop the eyebrows' upper reach: a tighter inner-face hull, as the paper varies it.
        pts = np.concatenate([pts[:17], pts[27:]])
    mask = np.zeros((h, w), np.float32)
    cv2.fillConvexPoly(mask, cv2.convexHull(pts.astype(np.int32)), 1.0)
    k = int(rng.integers(1, max(2, h // 15)))
    kernel = np.ones((k, k), np.uint8)
    mask = cv2.erode(mask, kernel) if rng.random() < 0.5 else cv2.dilate(mask, kernel)
    for _ in range(2):
        mask = cv2.GaussianBlur(mask, (_odd(rng.integers(h // 25, h // 8 + 2)),) * 2, 0)
    mask /= max(mask.max(), 1e-6)
    return mask * rng.choice([0.25, 0.5, 0.75, 1.0, 1.0, 1.0])


def source_transform(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour shift (RGB, hue/saturation, brightness/contrast) and a frequency change (blur or sharpen)."""
    x = img.astype(np.float32)
    x += rng.uniform(-20, 20, size=3)
    x = (x - 128) * rng.uniform(0.9, 1.1) + 128 + rng.uniform(-12, 12)
    hsv = cv2.cvtColor(np.clip(x, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + rng.integers(-5, 6)) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] + rng.integers(-20, 21), 0, 255)
    x = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)
    h, w = x.shape[:2]
    if rng.random() < 0.5:
        f = rng.uniform(0.3, 0.7)
        small = cv2.resize(x, (max(8, int(w * f)), max(8, int(h * f))), interpolation=cv2.INTER_AREA)
        x = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    else:
        blur = cv2.GaussianBlur(x, (0, 0), 1.0)
        x = cv2.addWeighted(x, 1.5, blur, -0.5, 0)
    return x


def self_blend(img: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A self-blended fake of a real face crop (uint8 RGB) with its 68 landmarks in crop pixels."""
    h, w = img.shape[:2]
    src = source_transform(img, rng)
    s = rng.uniform(0.95, 1.05)
    tx, ty = rng.uniform(-0.03, 0.03, size=2) * (w, h)
    M = np.array([[s, 0, (1 - s) * w / 2 + tx], [0, s, (1 - s) * h / 2 + ty]], np.float32)
    src = cv2.warpAffine(src, M, (w, h), borderMode=cv2.BORDER_REFLECT)
    mask = blend_mask(landmarks, h, w, rng)[..., None]
    out = src.astype(np.float32) * mask + img.astype(np.float32) * (1 - mask)
    out = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    if img.ndim == 3 and np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2]):
        out = np.repeat(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)  # grey in, grey out
    return out
