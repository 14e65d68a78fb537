"""Sample clips made from packaged images, for the demo and tests (no data needed).

The astronaut's face (scikit-image) drifts over a background; its fake twin carries one
self-blend (fakelens' own SBI) over the whole clip, as a face swap would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_clip(path: str | Path, frames: list[np.ndarray], fps: int = 15, codec: str = "libx264",
               rotation: int = 0) -> Path:
    """Encode RGB frames (H and W even) to a video file with PyAV; `rotation` (degrees,
    counter-clockwise) goes into the container's display matrix, as phones write it."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"} if codec == "libx264" else {}
        if rotation:
            stream.set_display_rotation(rotation)
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def face_clips(folder: str | Path, seconds: float = 3.0, fps: int = 15, size: tuple[int, int] = (640, 360),
               seed: int = 0) -> tuple[Path, Path]:
    """Write `astronaut-clip.mp4` (real) and `astronaut-clip-selfblended.mp4` (fake); return their paths."""
    import cv2
    from skimage import data

    from fakelens.data.sbi import self_blend
    from fakelens.faces import FaceDetector, square_around

    photo = data.astronaut()
    face = FaceDetector().detect(photo, landmarks=True)[0]
    x0, y0, x1, y1 = square_around(face.landmarks, 2.0, photo.shape[1], photo.shape[0])
    patch = photo[y0:y1, x0:x1]
    fake_patch = self_blend(patch, face.landmarks - [x0, y0], np.random.default_rng(seed))
    w, h = size
    side = int(h * 0.8)
    patch, fake_patch = (cv2.resize(p, (side, side), interpolation=cv2.INTER_AREA) for p in (patch, fake_patch))
    background = cv2.resize(data.coffee(), (w, h), interpolation=cv2.INTER_AREA)
    background = cv2.GaussianBlur(background, (0, 0), 3)
    n = int(seconds * fps)
    real_frames, fake_frames = [], []
    for t in range(n):
        # The face drifts left to right and bobs a little, as a speaker would.
        x = int((w - side) * (0.15 + 0.7 * t / max(1, n - 1)))
        y = int((h - side) / 2 + 6 * np.sin(t / 3))
        for src, frames in ((patch, real_frames), (fake_patch, fake_frames)):
            frame = background.copy()
            frame[y:y + side, x:x + side] = src
            frames.append(frame)
    folder = Path(folder)
    return (write_clip(folder / "astronaut-clip.mp4", real_frames, fps),
            write_clip(folder / "astronaut-clip-selfblended.mp4", fake_frames, fps))
