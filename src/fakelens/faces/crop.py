"""Square face crops, shared by training and inference so the model always sees one framing.

As in seed 002: a square centred on the face's landmarks, `scale` times the face's size
(1.3 by default, 2.0 keeps more background), resized to the model's input size.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class FaceCrop:
    """A model-ready crop: `image` (size x size x 3 uint8), the square it was cut from in source
    pixels, the landmarks mapped into crop pixels (None if not computed), and the landmark
    predictor's box in crop pixels (None for a whole-image crop): `crop_landmarks` fills them in later."""

    image: np.ndarray
    square: tuple[int, int, int, int]
    landmarks: np.ndarray | None
    anchor: tuple[float, float, float, float] | None = None


def square_around(landmarks: np.ndarray, scale: float, width: int, height: int) -> tuple[int, int, int, int]:
    """The crop square for a face: centred on the landmarks' box, side = scale x its longer edge.

    A square that would leave the image is shifted back inside, and shrunk to the
    image's short side if it cannot fit: the model never sees padding that real
    photos of the same face would not have.
    """
    (lx0, ly0), (lx1, ly1) = landmarks.min(0), landmarks.max(0)
    cx, cy = (lx0 + lx1) / 2, (ly0 + ly1) / 2
    side = min(scale * max(lx1 - lx0, ly1 - ly0, 1.0), width, height)
    x0 = float(np.clip(cx - side / 2, 0, width - side))
    y0 = float(np.clip(cy - side / 2, 0, height - side))
    s = round(side)
    x0, y0 = min(round(x0), width - s), min(round(y0), height - s)
    return x0, y0, x0 + s, y0 + s


def crop_face(rgb: np.ndarray, landmarks: np.ndarray, size: int, scale: float = 1.3) -> FaceCrop:
    """Cut the square around a face (see `square_around`) and resize it to size x size."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = square_around(landmarks, scale, w, h)
    patch = rgb[y0:y1, x0:x1]
    factor = size / (x1 - x0)
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    image = cv2.resize(patch, (size, size), interpolation=interp)
    lm = (landmarks - np.array([x0, y0], dtype=np.float32)) * factor
    return FaceCrop(np.ascontiguousarray(image), (x0, y0, x1, y1), lm.astype(np.float32))


def crop_faces(rgb: np.ndarray, faces: list, size: int, scale: float = 1.3) -> list[FaceCrop]:
    """The model-ready crop of each detected face (fakelens.faces.DetectedFace), in the given order:
    the one way faces are cut, for analysis, evaluation and training alike. The square is centred on
    the face's extent (not on landmarks, so a crop is the same whether or not they were computed)."""
    out = []
    for f in faces:
        c = crop_face(rgb, np.asarray(f.extent, np.float32).reshape(2, 2), size, scale)
        k = size / (c.square[2] - c.square[0])
        c.anchor = tuple((v - o) * k for v, o in zip(f.anchor, c.square[:2] * 2))
        c.landmarks = None if f.landmarks is None else \
            ((f.landmarks - np.array(c.square[:2], np.float32)) * k).astype(np.float32)
        out.append(c)
    return out


def crop_landmarks(crop: FaceCrop) -> np.ndarray | None:
    """The 68 landmarks of a crop's face in crop pixels (computed once, by dlib's predictor on the crop)."""
    if crop.landmarks is None and crop.anchor is not None:
        from fakelens.faces.detect import predict_landmarks

        crop.landmarks = predict_landmarks(crop.image, crop.anchor)
    return crop.landmarks


def crop_whole_image(rgb: np.ndarray, size: int) -> FaceCrop:
    """Treat the whole image as the face crop (inputs that are already crops)."""
    h, w = rgb.shape[:2]
    interp = cv2.INTER_AREA if size < min(h, w) else cv2.INTER_LINEAR
    image = cv2.resize(rgb, (size, size), interpolation=interp)
    return FaceCrop(np.ascontiguousarray(image), (0, 0, w, h), None)
