"""Fit the face-box geometry in fakelens/faces/detect.py on shared images where both detectors find
exactly one face, and print the constants with the agreement they give:

- PREDICTOR_BOX["blazeface"]: where dlib's 68-point predictor (trained on HOG boxes) expects its box,
  relative to a BlazeFace box (median centre shift and side of the HOG box);
- FACE_EXTENT[backend]: the square the 68 landmarks span (centre, longer side) relative to each
  detector's box: what crops are centred on, so that crops need no landmarks.

    .venv/bin/python scripts/fit_face_box.py ../shared/data --images 600
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from fakelens.data import read_datasets
from fakelens.faces import FaceDetector
from fakelens.imageio import load_rgb


def relative(box, other) -> tuple[float, float, float]:
    """(dx, dy, k): `other`'s centre shift and longer side in units of `box`'s longer side."""
    side = max(box[2] - box[0], box[3] - box[1])
    return (((other[0] + other[2]) - (box[0] + box[2])) / 2 / side,
            ((other[1] + other[3]) - (box[1] + box[3])) / 2 / side,
            max(other[2] - other[0], other[3] - other[1]) / side)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="+")
    ap.add_argument("--images", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    samples = read_datasets(args.data)
    rng = np.random.default_rng(args.seed)
    blaze, hog = FaceDetector("blazeface"), FaceDetector("hog")
    anchor, extent_b, extent_h, errs = [], [], [], []
    for i in rng.choice(len(samples), min(args.images, len(samples)), replace=False):
        rgb = load_rgb(samples[i].path)
        b, h = blaze.finder.find(rgb), hog.finder.find(rgb)
        if len(b.scores) != 1 or len(h.scores) != 1:
            continue
        bb, hb = b.boxes[0], h.boxes[0]
        anchor.append(relative(bb, hb))
        lm = hog.landmarks(rgb, tuple(hb))  # the predictor on its own kind of box: the reference landmarks
        span = (*lm.min(0), *lm.max(0))
        extent_b.append(relative(bb, span))
        extent_h.append(relative(hb, span))
        mine = blaze.detect(rgb, landmarks=True)
        if len(mine) == 1:
            iod = np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0))
            errs.append(float(np.linalg.norm(mine[0].landmarks - lm, axis=1).mean() / iod))
    fit = lambda rows: [round(float(v), 3) for v in np.median(np.array(rows), axis=0)]  # noqa: E731
    print(json.dumps({"pairs": len(anchor), "PREDICTOR_BOX blazeface": fit(anchor),
                      "FACE_EXTENT blazeface": fit(extent_b), "FACE_EXTENT hog": fit(extent_h),
                      "landmark_nme_median": round(float(np.median(errs)), 4) if errs else None,
                      "landmark_nme_p90": round(float(np.percentile(errs, 90)), 4) if errs else None}))


if __name__ == "__main__":
    main()
