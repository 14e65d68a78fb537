"""Face detection (MediaPipe BlazeFace by default, dlib HOG for comparison) and dlib's 68 landmarks."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from fakelens.errors import ModelError
from fakelens.faces.blazeface import Detections, blazeface

BACKENDS = ("blazeface", "hog")


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


# dlib is imported only where used (HOG, the 68-point model): analysis with BlazeFace needs neither.
@lru_cache(maxsize=1)
def _landmark_model():
    import dlib

    return dlib.shape_predictor(str(dlib_model_path("shape_predictor_68_face_landmarks.dat")))


@lru_cache(maxsize=1)
def _hog_model():
    import dlib

    return dlib.get_frontal_face_detector()


# Face-box geometry, fitted by scripts/fit_face_box.py on 419 shared images where both detectors
# found one face, as (dx, dy, k): a square's centre shift and side in units of the detector box's
# longer side. PREDICTOR_BOX: where dlib's 68-point predictor (trained on HOG boxes) wants its box;
# with it, the 68 points agree with those fitted on the HOG box to 1.6% of the eye distance (median;
# 4.8% at p90). FACE_EXTENT: the square the 68 landmarks span, which crops are centred on; estimated
# from the box, it spares every analysis the 68-point model (1.1 s to load here) unless asked for.
PREDICTOR_BOX = {"blazeface": (-0.023, -0.035, 0.966), "hog": (0.0, 0.0, 1.0)}
FACE_EXTENT = {"blazeface": (0.0, 0.058, 0.948), "hog": (0.027, 0.096, 0.973)}


def _square(box, spec: tuple[float, float, float]) -> tuple[float, float, float, float]:
    dx, dy, k = spec
    side = max(box[2] - box[0], box[3] - box[1])
    cx, cy = (box[0] + box[2]) / 2 + dx * side, (box[1] + box[3]) / 2 + dy * side
    return cx - k * side / 2, cy - k * side / 2, cx + k * side / 2, cy + k * side / 2


@dataclass
class DetectedFace:
    """A face box [x0, y0, x1, y1] in image pixels (inside the image), the detector's confidence in
    [0, 1], `flags` (`tight_crop` when the picture is itself a face crop: the face fills it and reaches
    past its edges, so it was found only with a margin added around the picture), the square the face
    spans (`extent`, what crops are centred on) and the box dlib's landmark predictor is given
    (`anchor`; both may reach past the edges), and its 68 landmarks when they were asked for."""

    box: tuple[int, int, int, int]
    confidence: float
    flags: list[str] = field(default_factory=list)
    extent: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    anchor: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    landmarks: np.ndarray | None = None  # (68, 2) float32, image pixels

    @property
    def size(self) -> int:
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])


class BlazeFaceBackend:
    """BlazeFace short range (faces that fill much of the picture) and full range on the whole picture;
    with `tiles`, full range also on overlapping near-square tiles of a picture over 384 px (two for
    16:9, four for 4:3 or square). Full range finds faces of about 20 px in its 192 px input reliably
    (benchmarks/bench_faces.py): on the whole picture that is 10% of its long side, with the tiles
    about 6% (75 px in 1280 x 720, 40 px in 640 x 480)."""

    name = "blazeface"

    # Chosen on 400 images per shared source and 101 face-free pictures and crops (scikit-image):
    # short range fires on cats' faces up to 0.62, full range on textures up to 0.56.
    def __init__(self, min_confidence: float = 0.6, min_confidence_short: float = 0.7, tiles: bool = True):
        self.min_confidence, self.min_confidence_short = min_confidence, min_confidence_short
        self.tiles = tiles
        self.short, self.full = blazeface("short"), blazeface("full")

    def find(self, rgb: np.ndarray, whole_only: bool = False, strict: bool = False) -> Detections:
        """Boxes, keypoints and scores in `rgb`'s pixels, after NMS. `strict` holds both models to
        the short-range threshold (the search with a margin, where nothing was found first)."""
        side, short_thr = self.full.side, self.min_confidence_short
        thr = short_thr if strict else self.min_confidence
        h, w = rgb.shape[:2]
        tiled = self.tiles and not whole_only and max(h, w) > 2 * side
        # Every pass reads one copy scaled once (the tiles' input scale), not the full-size picture.
        k = min(1.0, (side / (0.6 * max(h, w)) if tiled else side / max(h, w)))
        base = rgb if k == 1.0 else cv2.resize(rgb, (max(1, round(w * k)), max(1, round(h * k))),
                                               interpolation=cv2.INTER_AREA)
        parts = [self.short.detect(base, short_thr), self.full.detect(base, thr)]
        if tiled:
            bh, bw = base.shape[:2]
            t = min(min(bh, bw), int(0.6 * max(bh, bw)))
            for y in _starts(bh, t):
                for x in _starts(bw, t):
                    parts.append(self.full.detect(base[y:y + t, x:x + t], thr).shifted(x, y))
        d = Detections.concat(parts).weighted_nms()
        return Detections(d.boxes / k, d.keypoints / k, d.scores) if k != 1.0 else d


def _starts(length: int, tile: int) -> list[int]:
    """Tile offsets covering `length` with tiles of `tile` overlapping by at least a fifth."""
    if length <= tile:
        return [0]
    n = int(np.ceil((length - tile) / (0.8 * tile))) + 1
    return [round(v) for v in np.linspace(0, length - tile, n)]


class HogBackend:
    """dlib's HOG detector on a copy scaled to at most `detect_side` pixels (upsampled once when
    small, so faces down to about 40 px are found); scores mapped to [0, 1] by sigmoid(2 x margin)."""

    name = "hog"

    def __init__(self, min_confidence: float = 0.3, detect_side: int = 1024):
        self.min_confidence = min_confidence  # a HOG margin, not a probability
        self.detect_side = detect_side
        self.hog = _hog_model()

    def find(self, rgb: np.ndarray, whole_only: bool = False, strict: bool = False) -> Detections:
        h, w = rgb.shape[:2]
        side = self.detect_side if not whole_only else 320
        scale = min(1.0, side / max(h, w))
        small = rgb if scale == 1.0 else cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        upsample = 1 if max(small.shape[:2]) <= 512 and not whole_only else 0
        rects, scores, _ = self.hog.run(np.ascontiguousarray(small), upsample, self.min_confidence)
        if not rects:
            return Detections.empty()
        boxes = np.array([[r.left(), r.top(), r.right() + 1, r.bottom() + 1] for r in rects], np.float32) / scale
        return Detections(boxes, np.zeros((len(boxes), 6, 2), np.float32),
                          1.0 / (1.0 + np.exp(-2.0 * np.array(scores, np.float32))))


class FaceDetector:
    """Find faces (and, when asked, their 68 landmarks): `FaceDetector().detect(rgb) -> list[DetectedFace]`.

    `backend` is 'blazeface' (default; a CNN, about 0.3x HOG's cost on a 720p frame (faces.json), finds tight
    crops, small, tilted and turned faces) or 'hog' (dlib, the seed papers' detector, for comparison).
    A picture in which nothing is found is searched once more with a margin added around it: a
    picture that is itself a tight face crop (chin or forehead cut off) is then found and flagged.
    Very dark pictures are contrast-stretched for the search only.
    """

    def __init__(self, backend: str = "blazeface", min_confidence: float | None = None, detect_side: int = 1024,
                 tiles: bool = True):
        if backend not in BACKENDS:
            raise ValueError(f"face detector must be one of {', '.join(BACKENDS)}, not {backend!r}")
        self.backend = backend
        kwargs = {} if min_confidence is None else {"min_confidence": min_confidence}
        self.finder = (BlazeFaceBackend(tiles=tiles, **kwargs) if backend == "blazeface"
                       else HogBackend(detect_side=detect_side, **kwargs))

    @classmethod
    def for_video(cls, backend: str = "blazeface") -> "FaceDetector":
        """The detector video frames use: BlazeFace without tiles (faces from about 10% of the frame's
        long side: 130 px at 1280), or HOG on at most 960 px."""
        return cls(backend, tiles=False, detect_side=960)

    def detections(self, rgb: np.ndarray) -> list[tuple[tuple[float, float, float, float], float]]:
        """(box, confidence in [0, 1]) per face, without landmarks or the tight-crop search: the
        detector as D-RISE probes it."""
        d = self.finder.find(np.ascontiguousarray(rgb))
        return [(tuple(map(float, b)), float(s)) for b, s in zip(d.boxes, d.scores)]

    def detect(self, rgb: np.ndarray, region: tuple[int, int, int, int] | None = None,
               landmarks: bool = False) -> list[DetectedFace]:
        """Faces in the image, largest first, with their 68 landmarks if `landmarks`. With `region`
        ([x0, y0, x1, y1], e.g. around a face tracked in the previous video frame) only that part is
        searched: a few ms."""
        if rgb.ndim == 2:
            rgb = np.repeat(rgb[..., None], 3, axis=2)
        rgb = np.ascontiguousarray(rgb[..., :3])
        h, w = rgb.shape[:2]
        view, ox, oy = rgb, 0, 0
        if region is not None:
            ox, oy = max(0, int(region[0])), max(0, int(region[1]))
            view = rgb[oy:min(h, int(region[3])), ox:min(w, int(region[2]))]
            if view.shape[0] < 8 or view.shape[1] < 8:
                return []
        search = _brighten(view)
        found = self.finder.find(search, whole_only=region is not None).shifted(ox, oy)
        flags: list[str] = []
        if not len(found.scores) and region is None:
            found, flags = self._tight_crop(search), ["tight_crop"]
        faces = []
        for box, score in zip(found.boxes, found.scores):
            x0, y0 = max(0, round(box[0])), max(0, round(box[1]))
            x1, y1 = min(w, round(box[2])), min(h, round(box[3]))
            if x1 - x0 < 4 or y1 - y0 < 4:
                continue
            face = DetectedFace((x0, y0, x1, y1), float(score), list(flags), _square(box, FACE_EXTENT[self.backend]),
                                _square(box, PREDICTOR_BOX[self.backend]))
            if landmarks:
                face.landmarks = predict_landmarks(rgb, face.anchor)
            faces.append(face)
        faces.sort(key=lambda f: -f.size)
        return faces

    def _tight_crop(self, rgb: np.ndarray) -> Detections:
        """Search the picture inside a grey margin of half its size: a face that fills a tight crop
        then looks like a face in a photo. Only a face covering most of the picture counts."""
        h, w = rgb.shape[:2]
        px, py = w // 2, h // 2
        padded = cv2.copyMakeBorder(rgb, py, py, px, px, cv2.BORDER_CONSTANT, value=(128, 128, 128))
        d = self.finder.find(padded, whole_only=True, strict=True).shifted(-px, -py)
        side = np.minimum(d.boxes[:, 2] - d.boxes[:, 0], d.boxes[:, 3] - d.boxes[:, 1])
        keep = side >= 0.5 * min(h, w)
        return Detections(d.boxes[keep], d.keypoints[keep], d.scores[keep])

    def landmarks(self, rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        """dlib's 68 points for the face in a predictor box (image pixels)."""
        return predict_landmarks(rgb, box)


def predict_landmarks(rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """dlib's 68 points (x, y) for the face whose predictor box is `box` (it may reach past the edges)."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    pad = max(0, -x0, -y0, x1 - w, y1 - h)
    if pad:  # past the edge (a tight crop): the predictor reads a replicated border instead of black
        rgb = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    import dlib

    shape = _landmark_model()(np.ascontiguousarray(rgb), dlib.rectangle(x0 + pad, y0 + pad, x1 + pad, y1 + pad))
    return np.array([[p.x - pad, p.y - pad] for p in shape.parts()], dtype=np.float32)


def _brighten(rgb: np.ndarray) -> np.ndarray:
    """A very dark picture (99th percentile under 64 of 255) stretched to full range, for detection
    only (the classifier sees the original pixels)."""
    counts = np.bincount(rgb[::4, ::4].ravel(), minlength=256)  # a histogram: 10x cheaper than np.percentile
    top = float(np.searchsorted(np.cumsum(counts), 0.99 * counts.sum()))
    if top >= 64:
        return rgb
    return np.clip(rgb.astype(np.float32) * (255.0 / max(top, 8.0)), 0, 255).astype(np.uint8)
