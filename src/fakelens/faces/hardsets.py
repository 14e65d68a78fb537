"""Labelled hard cases for a face detector, built from pictures that each hold one face.

Every case knows where its faces are: a face's reference box is its 68-landmark box on the
original picture (one face per picture, found at full size), carried through the same geometric
change the case applies (scaling, pasting, rotation, cutting). A detection finds a reference face
when its centre lies within half the reference size of the reference centre and its size is within
0.4x-2.5x; any other detection is a false face. Used by `benchmarks/bench_faces.py` and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np


@dataclass
class Case:
    """One picture of a hard set: its pixels, the reference boxes [x0, y0, x1, y1] of its faces,
    and labels (e.g. the face's demographic group) to break recall down by."""

    kind: str
    rgb: np.ndarray
    boxes: list[tuple[float, float, float, float]]
    groups: list[str] = field(default_factory=list)


def match(ref: list, found: list) -> tuple[int, int]:
    """(reference faces found, false faces) for boxes `found` against reference boxes `ref`."""
    used, hits = set(), 0
    for r in ref:
        rc, rs = np.array([(r[0] + r[2]) / 2, (r[1] + r[3]) / 2]), max(r[2] - r[0], r[3] - r[1])
        for j, f in enumerate(found):
            if j in used:
                continue
            fc, fs = np.array([(f[0] + f[2]) / 2, (f[1] + f[3]) / 2]), max(f[2] - f[0], f[3] - f[1])
            if np.linalg.norm(fc - rc) <= 0.5 * rs and 0.4 <= fs / max(rs, 1e-6) <= 2.5:
                used.add(j)
                hits += 1
                break
    return hits, len(found) - len(used)


def landmark_box(landmarks: np.ndarray) -> tuple[float, float, float, float]:
    (x0, y0), (x1, y1) = landmarks.min(0), landmarks.max(0)
    return float(x0), float(y0), float(x1), float(y1)


def with_context(rgb: np.ndarray, box: tuple, margin: float = 0.15) -> bool:
    """True when the whole face lies inside the picture with `margin` x its size to spare on every
    side: such a picture can be pasted, scaled or turned and still look like a photo of a face
    (a tight crop pasted on a wall cannot)."""
    h, w = rgb.shape[:2]
    m = margin * max(box[2] - box[0], box[3] - box[1])
    return box[0] >= m and box[1] >= m and box[2] <= w - m and box[3] <= h - m


def _scaled(rgb: np.ndarray, k: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    return cv2.resize(rgb, (max(1, round(w * k)), max(1, round(h * k))),
                      interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)


def _background(backgrounds: list[np.ndarray], size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    bg = backgrounds[rng.integers(len(backgrounds))]
    return np.ascontiguousarray(cv2.resize(bg, size, interpolation=cv2.INTER_LINEAR))


def _with_margin(rgb: np.ndarray, box: tuple, margin: float = 0.6) -> tuple[np.ndarray, tuple]:
    """The part of the picture around the face (its box grown by `margin` x its size per side)."""
    h, w = rgb.shape[:2]
    m = margin * max(box[2] - box[0], box[3] - box[1])
    x0, y0 = max(0, int(box[0] - m)), max(0, int(box[1] - m))
    x1, y1 = min(w, int(box[2] + m)), min(h, int(box[3] + m))
    return rgb[y0:y1, x0:x1], (box[0] - x0, box[1] - y0, box[2] - x0, box[3] - y0)


def composite(faces: list[tuple[np.ndarray, tuple]], backgrounds: list[np.ndarray], rng: np.random.Generator,
              size: tuple[int, int] = (1280, 720), n: int | None = None, face_px: tuple[int, int] = (60, 160),
              kind: str = "composite") -> Case:
    """n faces (2-6 by default), each with the part of its picture around it, pasted without overlap
    on a face-free background and scaled so that the face is face_px pixels wide."""
    n = n or int(rng.integers(2, 7))
    canvas = _background(backgrounds, size, rng)
    taken: list[tuple[int, int, int, int]] = []
    boxes, groups = [], []
    for _ in range(200):
        if len(boxes) == n:
            break
        i = int(rng.integers(len(faces)))
        rgb, ref = _with_margin(faces[i][0], faces[i][1])
        k = rng.uniform(*face_px) / max(ref[2] - ref[0], 1)
        tile = _scaled(rgb, k)
        th, tw = tile.shape[:2]
        if th >= size[1] or tw >= size[0]:
            continue
        x, y = int(rng.integers(0, size[0] - tw)), int(rng.integers(0, size[1] - th))
        if any(x < b[2] and b[0] < x + tw and y < b[3] and b[1] < y + th for b in taken):
            continue
        canvas[y:y + th, x:x + tw] = tile
        taken.append((x, y, x + tw, y + th))
        boxes.append(tuple(v * k + o for v, o in zip(ref, (x, y, x, y))))
        groups.append(faces[i][2] if len(faces[i]) > 2 else "")
    return Case(kind, canvas, boxes, groups)


def small(face: tuple, backgrounds: list[np.ndarray], rng: np.random.Generator,
          size: tuple[int, int] = (640, 480)) -> Case:
    """One face scaled to 24-40 px wide, on a 640 x 480 face-free background."""
    return composite([face], backgrounds, rng, size, n=1, face_px=(24, 40), kind="small")


def rotated(face: tuple, rng: np.random.Generator, degrees: float | None = None) -> Case:
    """The picture turned by +-(20-30) degrees on a canvas that keeps all of it (corners filled with its
    mean colour: a reflected border would add mirrored copies of the face)."""
    rgb, ref = face[0], face[1]
    angle = degrees if degrees is not None else float(rng.choice([-1, 1]) * rng.uniform(20, 30))
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    fill = tuple(float(v) for v in rgb.reshape(-1, 3).mean(0))
    out = cv2.warpAffine(rgb, m, (nw, nh), borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
    corners = np.array([[ref[0], ref[1]], [ref[2], ref[1]], [ref[0], ref[3]], [ref[2], ref[3]]], np.float32)
    turned = corners @ m[:, :2].T + m[:, 2]
    # The upright face's box: same centre, same side (a rotated square's bounding box would be too big).
    c, s = turned.mean(0), max(ref[2] - ref[0], ref[3] - ref[1])
    return Case("rotated", out, [(c[0] - s / 2, c[1] - s / 2, c[0] + s / 2, c[1] + s / 2)],
                [face[2] if len(face) > 2 else ""])


def side_cropped(face: tuple, rng: np.random.Generator) -> Case:
    """The picture cut through the face, keeping 60-70% of its width on one side (a stand-in for a
    profile or a face at the frame's edge). The reference is the part of the face left."""
    rgb, ref = face[0], face[1]
    keep = rng.uniform(0.6, 0.7)
    cut = ref[0] + (1 - keep) * (ref[2] - ref[0]) if rng.random() < 0.5 else None
    if cut is not None:  # cut the left part of the face away
        x = int(cut)
        out, box = rgb[:, x:], (0.0, ref[1], ref[2] - x, ref[3])
    else:
        x = int(ref[0] + keep * (ref[2] - ref[0]))
        out, box = rgb[:, :x], (ref[0], ref[1], float(x), ref[3])
    return Case("side_cropped", np.ascontiguousarray(out), [box], [face[2] if len(face) > 2 else ""])


def face_free_pictures() -> dict[str, np.ndarray]:
    """scikit-image's bundled pictures that show no human face (RGB uint8): astronaut, camera and
    the LFW subset are left out, and so are the pictures it would have to download."""
    from skimage import data

    out = {}
    for name in ("binary_blobs", "brick", "cat", "cell", "checkerboard", "chelsea", "clock", "coffee", "coins",
                 "colorwheel", "grass", "gravel", "horse", "hubble_deep_field", "immunohistochemistry", "logo",
                 "microaneurysms", "moon", "page", "retina", "rocket", "shepp_logan_phantom", "stereo_motorcycle",
                 "text"):
        try:
            img = getattr(data, name)()
        except Exception:  # noqa: BLE001 - a picture this scikit-image would download: skipped
            continue
        if isinstance(img, tuple):  # stereo_motorcycle: (left, right, disparity)
            img = img[0]
        img = np.asarray(img).astype(np.float32)
        img = (255 * (img - img.min()) / (np.ptp(img) or 1.0)).astype(np.uint8)
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        out[name] = np.ascontiguousarray(img[..., :3])
    return out


def textures() -> list[np.ndarray]:
    """Face-free backgrounds for composites."""
    pics = face_free_pictures()
    return [pics[k] for k in ("brick", "grass", "gravel", "coffee", "rocket", "hubble_deep_field") if k in pics]
