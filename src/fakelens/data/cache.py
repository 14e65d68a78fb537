"""Face crops of a dataset, computed once with the inference code (detector and crop) and kept on disk.

Training reads crops from here instead of re-running detection every epoch (crops cut slightly
larger than the model input so augmentation can jitter the framing); evaluation reads crops cut
at the model's input size, every face of an image, and scores them exactly as `fakelens analyze`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm import tqdm

from fakelens.data.datasets import Sample
from fakelens.errors import InputError
from fakelens.paths import cache_root
from fakelens.faces import FaceDetector, crop_faces, crop_landmarks, crop_whole_image
from fakelens.imageio import load_rgb

CACHE_VERSION = 3  # 2: every face of every image (BlazeFace), no whole-image fallback; 3: crops on the face extent
_detector: FaceDetector | None = None


@dataclass
class CropCache:
    """Every face of every sample, cut as `fakelens analyze` cuts them (largest first).

    crops[j] is face j (size x size x 3 uint8), landmarks[j] its 68 points in crop pixels,
    owner[j] the sample it belongs to. first[i] is sample i's largest face (-1: no face found;
    such a sample is `no_face` for analyze too, so it is never scored from a whole-image
    stand-in). readable[i] is False when the file could not be decoded.
    """

    crops: np.ndarray
    landmarks: np.ndarray
    owner: np.ndarray
    first: np.ndarray
    readable: np.ndarray

    @property
    def face_found(self) -> np.ndarray:
        return self.first >= 0

    def faces_of(self, i: int) -> np.ndarray:
        """Crop indices of sample i's faces (empty when none was found)."""
        if self.first[i] < 0:
            return np.zeros(0, np.int64)
        return np.arange(int(self.first[i]), int(np.searchsorted(self.owner, i, side="right")))


def default_cache_dir() -> Path:
    return cache_root() / "crops"


def _crop_one(args: tuple[str, tuple[int, ...], float, str | None]) -> tuple[list[list[np.ndarray]], list[list[np.ndarray]], bool]:
    """Per requested size: the crops and landmarks of every face of one picture (found once)."""
    global _detector
    path, sizes, scale, backend = args
    try:
        rgb = load_rgb(path)
    except InputError:
        return [[] for _ in sizes], [[] for _ in sizes], False
    if backend is None:  # --whole-image: the picture is the face crop
        return ([[crop_whole_image(rgb, s).image] for s in sizes],
                [[np.full((68, 2), np.nan, np.float32)] for _ in sizes], True)
    if _detector is None or _detector.backend != backend:
        _detector = FaceDetector(backend)
    faces = _detector.detect(rgb)
    crops = [crop_faces(rgb, faces, s, scale) for s in sizes]
    # Landmarks (self-blending's masks) come from the predictor on each crop, as explanations get them.
    return ([[c.image for c in cs] for cs in crops],
            [[crop_landmarks(c) for c in cs] for cs in crops], True)


def build_cache(samples: list[Sample], size: int, scale: float, cache_dir: Path | None = None,
                workers: int = 2, progress: bool = True, face_detector: str = "blazeface",
                whole_image: bool = False) -> CropCache:
    """Crop every face of every sample with the inference code, reusing a matching cache on disk.
    With `whole_image` each picture is taken as one face crop (as `analyze --whole-image`; no landmarks)."""
    return build_caches(samples, [size], scale, cache_dir, workers, progress, face_detector, whole_image)[0]


def build_caches(samples: list[Sample], sizes: list[int], scale: float, cache_dir: Path | None = None,
                 workers: int = 2, progress: bool = True, face_detector: str = "blazeface",
                 whole_image: bool = False) -> list[CropCache]:
    """`build_cache` at several crop sizes (training's and analyze's), detecting the faces once."""
    backend = None if whole_image else face_detector
    names = ("crops", "landmarks", "owner", "first", "readable")
    folders = []
    for size in sizes:
        key = hashlib.sha256(json.dumps([CACHE_VERSION, size, scale, backend,
                                         [s.path for s in samples]]).encode()).hexdigest()[:16]
        folders.append((cache_dir or default_cache_dir()) / key)
    missing = [k for k, f in enumerate(folders) if not all((f / f"{n}.npy").exists() for n in names)]
    if missing:
        jobs = [(s.path, tuple(sizes[k] for k in missing), scale, backend) for s in samples]
        if workers > 1:
            with get_context("spawn").Pool(workers) as pool:
                results = list(tqdm(pool.imap(_crop_one, jobs, chunksize=16), total=len(jobs), desc="cropping faces",
                                    disable=not progress))
        else:
            results = [_crop_one(j) for j in tqdm(jobs, desc="cropping faces", disable=not progress)]
        counts = np.array([len(r[0][0]) for r in results], np.int64)
        owner = np.repeat(np.arange(len(results)), counts)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) if len(counts) else np.zeros(0, np.int64)
        for j, k in enumerate(missing):
            size = sizes[k]
            crops = [c for r in results for c in r[0][j]]
            marks = [lm for r in results for lm in r[1][j]]
            cache = CropCache(
                crops=np.stack(crops) if crops else np.zeros((0, size, size, 3), np.uint8),
                landmarks=np.stack(marks) if marks else np.zeros((0, 68, 2), np.float32),
                owner=owner, first=np.where(counts > 0, starts, -1).astype(np.int64),
                readable=np.array([r[2] for r in results]))
            folders[k].mkdir(parents=True, exist_ok=True)
            for n in names:
                np.save(folders[k] / f"{n}.npy", getattr(cache, n))
    return [CropCache(**{n: np.load(f / f"{n}.npy", mmap_mode="r" if n == "crops" else None) for n in names})
            for f in folders]
