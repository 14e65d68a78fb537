"""Video clips as still-image training data: the main face of sampled frames, grouped as its clip.

Each clip's frames are sampled as `fakelens analyze` samples them, faces are found and tracked by the
video pipeline, and the region around the longest track's face (2.5 x its landmark box, lossless
PNG) is kept in the cache. The regions then go through the image pipeline like any picture
(detection, crop, augmentation), so the image model learns FF++'s four methods and c23/c40
compression from the clips without a second crop convention.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from fakelens.data.datasets import Sample
from fakelens.errors import InputError

FRAMES_VERSION = 2  # 2: regions around the face extent


def clip_frame_samples(clips: list[Sample], per_clip: int = 24, cache_dir: Path | None = None,
                       face_detector: str = "blazeface", progress: bool = True) -> list[Sample]:
    """Image samples from `per_clip` frames of every clip (label, group, manipulation and family of the
    clip; source `<clip source>-frames`). Clips without a face track add nothing."""
    from fakelens.data.cache import cache_root
    from fakelens.faces import FaceDetector, square_around
    from fakelens.video.decode import read_video
    from fakelens.video.track import detect_frames, link_tracks

    faces = None
    out: list[Sample] = []
    for clip in tqdm(clips, desc="clip frames", disable=not progress, leave=False):
        key = hashlib.sha256(json.dumps([FRAMES_VERSION, str(Path(clip.path).resolve()), per_clip,
                                         face_detector]).encode()).hexdigest()[:16]
        folder = Path(cache_dir or cache_root()) / "frames" / key
        index = folder / "frames.json"
        if not index.exists():
            faces = faces or FaceDetector.for_video(face_detector)
            names = []
            try:
                frames, _ = read_video(clip.path, per_clip)
            except InputError:
                frames = []
            detections = detect_frames(faces, frames) if frames else []
            tracks = link_tracks([[d.box for d in ds] for ds in detections])
            folder.mkdir(parents=True, exist_ok=True)
            for t, j in (tracks[0].members if tracks else []):
                rgb, extent = frames[t].rgb, detections[t][j].extent
                x0, y0, x1, y1 = square_around(np.reshape(extent, (2, 2)), 2.5, rgb.shape[1], rgb.shape[0])
                name = f"{Path(clip.path).stem}-{frames[t].index:06d}.png"
                Image.fromarray(rgb[y0:y1, x0:x1]).save(folder / name, compress_level=1)
                names.append(name)
            index.write_text(json.dumps(names))
        for name in json.loads(index.read_text()):
            out.append(replace(clip, path=str(folder / name), source=f"{clip.source}-frames",
                               origin=f"{clip.path}#frame={int(Path(name).stem.rsplit('-', 1)[1])}"))
    return out
