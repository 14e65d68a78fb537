"""Where does the model look for fakes in general? (seed 003's global vs local explanations)

Maps of many faces are aligned by their 68 landmarks onto one template (a similarity transform per
face, from its landmarks to their mean) and averaged per class, next to the average aligned face.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from fakelens.explain.registry import create_explainer
from fakelens.explain.render import overlay


def align(image: np.ndarray, landmarks: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Warp an image (or map) so its landmarks land on the template (similarity transform)."""
    m, _ = cv2.estimateAffinePartial2D(landmarks.astype(np.float32), template.astype(np.float32))
    h, w = image.shape[:2]
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def class_average_maps(det, faces: list[tuple[np.ndarray, np.ndarray, str]], method: str = "gradcam",
                       **options) -> dict[str, dict]:
    """faces: (crop, crop landmarks, 'real'|'fake' truth). Per class: mean aligned face, mean
    aligned map (each map scaled to sum 1 first, so every face counts the same), and the count."""
    template = np.mean([lm for _, lm, _ in faces], axis=0)
    explainer = create_explainer(method, det.model, flip=det.flip, **options)  # the verdict's function
    out: dict[str, dict] = {}
    for crop, lm, truth in faces:
        x = torch.from_numpy(crop).permute(2, 0, 1).float().div(255)[None]
        m = np.clip(explainer.attribute(x, target="fake")[0].map, 0, None)  # evidence for "fake", every face
        m = m / (m.sum() or 1.0)
        acc = out.setdefault(truth, {"face": np.zeros(crop.shape, np.float64), "map": np.zeros(m.shape, np.float64),
                                     "n": 0})
        acc["face"] += align(crop.astype(np.float32), lm, template)
        acc["map"] += align(m.astype(np.float32), lm, template)
        acc["n"] += 1
    for acc in out.values():
        acc["face"] = (acc["face"] / acc["n"]).astype(np.uint8)
        acc["map"] = (acc["map"] / acc["n"]).astype(np.float32)
    return out


def save_global_view(averages: dict[str, dict], out: Path, method: str) -> list[Path]:
    """One PNG per class ([mean face | mean map over it]) and the raw mean maps (.npy)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for truth, acc in averages.items():
        base = out / f"global-{method.replace('+', 'p')}-{truth}"
        np.save(base.with_suffix(".npy"), acc["map"])
        Image.fromarray(overlay(acc["face"], acc["map"], False)).save(base.with_suffix(".png"))
        paths.append(base.with_suffix(".png"))
    return paths
