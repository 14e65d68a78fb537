"""Face crops of a dataset, computed once with the inference crop code and kept on disk.

Training reads crops from here instead of re-running dlib every epoch; the crops are
cut slightly larger than the model input so augmentation can jitter the framing.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from platformdirs import user_cache_dir
from tqdm import tqdm

from fakelens.data.datasets import Sample
from fakelens.errors import InputError
from fakelens.faces import FaceDetector, crop_face, crop_whole_image
from fakelens.imageio import load_rgb

CACHE_VERSION = 1
_detector: FaceDetector | None = None


@dataclass
class CropCache:
    """crops[i] is sample i's face (size x size x 3 uint8); landmarks[i] is (68, 2) in crop
    pixels, NaN when no face was found (then the crop is the whole image)."""

    crops: np.ndarray
    landmarks: np.ndarray
    face_found: np.ndarray
    readable: np.ndarray


def cache_root() -> Path:
    """Where fakelens keeps rebuildable files (crops, clip features, ONNX graphs): FAKELENS_CACHE_DIR or the user cache."""
    return Path(os.environ.get("FAKELENS_CACHE_DIR") or user_cache_dir("fakelens"))


def default_cache_dir() -> Path:
    return cache_root() / "crops"


def _crop_one(args: tuple[str, int, float]) -> tuple[np.ndarray, np.ndarray, bool, bool]:
    global _detector
    path, size, scale = args
    if _detector is None:
        _detector = FaceDetector()
    try:
        rgb = load_rgb(path)
    except InputError:
        return np.zeros((size, size, 3), np.uint8), np.full((68, 2), np.nan, np.float32), False, False
    faces = _detector.detect(rgb)
    if faces:
        crop = crop_face(rgb, faces[0].landmarks, size, scale)
        return crop.image, crop.landmarks, True, True
    return crop_whole_image(rgb, size).image, np.full((68, 2), np.nan, np.float32), False, True


def build_cache(samples: list[Sample], size: int, scale: float, cache_dir: Path | None = None,
                workers: int = 2, progress: bool = True) -> CropCache:
    """Crop every sample's largest face (whole image if none), reusing a matching cache on disk."""
    key = hashlib.sha256(json.dumps([CACHE_VERSION, size, scale, [s.path for s in samples]]).encode()).hexdigest()[:16]
    folder = (cache_dir or default_cache_dir()) / key
    files = {n: folder / f"{n}.npy" for n in ("crops", "landmarks", "face_found", "readable")}
    if all(f.exists() for f in files.values()):
        return CropCache(**{n: np.load(f, mmap_mode="r" if n == "crops" else None) for n, f in files.items()})
    jobs = [(s.path, size, scale) for s in samples]
    if workers > 1:
        with get_context("spawn").Pool(workers) as pool:
            results = list(tqdm(pool.imap(_crop_one, jobs, chunksize=16), total=len(jobs), desc="cropping faces", disable=not progress))
    else:
        results = [_crop_one(j) for j in tqdm(jobs, desc="cropping faces", disable=not progress)]
    cache = CropCache(
        crops=np.stack([r[0] for r in results]),
        landmarks=np.stack([r[1] for r in results]),
        face_found=np.array([r[2] for r in results]),
        readable=np.array([r[3] for r in results]),
    )
    folder.mkdir(parents=True, exist_ok=True)
    for n, f in files.items():
        np.save(f, getattr(cache, n))
    return cache
