"""AUROC against what platforms do to a picture: JPEG re-encoding at quality 30-95 and downscaling to
0.25-1x, on the test split of the shipped model's training data, scored as `fakelens analyze` scores
(the whole picture is degraded, then faces are found and cropped again). Writes
benchmarks/results/robustness.json and robustness.png.

    .venv/bin/python benchmarks/bench_robustness.py ../shared/data --per-source 150
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
from sklearn.metrics import roc_auc_score

from fakelens.data.augment import jpeg
from fakelens.detector import Detector
from fakelens.imageio import load_rgb

OUT = Path(__file__).resolve().parent / "results"
QUALITIES = (30, 40, 50, 60, 70, 80, 90, 95)
SCALES = (0.25, 0.35, 0.5, 0.7, 1.0)


def test_split(det: Detector, data: Path) -> list:
    """The test samples of the shipped model's own split (as its training run drew it)."""
    from fakelens.data.samples import model_split

    samples, idx = model_split([str(data)], det.meta, "test", progress=False)
    return [samples[i] for i in idx]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, nargs="?", default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--per-source", type=int, default=150, help="test pictures per source and class")
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    det = Detector.load(args.model)
    rng = np.random.default_rng(0)
    test, chosen = test_split(det, args.data), []
    for key in sorted({(s.source, s.label) for s in test}):
        pool = [s for s in test if (s.source, s.label) == key]
        chosen += [pool[i] for i in rng.choice(len(pool), min(args.per_source, len(pool)), replace=False)]
    pictures = [(s, load_rgb(s.path)) for s in chosen]

    def auroc(transform) -> dict:
        ys, ps, src = [], [], []
        for s, rgb in pictures:
            r = det.analyze_array(transform(rgb))
            ys.append(s.label)
            ps.append(0.0 if r.score is None else r.score)  # no face found: not flagged, as analyze
            src.append(s.source)
        ys, ps, src = np.array(ys), np.array(ps), np.array(src)
        out = {"all": float(roc_auc_score(ys, ps))}
        for name in sorted(set(src)):
            m = src == name
            if len(np.unique(ys[m])) == 2:
                out[name] = float(roc_auc_score(ys[m], ps[m]))
        return out

    result = {"model": det.name, "pictures": len(pictures), "jpeg": {}, "scale": {}}
    result["original"] = auroc(lambda x: x)
    for q in QUALITIES:
        result["jpeg"][q] = auroc(lambda x, q=q: jpeg(x, q))
        print(f"JPEG quality {q}: AUROC {result['jpeg'][q]['all']:.3f}", flush=True)
    for k in SCALES:
        def down(x, k=k):
            h, w = x.shape[:2]
            return cv2.resize(x, (max(16, round(w * k)), max(16, round(h * k))), interpolation=cv2.INTER_AREA)
        result["scale"][k] = auroc(down)
        print(f"downscaled to {k:g}x: AUROC {result['scale'][k]['all']:.3f}", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "robustness.json").write_text(json.dumps(result, indent=1) + "\n")
    plot(result, OUT / "robustness.png")


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    names = [k for k in result["original"] if k != "all"] + ["all"]
    for name in names:
        style = dict(lw=2.5, color="k") if name == "all" else dict(lw=1, alpha=0.8)
        a1.plot(QUALITIES, [result["jpeg"][q].get(name, np.nan) for q in QUALITIES], "o-", label=name, **style)
        a2.plot(SCALES, [result["scale"][k].get(name, np.nan) for k in SCALES], "o-", label=name, **style)
    a1.set(xlabel="JPEG quality", ylabel="AUROC", title="re-encoded as JPEG")
    a2.set(xlabel="scale (1 = original size)", title="downscaled")
    for a in (a1, a2):
        a.grid(alpha=0.3)
    a2.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{result['model']}: AUROC on the test split under platform operations ({result['pictures']} pictures)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
