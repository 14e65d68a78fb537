"""dlib's HOG face detector and 68-point shape predictor, loaded offline."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import dlib
import numpy as np

from fakelens.errors import ModelError


def dlib_model_path(name: str) -> Path:
    """Path of a .dat file shipped by face-recognition-models.

    The package's __init__ imports pkg_resources (gone from new setuptools), so it is
    located without importing it.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("face-recognition-models is not installed (pip install face-recognition-models)")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / name
    if not path.exists():
        raise ModelError(f"dlib model file missing: {path}")
    return path


@lru_cache(maxsize=1)
def _dlib_models():
    return (
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(str(dlib_model_path("shape_predictor_68_face_landmarks.dat"))),
    )


@dataclass
class DetectedFace:
    """A face box [x0, y0, x1, y1] in image pixels, its 68 landmarks (x, y) and HOG confidence."""

    box: tuple[int, int, int, int]
    landmarks: np.ndarray  # (68, 2) float32, image pixels
    confidence: float

    @property
    def size(self) -> int:
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])


class FaceDetector:
    """Find faces and their landmarks.

    Detection runs on a copy scaled so its long side is at most `detect_side`
    (HOG cost grows with pixels); small images are upsampled once so faces down to
    about 40 px are found. Landmarks are fitted on the full-resolution image.
    """

    def __init__(self, detect_side: int = 1024, min_confidence: float = 0.3):
        self.detect_side = detect_side
        self.min_confidence = min_confidence
        self._detector, self._predictor = _dlib_models()

    def detect(self, rgb: np.ndarray, region: tuple[int, int, int, int] | None = None,
               region_side: int = 320) -> list[DetectedFace]:
        """Faces in the image, largest first. With `region` ([x0, y0, x1, y1], e.g. around a face
        tracked in the previous video frame), only that part is searched, scaled to `region_side`
        pixels: a few ms instead of tens."""
        h, w = rgb.shape[:2]
        ox, oy = 0, 0
        view, side, upsample_limit = rgb, self.detect_side, 512
        if region is not None:
            ox, oy = max(0, int(region[0])), max(0, int(region[1]))
            view = rgb[oy:min(h, int(region[3])), ox:min(w, int(region[2]))]
            side, upsample_limit = region_side, 0
            if view.shape[0] < 8 or view.shape[1] < 8:
                return []
        vh, vw = view.shape[:2]
        scale = min(1.0, side / max(vh, vw))
        small = view if scale == 1.0 else cv2.resize(view, (round(vw * scale), round(vh * scale)),
                                                     interpolation=cv2.INTER_AREA)
        upsample = 1 if max(small.shape[:2]) <= upsample_limit else 0
        rects, scores, _ = self._detector.run(np.ascontiguousarray(small), upsample, self.min_confidence)
        faces = []
        for r, s in zip(rects, scores):
            x0, y0 = max(0, ox + round(r.left() / scale)), max(0, oy + round(r.top() / scale))
            x1, y1 = min(w, ox + round((r.right() + 1) / scale)), min(h, oy + round((r.bottom() + 1) / scale))
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            faces.append(DetectedFace((x0, y0, x1, y1), self.landmarks(rgb, (x0, y0, x1, y1)), float(s)))
        faces.sort(key=lambda f: -f.size)
        return faces

    def landmarks(self, rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        shape = self._predictor(np.ascontiguousarray(rgb), dlib.rectangle(*[int(v) for v in box]))
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
