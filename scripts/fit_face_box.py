"""Fit where dlib's 68-point predictor wants its box relative to a BlazeFace box (BLAZE_TO_HOG in
fakelens/faces/detect.py): median centre shift and side ratio of the HOG box, on shared images in
which both detectors find exactly one face. Prints the three numbers and the landmark agreement.

    .venv/bin/python scripts/fit_face_box.py ../shared/data --images 600
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from fakelens.data import read_datasets
from fakelens.faces import FaceDetector
from fakelens.imageio import load_rgb


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="+")
    ap.add_argument("--images", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    samples = read_datasets(args.data)
    rng = np.random.default_rng(args.seed)
    blaze, hog = FaceDetector("blazeface"), FaceDetector("hog")
    rows = []
    for i in rng.choice(len(samples), min(args.images, len(samples)), replace=False):
        rgb = load_rgb(samples[i].path)
        b, h = blaze.finder.find(rgb), hog.finder.find(rgb)
        if len(b.scores) != 1 or len(h.scores) != 1:
            continue
        (bx0, by0, bx1, by1), (hx0, hy0, hx1, hy1) = b.boxes[0], h.boxes[0]
        side = max(bx1 - bx0, by1 - by0)
        rows.append((((hx0 + hx1) - (bx0 + bx1)) / 2 / side, ((hy0 + hy1) - (by0 + by1)) / 2 / side,
                     max(hx1 - hx0, hy1 - hy0) / side, i))
    fit = np.median(np.array([r[:3] for r in rows]), axis=0)
    # Agreement of the 68 points: predictor on the mapped BlazeFace box vs on the HOG box, in units
    # of the inter-ocular distance (the usual normalised mean error).
    errs = []
    for *_, i in rows[:200]:
        rgb = load_rgb(samples[i].path)
        a, h = blaze.detect(rgb), hog.detect(rgb)
        if len(a) == 1 and len(h) == 1:
            iod = np.linalg.norm(h[0].landmarks[36:42].mean(0) - h[0].landmarks[42:48].mean(0))
            errs.append(float(np.linalg.norm(a[0].landmarks - h[0].landmarks, axis=1).mean() / iod))
    print(json.dumps({"pairs": len(rows), "dx": round(float(fit[0]), 3), "dy": round(float(fit[1]), 3),
                      "side": round(float(fit[2]), 3), "landmark_nme_median": round(float(np.median(errs)), 4),
                      "landmark_nme_p90": round(float(np.percentile(errs, 90)), 4)}))


if __name__ == "__main__":
    main()
