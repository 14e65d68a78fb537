"""Link per-frame face detections into tracks by box overlap (greedy IoU matching)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fakelens.ops import box_iou


@dataclass
class Track:
    """One face followed through the sampled frames: `members` are (frame position, detection index)."""

    id: int
    members: list[tuple[int, int]] = field(default_factory=list)
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)

    @property
    def last_frame(self) -> int:
        return self.members[-1][0]


def link_tracks(boxes_per_frame: list[list[tuple[int, int, int, int]]], min_iou: float = 0.2,
                max_gap: int = 3) -> list[Track]:
    """Greedy tracking: each detection joins the live track whose last box overlaps it most.

    Sampled frames can be half a second apart, so the IoU bar is low; a track survives up to
    `max_gap` sampled frames without a detection (a turned head, a missed detection).
    Tracks come back longest first.
    """
    tracks: list[Track] = []
    for t, boxes in enumerate(boxes_per_frame):
        live = [tr for tr in tracks if t - tr.last_frame <= max_gap]
        pairs = sorted(((box_iou(tr.boxes[-1], b), i, j) for i, tr in enumerate(live) for j, b in enumerate(boxes)),
                       reverse=True)
        used_tracks, used_boxes = set(), set()
        for iou, i, j in pairs:
            if iou < min_iou or i in used_tracks or j in used_boxes:
                continue
            used_tracks.add(i)
            used_boxes.add(j)
            live[i].members.append((t, j))
            live[i].boxes.append(tuple(boxes[j]))
        for j, b in enumerate(boxes):
            if j not in used_boxes:
                tracks.append(Track(len(tracks), [(t, j)], [tuple(b)]))
    tracks.sort(key=lambda tr: (-len(tr.members), tr.id))
    for k, tr in enumerate(tracks):
        tr.id = k
    return tracks


def window_starts(n: int, window: int, stride: int) -> np.ndarray:
    """Start positions of the sliding windows over n frames (the last window ends at the last frame)."""
    if n <= window:
        return np.zeros(1, np.int64)
    starts = np.arange(0, n - window + 1, stride)
    if starts[-1] != n - window:
        starts = np.append(starts, n - window)
    return starts


def detect_frames(faces, frames: list, keyframe_every: int = 4, margin: float = 0.75) -> list[list]:
    """Faces in every sampled frame, searched cheaply: the whole frame on every `keyframe_every`-th
    frame (and whenever no face is being followed), otherwise only around the faces found in the
    previous frame (box grown by `margin` x its size on each side). Returns DetectedFace lists."""
    out: list[list] = []
    for t, frame in enumerate(frames):
        previous = out[-1] if out else []
        found: list = []
        if t % keyframe_every and previous:
            h, w = frame.rgb.shape[:2]
            for face in previous:
                x0, y0, x1, y1 = face.box
                m = margin * max(x1 - x0, y1 - y0)
                region = (max(0, x0 - m), max(0, y0 - m), min(w, x1 + m), min(h, y1 + m))
                for f in faces.detect(frame.rgb, region=region):
                    if all(box_iou(f.box, g.box) < 0.5 for g in found):
                        found.append(f)
        if not found:
            found = faces.detect(frame.rgb)
        out.append(sorted(found, key=lambda f: -f.size))
    return out
