"""Training augmentation on uint8 face crops: framing jitter, flip, colour, grey, and the degradations
that platforms apply and that sources differ in (blur, sharpening, resizing, JPEG), for both classes
alike so that sharpness or compression cannot stand in for the label."""

from __future__ import annotations

import cv2
import numpy as np


def random_resized_crop(img: np.ndarray, size: int, rng: np.random.Generator, area=(0.75, 1.0)) -> np.ndarray:
    h, w = img.shape[:2]
    side = int(round(np.sqrt(rng.uniform(*area)) * min(h, w)))
    y0, x0 = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
    return cv2.resize(img[y0:y0 + side, x0:x0 + side], (size, size), interpolation=cv2.INTER_AREA)


def center_resize(img: np.ndarray, size: int) -> np.ndarray:
    return img if img.shape[0] == size else cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]


def color_jitter(img: np.ndarray, rng: np.random.Generator, strength: float = 0.15) -> np.ndarray:
    x = img.astype(np.float32)
    x = x * rng.uniform(1 - strength, 1 + strength) + rng.uniform(-20, 20) * strength / 0.15  # contrast, brightness
    grey = x.mean(axis=2, keepdims=True)
    x = grey + (x - grey) * rng.uniform(1 - 2 * strength, 1 + 2 * strength)  # saturation
    return np.clip(x, 0, 255).astype(np.uint8)


def unsharp(img: np.ndarray, amount: float, sigma: float = 1.0) -> np.ndarray:
    blur = cv2.GaussianBlur(img, (0, 0), sigma)
    return cv2.addWeighted(img, 1 + amount, blur, -amount, 0)


def rescale(img: np.ndarray, factor: float) -> np.ndarray:
    """Down by `factor` and back up (a re-upload at a lower resolution)."""
    h, w = img.shape[:2]
    small = cv2.resize(img, (max(8, round(w * factor)), max(8, round(h * factor))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def degrade(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random chain of what platforms and sources do to a picture, in random order: Gaussian blur
    (sigma 0.4-1.6), unsharp masking (amount 0.3-1.5), down-and-up resizing (0.3-0.9x), JPEG (30-95)."""
    ops = [lambda x: cv2.GaussianBlur(x, (0, 0), rng.uniform(0.4, 1.6)),
           lambda x: unsharp(x, rng.uniform(0.3, 1.5)),
           lambda x: rescale(x, rng.uniform(0.3, 0.9)),
           lambda x: jpeg(x, int(rng.integers(30, 96)))]
    chosen = [op for op, p in zip(ops, (0.35, 0.25, 0.35, 0.6)) if rng.random() < p]
    for i in rng.permutation(len(chosen)):
        img = np.ascontiguousarray(chosen[i](np.ascontiguousarray(img)))
    return img


def augment(img: np.ndarray, size: int, rng: np.random.Generator, degrade_p: float = 0.8) -> np.ndarray:
    """One random training view of a crop, at size x size. `degrade_p`: chance of a degradation
    chain (the same for real and fake)."""
    x = random_resized_crop(img, size, rng)
    if rng.random() < 0.5:
        x = x[:, ::-1]
    if rng.random() < 0.5:
        x = color_jitter(x, rng)
    if rng.random() < 0.1:
        # Grey images occur among reals (LFW): make grey itself carry no label.
        x = np.repeat(cv2.cvtColor(np.ascontiguousarray(x), cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    if rng.random() < degrade_p:
        x = degrade(x, rng)
    return np.ascontiguousarray(x)
