"""Training augmentation on uint8 face crops: framing jitter, flip, colour, grey, blur, JPEG."""

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


def augment(img: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """One random training view of a crop, at size x size."""
    x = random_resized_crop(img, size, rng)
    if rng.random() < 0.5:
        x = x[:, ::-1]
    if rng.random() < 0.5:
        x = color_jitter(x, rng)
    if rng.random() < 0.1:
        # Grey images occur among reals (LFW): make grey itself carry no label.
        x = np.repeat(cv2.cvtColor(np.ascontiguousarray(x), cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    if rng.random() < 0.1:
        x = cv2.GaussianBlur(np.ascontiguousarray(x), (0, 0), rng.uniform(0.3, 1.2))
    if rng.random() < 0.3:
        x = jpeg(np.ascontiguousarray(x), rng.integers(50, 96))
    return np.ascontiguousarray(x)
