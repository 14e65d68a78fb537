"""`make demo`: make sample inputs from images that installed packages ship, analyze them, print verdicts.

Inputs: scikit-image's astronaut photo (a real face), a self-blended fake made from it by
fakelens' own SBI code, scikit-image's cat (no face), and two 3 s clips of the astronaut's
face drifting over a background, one of them self-blended. Nothing is downloaded.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def make_samples(folder: Path, seed: int = 0) -> list[Path]:
    """Write the demo images into `folder` and return their paths."""
    from skimage import data

    from fakelens.data.sbi import self_blend
    from fakelens.faces import FaceDetector, square_around

    folder.mkdir(parents=True, exist_ok=True)
    real = data.astronaut()
    face = FaceDetector().detect(real, landmarks=True)[0]
    # Blend inside a square around the face, so the mask's blur scales with the face, not the photo.
    x0, y0, x1, y1 = square_around(face.landmarks, 2.0, real.shape[1], real.shape[0])
    fake = real.copy()
    fake[y0:y1, x0:x1] = self_blend(real[y0:y1, x0:x1], face.landmarks - [x0, y0], np.random.default_rng(seed))
    paths = [folder / "astronaut.png", folder / "astronaut-selfblended.png", folder / "cat.png"]
    for p, img in zip(paths, (real, fake, data.chelsea())):
        Image.fromarray(img).save(p)
    return paths


def main(out: str = "demo-out") -> int:
    from fakelens.explain.run import default_methods
    from fakelens.pipeline import Analyzer
    from fakelens.video.synth import face_clips

    folder = Path(out)
    paths = make_samples(folder)
    clips = face_clips(folder)
    analyzer = Analyzer()
    analyses = list(analyzer.analyze_many([str(p) for p in paths + list(clips)]))
    results = [a.record for a in analyses]
    (folder / "analysis.jsonl").write_text("".join(json.dumps(r.to_dict()) + "\n" for r in results))
    det, videos = analyzer.images, analyzer.videos
    print(f"models: {det.name} (threshold {det.threshold:.3f}), {videos.name} (threshold {videos.threshold:.3f})")
    for r in results:
        score = "-" if r.score is None else f"{r.score:.3f}"
        extra = f"  {r.manipulation}" if r.manipulation else ""
        if r.kind == "video" and r.tracks:
            extra += (f"  frames {len(r.frames)}, windows {len(r.windows)}, "
                      f"frame-model mean {r.tracks[0].frame_mean:.3f}")
        print(f"  {r.path:40s} {r.kind:6s} {r.label:8s} score {score:>6s}  faces {len(r.faces)}{extra}")
    methods = default_methods()  # Grad-CAM needs torch (fakelens[torch], which `make` installs)
    records = [rec for a in analyses[:2] for rec in analyzer.explain(a, methods, folder / "explanations", attach=False)]
    faces = {(r.path, tuple(r.face)) for r in records if r.face}
    print(f"explanations ({', '.join(methods)}) of {len(faces)} faces in {(folder / 'explanations').resolve()}")
    print(f"inputs and analysis.jsonl written to {folder.resolve()}")
    return 1 if any(r.label == "error" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
