"""`fakelens explain`: every face of every input, every chosen method -> .npy map, overlay PNG, JSON record."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from PIL import Image

from fakelens.detector import Detector
from fakelens.errors import FakelensError
from fakelens.explain.registry import create_explainer, list_explainers
from fakelens.explain.render import overlay, superpixel_panels
from fakelens.imageio import load_rgb


def parse_methods(spec: str) -> list[str]:
    """'all' or a comma-separated list of registered method names."""
    names = list_explainers() if spec == "all" else [m.strip() for m in spec.split(",") if m.strip()]
    unknown = [m for m in names if m not in list_explainers()]
    if unknown or not names:
        raise ValueError(f"unknown method(s) {unknown or spec!r}; known: {', '.join(list_explainers())}, or all")
    return names


def _stem(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(path).stem)[:80]


def explain_paths(det: Detector, paths: list[str], methods: list[str], out: Path, whole_image: bool = False,
                  target: str = "verdict", options: dict[str, dict] | None = None) -> Iterator[dict]:
    """Yield one record per (input, face, method); inputs that fail yield one record with `error`."""
    out.mkdir(parents=True, exist_ok=True)
    explainers = {m: create_explainer(m, det.model, **(options or {}).get(m, {})) for m in methods}
    for k, path in enumerate(paths):
        try:
            rgb = load_rgb(path)
        except FakelensError as e:
            yield {"path": str(path), "face": None, "method": None, "error": str(e)}
            continue
        h, w = rgb.shape[:2]
        found = det.face_crops(rgb, whole_image)
        crops = [c for c, _ in found]
        boxes = [list(f.box) if f else [0, 0, w, h] for _, f in found]
        if not crops:
            yield {"path": str(path), "face": None, "method": None, "label": "no_face", "error": None}
            continue
        images = np.stack([c.image for c in crops])
        x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255)
        scores = det.score_crops(images)
        stem = f"{k:04d}-{_stem(str(path))}"
        tgts = [("fake" if s >= det.threshold else "real") if target == "verdict" else target for s in scores]
        for method, explainer in explainers.items():
            for t in sorted(set(tgts)):
                idx = [i for i, tt in enumerate(tgts) if tt == t]
                for i, e in zip(idx, explainer.attribute(x[idx], target=t)):
                    base = out / f"{stem}-face{i}-{method.replace('+', 'p')}"
                    np.save(base.with_suffix(".npy"), e.map)
                    picture = (superpixel_panels(images[i], e.map, e.segments) if e.segments is not None
                               else overlay(images[i], e.map, e.signed))
                    Image.fromarray(picture).save(base.with_suffix(".png"))
                    yield {"path": str(path), "face": boxes[i], "crop_box": list(crops[i].square), "method": method,
                           "target": t, "score": round(float(scores[i]), 6), "map": str(base.with_suffix(".npy")),
                           "overlay": str(base.with_suffix(".png")), "seconds": e.seconds, "signed": e.signed,
                           "params": e.params, "error": None}
