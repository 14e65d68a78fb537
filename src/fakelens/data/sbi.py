"""Self-blended images (Shiohara & Yamasaki, CVPR 2022): fakes made from a real face alone.

As in the paper's code (mapooon/SelfBlendedImages, src/utils/sbi.py and blend.py): a copy of the
face gets colour (RGB shift, hue/saturation/value, brightness/contrast) and frequency (downscale or
sharpen) changes, either the copy (source) or the original (target) at random; the source and a
landmark-hull mask are shifted and scaled slightly; the mask is deformed elastically, eroded and
blurred by random kernels; the source is blended into the target at a random ratio from
{0.25, 0.5, 0.75, 1, 1, 1}. The result carries a blending boundary and a statistical mismatch of
the kind face swaps leave, with no identity change, so the detector learns those traces rather than
identities or generators. `SBIConfig` turns each part off, to measure what it buys.
Written here because no maintained package implements it without its training code.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

BLEND_RATIOS = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)


@dataclass(frozen=True)
class SBIConfig:
    """Which parts of the self-blending recipe run (all, as in the paper, by default)."""

    colour: bool = True  # source-target colour transforms
    frequency: bool = True  # downscale or sharpen one of the two
    elastic: bool = True  # elastic deformation of the mask
    hull_variants: bool = True  # several landmark hulls (whole face, inner face, lower face)
    blend_ratios: tuple[float, ...] = BLEND_RATIOS  # (1.0,) blends fully every time


def _odd(k: float) -> int:
    k = max(3, int(k))
    return k if k % 2 else k + 1


def hull_mask(landmarks: np.ndarray, h: int, w: int, rng: np.random.Generator, variants: bool = True) -> np.ndarray:
    """A binary mask (float32 0/1) of a hull of the 68 landmarks: the whole face, the face without the
    eyebrows' upper reach, or the lower face (nose to chin), as face X-ray's random hulls vary it."""
    pts = landmarks
    if variants:
        choice = rng.integers(3)
        if choice == 1:
            pts = np.concatenate([landmarks[:17], landmarks[27:]])  # jaw, nose, eyes, mouth
        elif choice == 2:
            pts = np.concatenate([landmarks[1:16], landmarks[29:36], landmarks[48:]])  # lower face
    mask = np.zeros((h, w), np.float32)
    cv2.fillConvexPoly(mask, cv2.convexHull(pts.astype(np.int32)), 1.0)
    return mask


def elastic(mask: np.ndarray, rng: np.random.Generator, alpha: float = 50.0, sigma: float = 7.0) -> np.ndarray:
    """Elastic deformation (albumentations' ElasticTransform, alpha 50, sigma 7, as the paper uses)."""
    h, w = mask.shape
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma) * alpha
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma) * alpha
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(mask, gx + dx, gy + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def blend_mask(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The paper's soft mask: at a random working size of 192-256 px, blur (kernel 5-25), keep only the
    full-strength core (an erosion), blur again (kernel 5-25, sigma 5-45), back to the crop size."""
    h, w = mask.shape
    m = cv2.resize(mask, (int(rng.integers(192, 257)), int(rng.integers(192, 257))))
    k1, k2 = (int(rng.choice(np.arange(5, 26, 2))) for _ in range(2))
    m = cv2.GaussianBlur(m, (k1, k1), 0)
    m = m / max(float(m.max()), 1e-6)
    m[m < 1] = 0
    m = cv2.GaussianBlur(m, (k2, k2), float(rng.integers(5, 46)))
    m = m / max(float(m.max()), 1e-6)
    return cv2.resize(m, (w, h))


def colour_transform(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """RGB shift (p 0.3, +-20 levels), hue (+-5 of 180), saturation and value (+-20 of 255), brightness
    and contrast (+-10%). (The paper's float hue/saturation/value limits barely move uint8 images in
    albumentations; these are a visible but plausible shift.)"""
    x = img.astype(np.float32)
    if rng.random() < 0.3:
        x += rng.uniform(-20, 20, size=3)
    hsv = cv2.cvtColor(np.clip(x, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + rng.integers(-5, 6)) % 180
    hsv[..., 1:] = np.clip(hsv[..., 1:] + rng.integers(-20, 21, size=2), 0, 255)
    x = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    x = (x - x.mean()) * rng.uniform(0.9, 1.1) + x.mean() + rng.uniform(-0.1, 0.1) * 255
    return np.clip(x, 0, 255)


def frequency_transform(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Downscale by 2 or 4 and back (the paper's RandomDownScale), or sharpen (alpha 0.2-0.5)."""
    h, w = img.shape[:2]
    x = img.astype(np.float32)
    if rng.random() < 0.5:
        f = rng.choice([2, 4])
        small = cv2.resize(x, (max(4, w // f), max(4, h // f)), interpolation=cv2.INTER_NEAREST)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    a = rng.uniform(0.2, 0.5)
    sharp = cv2.filter2D(x, -1, np.array([[-1, -1, -1], [-1, 9, -1], [-1, -1, -1]], np.float32))
    return np.clip((1 - a) * x + a * sharp, 0, 255)


def self_blend(img: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator,
               cfg: SBIConfig = SBIConfig()) -> np.ndarray:
    """A self-blended fake of a real face crop (uint8 RGB) with its 68 landmarks in crop pixels."""
    h, w = img.shape[:2]
    target = img.astype(np.float32)
    source = target.copy()
    if cfg.colour or cfg.frequency:  # the paper alters either the source or the target
        altered = source if rng.random() < 0.5 else target
        if cfg.colour:
            altered[:] = colour_transform(altered, rng)
        if cfg.frequency:
            altered[:] = frequency_transform(altered, rng)
    mask = hull_mask(landmarks, h, w, rng, cfg.hull_variants)
    s = rng.uniform(0.95, 1 / 0.95)
    tx, ty = rng.uniform(-0.03, 0.03) * w, rng.uniform(-0.015, 0.015) * h
    affine = np.array([[s, 0, (1 - s) * w / 2 + tx], [0, s, (1 - s) * h / 2 + ty]], np.float32)
    source = cv2.warpAffine(source, affine, (w, h), borderMode=cv2.BORDER_REFLECT)
    mask = cv2.warpAffine(mask, affine, (w, h))
    if cfg.elastic:
        mask = elastic(mask, rng)
    soft = (blend_mask(mask, rng) * float(rng.choice(cfg.blend_ratios)))[..., None]
    out = np.clip(source * soft + target * (1 - soft) + 0.5, 0, 255).astype(np.uint8)
    if img.ndim == 3 and np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2]):
        out = np.repeat(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)  # grey in, grey out
    return out
