"""Face detectors side by side on labelled hard cases: recall, false faces and milliseconds per picture.

Cases (fakelens.faces.hardsets): every shared image (each holds one face; tight crops included),
composites of 2-6 faces at known boxes on 1280x720 face-free backgrounds, faces scaled to 24-40 px,
faces turned by 20-30 degrees, faces cut on one side, and scikit-image's face-free pictures. Recall
per FairFace group (faces-simswap's `origin`) too. Writes benchmarks/results/faces.json.

    .venv/bin/python benchmarks/bench_faces.py ../shared/data            # every shared image
    .venv/bin/python benchmarks/bench_faces.py ../shared/data --per-source 200
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path

import cv2
import dlib
import numpy as np

from fakelens.faces import FaceDetector
from fakelens.faces import hardsets as hs
from fakelens.imageio import load_rgb

OUT = Path(__file__).resolve().parent / "results" / "faces.json"
DETECTORS = ("blazeface", "hog")


def shared_images(root: Path, per_source: int, rng) -> list[tuple[str, str, str]]:
    """(path, source, group label) of the shared face images; group = FairFace origin where known."""
    rows = []
    for labels in sorted(root.glob("faces-*/labels.csv")):
        with open(labels, newline="") as f:
            src = [(str(labels.parent / r["path"]), labels.parent.name,
                    r["origin"].split(" (")[0] if labels.parent.name == "faces-simswap" else "") for r in csv.DictReader(f)]
        if per_source and len(src) > per_source:
            src = [src[i] for i in sorted(rng.choice(len(src), per_source, replace=False))]
        rows += src
    return rows


def timed(det: FaceDetector, rgb: np.ndarray) -> tuple[list, float]:
    t = time.perf_counter()
    faces = det.detect(rgb)
    return faces, (time.perf_counter() - t) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, nargs="?", default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--per-source", type=int, default=0, help="images per source (0: all)")
    ap.add_argument("--cases", type=int, default=200, help="pictures per hard case")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    dets = {name: FaceDetector(name) for name in DETECTORS}
    result: dict = {"detectors": {}, "cases": {}, "per_source": {}, "per_group": {}}

    # 1. Every shared image holds one face. Missing references for the hard cases come from here too.
    refs = []  # (rgb, landmark box, group) of faces BlazeFace found alone at full size
    per_source = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))  # det -> source -> [n, found, several]
    per_group = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    ms = defaultdict(list)
    images = shared_images(args.data, args.per_source, rng) if args.data.exists() else []
    for path, source, group in images:
        rgb = load_rgb(path)
        for name, det in dets.items():
            faces, t = timed(det, rgb)
            if name == "blazeface" and len(faces) == 1:
                faces = det.detect(rgb, landmarks=True)  # the reference box of the hard cases: its landmarks
            ms[name].append(t)
            c = per_source[name][source]
            c[0] += 1
            c[1] += bool(faces)
            c[2] += len(faces) > 1
            if group:
                per_group[name][group][0] += 1
                per_group[name][group][1] += bool(faces)
            if name == "blazeface" and len(faces) == 1 and source != "faces-lfw":
                box = hs.landmark_box(faces[0].landmarks)
                if hs.with_context(rgb, box):  # LFW pictures may show other people behind
                    refs.append((rgb, box, group))
    for name in DETECTORS:
        rows = per_source[name]
        n, found = sum(v[0] for v in rows.values()), sum(v[1] for v in rows.values())
        result["per_source"][name] = {s: {"images": v[0], "found": v[1], "recall": round(v[1] / v[0], 4),
                                          "several": v[2]} for s, v in sorted(rows.items())}
        if n:
            result["cases"].setdefault("shared images (one face each)", {})[name] = {
                "faces": n, "found": found, "recall": round(found / n, 4),
                "ms_median": round(statistics.median(ms[name]), 1)}
        result["per_group"][name] = {g: {"faces": v[0], "found": v[1], "recall": round(v[1] / v[0], 4)}
                                     for g, v in sorted(per_group[name].items())}
    if not refs:  # no shared data: the astronaut alone
        from skimage import data

        img = data.astronaut()
        refs = [(img, hs.landmark_box(dets["blazeface"].detect(img, landmarks=True)[0].landmarks), "")]

    # 2. Hard cases with known boxes.
    backgrounds = hs.textures()
    pick = lambda: refs[int(rng.integers(len(refs)))]  # noqa: E731
    builders = {
        "composites, 2-6 faces of 60-160 px, 1280x720": lambda: hs.composite(refs, backgrounds, rng),
        "faces scaled to 24-40 px, 640x480": lambda: hs.small(pick(), backgrounds, rng),
        "faces turned 20-30 degrees": lambda: hs.rotated(pick(), rng),
        "faces cut on one side (60-70% kept)": lambda: hs.side_cropped(pick(), rng),
    }
    group_cases = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    frame_ms = defaultdict(list)
    for case_name, build in builders.items():
        cases = [build() for _ in range(args.cases)]
        for name, det in dets.items():
            n = found = false = 0
            times = []
            for case in cases:
                faces, t = timed(det, case.rgb)
                times.append(t)
                hits, extra = hs.match(case.boxes, [f.box for f in faces])
                n, found, false = n + len(case.boxes), found + hits, false + extra
                if case.rgb.shape[:2] == (720, 1280):
                    frame_ms[name].append(t)
                if case.kind in ("small", "rotated") and case.groups[0]:
                    g = group_cases[name][f"{case.kind}: {case.groups[0]}"]
                    g[0] += 1
                    g[1] += hits
            result["cases"].setdefault(case_name, {})[name] = {
                "faces": n, "found": found, "recall": round(found / max(n, 1), 4), "false_faces": false,
                "ms_median": round(statistics.median(times), 1)}
    for name in DETECTORS:
        result["per_group"][name].update({g: {"faces": v[0], "found": v[1], "recall": round(v[1] / v[0], 4)}
                                          for g, v in sorted(group_cases[name].items())})

    # 3. Face-free pictures.
    free = hs.face_free_pictures()
    for name, det in dets.items():
        false = {k: len(det.detect(v)) for k, v in free.items()}
        result["cases"].setdefault("scikit-image face-free pictures", {})[name] = {
            "pictures": len(free), "false_faces": sum(false.values()),
            "with_false_faces": sorted(k for k, v in false.items() if v)}

    # 4. Cost on a 1280x720 frame holding one face of 100-160 px, beside dlib's raw HOG (grey frame, no
    # upsampling, no landmarks) in the same run: the detector as analyze runs it, and with the 68 landmarks.
    hog = dlib.get_frontal_face_detector()
    frames = [hs.composite(refs, backgrounds, rng, n=1, face_px=(100, 160)).rgb for _ in range(20)]
    cost = defaultdict(list)
    for frame in frames:
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        for name, fn in [("dlib raw HOG", lambda: hog(grey, 0))] + \
                        [(f"{n} detect (boxes + 68 landmarks)", lambda d=d: d.detect(frame, landmarks=True)) for n, d in dets.items()] + \
                        [(f"{n} detect (as analyze: boxes, no landmarks)", lambda d=d: d.detect(frame)) for n, d in dets.items()]:
            t = time.perf_counter()
            fn()
            cost[name].append((time.perf_counter() - t) * 1000)
    raw_ms = statistics.median(cost["dlib raw HOG"])
    for name, v in cost.items():
        m = statistics.median(v)
        result["detectors"][name] = {"ms_per_720p_frame": round(m, 1), "ratio_to_raw_hog": round(m / raw_ms, 3)}
    for name in DETECTORS:  # the composites (2-6 faces each)
        result["detectors"][f"{name} detect, 720p composites"] = {
            "ms_per_720p_frame": round(statistics.median(frame_ms[name]), 1),
            "ratio_to_raw_hog": round(statistics.median(frame_ms[name]) / raw_ms, 3)}
    b = result["detectors"]["blazeface detect (as analyze: boxes, no landmarks)"]["ms_per_720p_frame"]
    h = result["detectors"]["hog detect (as analyze: boxes, no landmarks)"]["ms_per_720p_frame"]
    result["blazeface_over_hog_720p"] = round(b / h, 3)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(table(result))


def table(result: dict) -> str:
    lines = ["| case | detector | faces | found | recall | false faces | ms median |", "|---|---|---|---|---|---|---|"]
    for case, by in result["cases"].items():
        for name, r in by.items():
            lines.append(f"| {case} | {name} | {r.get('faces', r.get('pictures', '-'))} | {r.get('found', '-')} | "
                         f"{r.get('recall', '-')} | {r.get('false_faces', '-')} | {r.get('ms_median', '-')} |")
    lines.append("")
    for name, r in result["detectors"].items():
        lines.append(f"{name}: {r}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
