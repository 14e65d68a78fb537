"""The Python API: `Detector.load()` then `detector.analyze(path)` -> Analysis."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch

from fakelens.errors import FakelensError, InputError
from fakelens.faces import DetectedFace, FaceCrop, FaceDetector, crop_faces, crop_whole_image
from fakelens.imageio import load_rgb
from fakelens.media import time_budget
from fakelens.models import fake_probability, load_checkpoint
from fakelens.models.checkpoint import WEIGHTS_DIR
from fakelens.records import Analysis, FaceResult

DEFAULT_MODEL = WEIGHTS_DIR / "fakelens-lite0-v3.safetensors"
SMALL_FACE_PX = 120


def default_model_path() -> Path:
    """The shipped default model, unless FAKELENS_MODEL names another checkpoint."""
    return Path(os.environ.get("FAKELENS_MODEL", DEFAULT_MODEL))


class Detector:
    """Scores every face in an image; the image's score is its most suspicious face.

    >>> det = Detector.load()            # the shipped default model
    >>> det.analyze("photo.jpg").label   # 'real', 'fake', 'no_face' or 'error'
    """

    def __init__(self, model: torch.nn.Module, meta: dict, name: str = "model", faces: FaceDetector | None = None,
                 threshold: float | None = None, path: Path | None = None, face_detector: str = "blazeface"):
        self.model = model.eval()
        self.path = path  # the checkpoint file, when loaded from one
        self.meta = meta
        self.name = name
        self.input_size = int(meta.get("input_size", getattr(model, "input_size", 160)))
        self.crop_scale = float(meta.get("crop_scale", 1.3))
        self.threshold = float(threshold if threshold is not None else meta.get("threshold", 0.5))
        self.flip = bool(meta.get("flip", False))  # test-time flip, when the model card says it helps
        self._faces = faces
        self.face_detector = faces.backend if faces is not None else face_detector

    @classmethod
    def load(cls, path: str | Path | None = None, threshold: float | None = None,
             face_detector: str = "blazeface") -> "Detector":
        """Load a checkpoint (default: the model shipped with fakelens); faces found by `face_detector`
        ('blazeface' or 'hog')."""
        path = Path(path) if path else default_model_path()
        model, meta = load_checkpoint(path)
        return cls(model, meta, name=path.stem, threshold=threshold, path=path, face_detector=face_detector)

    @property
    def faces(self) -> FaceDetector:
        if self._faces is None:
            self._faces = FaceDetector(self.face_detector)
        return self._faces

    @torch.no_grad()
    def score_crops(self, crops: list[np.ndarray] | np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Fake probabilities for face crops (N x S x S x 3 uint8, S = model input size)."""
        out = []
        for i in range(0, len(crops), batch_size):
            x = torch.from_numpy(np.stack(crops[i:i + batch_size])).permute(0, 3, 1, 2).float().div_(255)
            out.append(fake_probability(self.model, x, self.flip).numpy())
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def face_crops(self, rgb: np.ndarray, whole_image: bool = False) -> list[tuple[FaceCrop, DetectedFace | None]]:
        """Model-ready crops of every face (largest first), with the detection behind each
        (None with whole_image, where the whole image is the one crop)."""
        if whole_image:
            return [(crop_whole_image(rgb, self.input_size), None)]
        faces = self.faces.detect(rgb)
        return list(zip(crop_faces(rgb, faces, self.input_size, self.crop_scale), faces))

    def _label(self, score: float) -> str:
        return "fake" if score >= self.threshold else "real"

    def analyze_array(self, rgb: np.ndarray, path: str = "<array>", whole_image: bool = False) -> Analysis:
        """Analyze an HxWx3 uint8 RGB image already in memory."""
        t0 = time.perf_counter()
        h, w = rgb.shape[:2]
        found = self.face_crops(rgb, whole_image)
        scores = self.score_crops([c.image for c, _ in found])
        faces = [FaceResult(box=list(f.box) if f else [0, 0, w, h], score=round(float(s), 6), label=self._label(float(s)),
                            flags=(["small"] if f and f.size < SMALL_FACE_PX else []) + (f.flags if f else []),
                            crop_box=list(c.square),
                            landmarks=f.landmarks.round(1).tolist() if f else None)
                 for (c, f), s in zip(found, scores)]
        if faces:
            score = max(f.score for f in faces)
            label = self._label(score)
        else:
            score, label = None, "no_face"
        return Analysis(path=path, kind="image", label=label, score=score, faces=faces, model=self.name,
                        threshold=self.threshold, width=w, height=h, seconds=round(time.perf_counter() - t0, 4))

    def analyze(self, path: str | os.PathLike, whole_image: bool = False, budget_s: float | None = None) -> Analysis:
        """Analyze one image file. Never raises for bad input: returns label 'error' with a one-line reason
        (also when it takes longer than `budget_s` seconds, if given)."""
        t0 = time.perf_counter()
        try:
            with time_budget(budget_s, path):
                rgb = load_rgb(path)
                result = self.analyze_array(rgb, str(path), whole_image)
            result.seconds = round(time.perf_counter() - t0, 4)
            return result
        except FakelensError as e:
            return self._error(path, str(e), t0)
        except Exception as e:  # noqa: BLE001 - one bad input must not stop a batch
            return self._error(path, f"unexpected {type(e).__name__}: {' '.join(str(e).split())}", t0)

    def _error(self, path, message: str, t0: float) -> Analysis:
        return Analysis(path=str(path), kind="image", label="error", score=None, faces=[], error=message,
                        model=self.name, threshold=self.threshold, seconds=round(time.perf_counter() - t0, 4))

    def analyze_many(self, paths, whole_image: bool = False):
        """Yield one Analysis per path, in order."""
        for p in paths:
            yield self.analyze(p, whole_image)


__all__ = ["Detector", "InputError", "default_model_path"]
