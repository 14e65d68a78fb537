"""How the face detector behaves on a labelled set (seed 004): which faces it misses, and the
average D-RISE map over many detections (each map cropped to its box, scaled to sum 1, averaged)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from fakelens.data.datasets import read_datasets
from fakelens.explain.drise import drise
from fakelens.explain.render import overlay
from fakelens.imageio import load_rgb


def audit_detector(faces, data: list[str], n: int = 200, drise_faces: int = 20, masks: int = 200, seed: int = 0,
                   size: int = 96) -> dict:
    """Detect faces in n random images (every image of these sets holds one face); D-RISE on the first
    `drise_faces` detections. Returns counts, the missed paths, the mean map and the mean face crop."""
    samples = read_datasets(data)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(samples), size=min(n, len(samples)), replace=False)
    detect = faces.detections
    missed, multi, found = [], [], 0
    mean_map = np.zeros((size, size), np.float64)
    mean_face = np.zeros((size, size, 3), np.float64)
    explained = 0
    for i in pick:
        path = samples[i].path
        try:
            rgb = load_rgb(path)
        except Exception:  # noqa: BLE001 - unreadable files are reported by `fakelens analyze`, not here
            continue
        dets = faces.detect(rgb)
        if not dets:
            missed.append(path)
            continue
        found += 1
        if len(dets) > 1:
            multi.append(path)
        if explained < drise_faces:
            box = dets[0].box
            r = drise(detect, rgb, box, masks=masks, seed=seed)
            x0, y0, x1, y1 = box
            rx0, ry0 = r.region[:2]
            m = cv2.resize(r.map[y0 - ry0:y1 - ry0, x0 - rx0:x1 - rx0], (size, size), interpolation=cv2.INTER_AREA)
            m = np.clip(m - m.min(), 0, None)
            mean_map += m / (m.sum() or 1.0)
            mean_face += cv2.resize(rgb[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_AREA)
            explained += 1
    return {"images": int(len(pick)), "found": found, "missed": missed, "several_faces": multi,
            "recall": round(found / max(1, len(pick)), 4), "drise_faces": explained,
            "mean_map": (mean_map / max(1, explained)).astype(np.float32),
            "mean_face": (mean_face / max(1, explained)).astype(np.uint8)}


def save_detector_audit(result: dict, out: Path, grid: int = 16) -> list[Path]:
    """mean D-RISE map over the mean face, a grid of missed images, and the numbers (JSON)."""
    import json

    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "drise-mean.png", out / "missed-faces.png", out / "detector.json"]
    Image.fromarray(overlay(result["mean_face"], result["mean_map"], False)).save(paths[0])
    thumbs = []
    for p in result["missed"][:grid]:
        thumbs.append(cv2.resize(load_rgb(p), (96, 96), interpolation=cv2.INTER_AREA))
    if thumbs:
        rows = [np.concatenate(thumbs[i:i + 8] + [np.zeros((96, 96, 3), np.uint8)] * (8 - len(thumbs[i:i + 8])), axis=1)
                for i in range(0, len(thumbs), 8)]
        Image.fromarray(np.concatenate(rows, axis=0)).save(paths[1])
    np.save(out / "drise-mean.npy", result["mean_map"])
    paths[2].write_text(json.dumps({k: v for k, v in result.items() if k not in ("mean_map", "mean_face")}, indent=1))
    return [p for p in paths if p.exists()]
