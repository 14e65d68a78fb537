"""The Python API for images: `Detector.load()` then `detector.analyze(path)` -> Analysis.

Scoring runs on ONNX Runtime (fakelens.runtime): no torch. The torch twin of the model (`.model`)
is loaded only when asked for, by training and the gradient explainers (pip install 'fakelens[torch]').
"""

from __future__ import annotations

import os
import time
from functools import cached_property
from pathlib import Path

import numpy as np

from fakelens.errors import FakelensError, InputError
from fakelens.faces import DetectedFace, FaceCrop, FaceDetector, crop_faces, crop_whole_image
from fakelens.imageio import load_rgb
from fakelens.media import time_budget
from fakelens.paths import WEIGHTS_DIR, default_model_path
from fakelens.records import Analysis, FaceResult, manipulation_of, verdict
from fakelens.runtime import ImageModel

SMALL_FACE_PX = 120


def torch_classifier(path: Path):
    """The torch model of a checkpoint (training, gradient explainers); one line naming the extra without torch."""
    from fakelens.models.checkpoint import load_checkpoint  # needs torch: fakelens[torch]

    return load_checkpoint(path)[0]


def require_torch(what: str) -> None:
    """Raise a one-line FakelensError when torch is not installed."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        raise FakelensError(f"{what} needs torch: pip install 'fakelens[torch]'")


class Detector:
    """Scores every face in an image; the image's score is its most suspicious face.

    >>> det = Detector.load()            # the shipped default model
    >>> det.analyze("photo.jpg").label   # 'real', 'fake', 'no_face' or 'error'
    """

    def __init__(self, scorer: ImageModel, faces: FaceDetector | None = None, threshold: float | None = None,
                 face_detector: str = "blazeface"):
        self.scorer = scorer
        self.path, self.meta, self.name = scorer.path, scorer.meta, scorer.name
        self.input_size, self.crop_scale, self.flip = scorer.input_size, scorer.crop_scale, scorer.flip
        self.threshold = float(threshold if threshold is not None else scorer.threshold)
        self._faces = faces
        self.face_detector = faces.backend if faces is not None else face_detector

    @classmethod
    def load(cls, path: str | Path | None = None, threshold: float | None = None,
             face_detector: str = "blazeface") -> "Detector":
        """Load a checkpoint (default: the model shipped with fakelens); faces found by `face_detector`
        ('blazeface' or 'hog')."""
        return cls(ImageModel(Path(path) if path else default_model_path()), threshold=threshold,
                   face_detector=face_detector)

    @property
    def faces(self) -> FaceDetector:
        if self._faces is None:
            self._faces = FaceDetector(self.face_detector)
        return self._faces

    @cached_property
    def model(self):
        """The torch model (loaded on first use; needs fakelens[torch])."""
        require_torch("this")
        return torch_classifier(self.path)

    def score_crops(self, crops: list[np.ndarray] | np.ndarray) -> np.ndarray:
        """Fake probabilities for face crops (N x S x S x 3 uint8, S = model input size)."""
        return self.score_crops_both(crops)[0]

    def score_crops_both(self, crops: list[np.ndarray] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(P(fake), P(synthetic | fake)) for face crops; the second is NaN without a manipulation head."""
        return self.scorer.scores(np.asarray(crops) if len(crops) else np.zeros((0, 1, 1, 3), np.uint8))

    def face_crops(self, rgb: np.ndarray, whole_image: bool = False,
                   landmarks: bool = False) -> list[tuple[FaceCrop, DetectedFace | None]]:
        """Model-ready crops of every face (largest first), with the detection behind each
        (None with whole_image, where the whole image is the one crop); the 68 landmarks if asked."""
        if whole_image:
            return [(crop_whole_image(rgb, self.input_size), None)]
        faces = self.faces.detect(rgb, landmarks=landmarks)
        return list(zip(crop_faces(rgb, faces, self.input_size, self.crop_scale), faces))

    def record(self, path: str, found: list[tuple[FaceCrop, DetectedFace | None]], scores: np.ndarray,
               kinds: np.ndarray, width: int, height: int) -> Analysis:
        """The Analysis of one image from its faces and their scores."""
        faces = []
        for (c, f), s, k in zip(found, scores, kinds):
            label = verdict(float(s), self.threshold)
            mscores = None if np.isnan(k) else {"face_swap": round(1 - float(k), 6), "synthetic": round(float(k), 6)}
            faces.append(FaceResult(box=list(f.box) if f else [0, 0, width, height], score=round(float(s), 6),
                                    label=label,
                                    flags=(["small"] if f and f.size < SMALL_FACE_PX else []) + (f.flags if f else []),
                                    crop_box=list(c.square), landmarks=None if f is None or f.landmarks is None else f.landmarks.round(1).tolist(),
                                    manipulation=manipulation_of(label, mscores), manipulation_scores=mscores))
        top = max(faces, key=lambda f: f.score, default=None)
        return Analysis(path=path, kind="image", label=top.label if top else "no_face",
                        score=top.score if top else None, faces=faces, model=self.name, threshold=self.threshold,
                        manipulation=top.manipulation if top else None,
                        manipulation_scores=top.manipulation_scores if top else None, width=width, height=height)

    def analyze_array(self, rgb: np.ndarray, path: str = "<array>", whole_image: bool = False,
                      landmarks: bool = False) -> Analysis:
        """Analyze an HxWx3 uint8 RGB image already in memory (with each face's 68 landmarks if asked)."""
        t0 = time.perf_counter()
        found = self.face_crops(rgb, whole_image, landmarks)
        scores, kinds = self.score_crops_both([c.image for c, _ in found])
        result = self.record(path, found, scores, kinds, rgb.shape[1], rgb.shape[0])
        result.seconds = round(time.perf_counter() - t0, 4)
        return result

    def analyze(self, path: str | os.PathLike, whole_image: bool = False, budget_s: float | None = None) -> Analysis:
        """Analyze one image file. Never raises for bad input: returns label 'error' with a one-line reason
        (also when it takes longer than `budget_s` seconds, if given)."""
        t0 = time.perf_counter()
        try:
            with time_budget(budget_s, path):
                result = self.analyze_array(load_rgb(path), str(path), whole_image)
            result.seconds = round(time.perf_counter() - t0, 4)
            return result
        except FakelensError as e:
            return self.error(path, str(e), t0)
        except Exception as e:  # noqa: BLE001 - one bad input must not stop a batch
            return self.error(path, f"unexpected {type(e).__name__}: {' '.join(str(e).split())}", t0)

    def error(self, path, message: str, t0: float | None = None, kind: str = "image") -> Analysis:
        """The record of an input that could not be analyzed."""
        return Analysis(path=str(path), kind=kind, label="error", score=None, faces=[], error=message,
                        model=self.name, threshold=self.threshold,
                        seconds=round(time.perf_counter() - t0, 4) if t0 else 0.0)

    def analyze_many(self, paths, whole_image: bool = False):
        """Yield one Analysis per path, in order."""
        for p in paths:
            yield self.analyze(p, whole_image)


__all__ = ["Detector", "InputError", "WEIGHTS_DIR", "default_model_path"]
