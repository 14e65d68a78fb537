"""D-RISE (Petsiuk et al., CVPR 2021; seed 004): which pixels made the face detector find a face.

Random RISE masks (small binary grids, bilinearly upsampled, randomly shifted) hide parts of the
region around the face; the detector runs on every masked copy; each mask is weighted by how well
the detections on its copy match the target detection (box IoU x detection score) and the
weighted masks are summed. Works for a detected box and for a box the user gives (a missed face).
Written by hand: no maintained library explains these face detectors (BlazeFace, dlib's HOG).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from fakelens.explain.base import Explainer, Explanation
from fakelens.explain.registry import register_explainer
from fakelens.ops import box_iou

Detections = list[tuple[tuple[float, float, float, float], float]]  # (box, score) per face


@dataclass
class DriseMap:
    """Saliency over `region` ([x0, y0, x1, y1] in image pixels) for the `target` box."""

    map: np.ndarray
    region: tuple[int, int, int, int]
    target: tuple[int, int, int, int]
    masks: int
    seconds: float
    hit_rate: float  # share of masked copies on which the target face was still found (IoU >= 0.5)


def drise_masks(n: int, size: tuple[int, int], grid: int = 8, p: float = 0.5, seed: int = 0) -> np.ndarray:
    """n soft masks (n x H x W float32): binary grid x grid cells kept with probability p,
    upsampled bilinearly past the region and cropped at a random shift (as RISE)."""
    rng = np.random.default_rng(seed)
    h, w = size
    ch, cw = int(np.ceil(h / grid)), int(np.ceil(w / grid))
    out = np.empty((n, h, w), np.float32)
    for i in range(n):
        cells = (rng.random((grid, grid)) < p).astype(np.float32)
        up = cv2.resize(cells, ((grid + 1) * cw, (grid + 1) * ch), interpolation=cv2.INTER_LINEAR)
        dy, dx = rng.integers(0, ch), rng.integers(0, cw)
        out[i] = up[dy:dy + h, dx:dx + w]
    return out


def drise(detect: Callable[[np.ndarray], Detections], image: np.ndarray, target: tuple[int, int, int, int],
          masks: int = 500, grid: int = 8, p: float = 0.5, context: float = 1.0, seed: int = 0,
          face_px: int | None = 100) -> DriseMap:
    """D-RISE map of one target box. The detector sees the region around the box (the box grown
    by `context` x its size on each side) with masked-out pixels set to the region's mean colour,
    scaled so the face is about `face_px` pixels (both detectors find such faces; a smaller region
    makes each of the hundreds of detector runs cheap). None keeps the original size. `detect`
    returns (box, confidence in [0, 1]) per face, as `FaceDetector.detections` does."""
    t0 = time.perf_counter()
    h, w = image.shape[:2]
    x0, y0, x1, y1 = target
    m = context * max(x1 - x0, y1 - y0)
    region = (int(max(0, x0 - m)), int(max(0, y0 - m)), int(min(w, x1 + m)), int(min(h, y1 + m)))
    rx0, ry0, rx1, ry1 = region
    patch = image[ry0:ry1, rx0:rx1]
    k = min(1.0, face_px / max(x1 - x0, y1 - y0)) if face_px else 1.0
    if k < 1.0:
        patch = cv2.resize(patch, (max(1, round(patch.shape[1] * k)), max(1, round(patch.shape[0] * k))),
                           interpolation=cv2.INTER_AREA)
    patch = patch.astype(np.float32)
    fill = patch.reshape(-1, patch.shape[-1]).mean(0)
    local = tuple(v * k for v in (x0 - rx0, y0 - ry0, x1 - rx0, y1 - ry0))
    stack = drise_masks(masks, patch.shape[:2], grid, p, seed)
    total = np.zeros(patch.shape[:2], np.float64)
    hits = 0
    for mk in stack:
        masked = (patch * mk[..., None] + fill * (1 - mk[..., None])).astype(np.uint8)
        best = 0.0
        for box, score in detect(masked):
            iou = box_iou(local, box)
            best = max(best, iou * score)
            hits += iou >= 0.5 and best > 0
        total += best * mk
    sal = (total / max(masks * p, 1e-9)).astype(np.float32)
    if k < 1.0:
        sal = cv2.resize(sal, (rx1 - rx0, ry1 - ry0), interpolation=cv2.INTER_LINEAR)
    return DriseMap(sal, region, tuple(int(v) for v in target), masks, round(time.perf_counter() - t0, 3),
                    round(hits / masks, 4))


@register_explainer
class Drise(Explainer):
    """D-RISE as an explainer of the face detector: `attribute(picture, target=box)` with the decoded
    picture (H x W x 3 uint8) and the box of the face to explain. The map covers the region around
    the box (`params["region"]`, [x0, y0, x1, y1] in picture pixels), not the whole picture."""

    name, display = "drise", "D-RISE"
    explains = "detector"
    input_dims = 3  # one picture, not a batch of face crops
    defaults = {"masks": 500, "grid": 8, "p": 0.5, "context": 1.0, "seed": 0, "face_px": 100}

    def __init__(self, model, flip=None, **options):
        """`model`: a FaceDetector (its `detections`) or a function picture -> [(box, score), ...]."""
        super().__init__(model, False, **options)
        self.detect = getattr(model, "detections", model)

    def attribute(self, inputs: np.ndarray, target=None, scores=None, **options) -> list[Explanation]:
        if target is None or len(target) != 4:
            raise ValueError("drise: target must be the box x0, y0, x1, y1 to explain")
        opts = {**self.options, **options}
        r = drise(self.detect, np.asarray(inputs), tuple(int(v) for v in target), **opts)
        params = {"masks": r.masks, "hit_rate": r.hit_rate, "region": list(r.region)}
        return [Explanation(r.map, self.name, "face detection", params, r.seconds, False, None)]
