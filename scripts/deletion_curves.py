"""Mean deletion and insertion curves of Grad-CAM, a centre prior and a random map on the audit's faces.

Issue 17 asks the most faithful map to delete 1.5x better than random; the 100-face audit finds
1.04-1.17x. This script shows where along the curve the gap is lost, per class: the same faces
(`pick_faces`, the model's validation split), the same target (the verdict's class), the same
variant as the records (`patch:16`, MoRF, ROAD fill) and steps as `fakelens audit-explainers`.

    .venv/bin/python scripts/deletion_curves.py ../shared/data --faces 100
    .venv/bin/python scripts/deletion_curves.py ../shared/data --faces 100 --fill blur

Writes benchmarks/results/deletion-curves[-FILL]-VERSION-100val.{json,png} (VERSION from the model's name,
e.g. v5; or --name) and prints the mean curves.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="+")
    ap.add_argument("--faces", type=int, default=100)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--fill", default=None, help="the removed units' fill (default: the records' variant, ROAD)")
    ap.add_argument("--name", default=None, help="output name (default from the fill and the model's version)")
    args = ap.parse_args()
    from fakelens.detector import Detector
    from fakelens.explain.audit import pick_faces, prepare_faces
    from fakelens.explain.registry import create_explainer
    from fakelens.metrics.faithfulness import DEFAULT, auc, centre_prior, curves, random_map

    det = Detector.load(None)
    faces = prepare_faces(det, pick_faces(det, args.data, args.faces, "val"))  # as the audit prepares them
    gradcam = create_explainer("gradcam", det.model, flip=getattr(det, "flip", False))
    per_face = []
    for k, f in enumerate(faces):
        h, w = f.img.shape[:2]
        maps = {"gradcam": gradcam.attribute(f.x, target=f.target, scores=[f.score])[0].map,
                "random": random_map(h, w, 0), "centre": centre_prior(h, w)}
        r = curves(f.prob, f.img, maps, args.steps, fill=args.fill or DEFAULT["fill"])
        per_face.append({"path": f.path, "truth": f.truth, "target": f.target, "x": r["random"]["x"],
                         **{f"{m}_{kind}": r[m][f"{kind}_curve"] for m in maps for kind in ("deletion", "insertion")}})
        print(f"{k + 1}/{len(faces)} {f.path}", flush=True)
    summary = {}
    for cls in ("real", "fake", "all"):
        rows = [f for f in per_face if cls in ("all", f["truth"])]
        summary[cls] = {"faces": len(rows), "x": np.mean([f["x"] for f in rows], 0).round(4).tolist(),
                        **{key: np.mean([f[key] for f in rows], 0).round(4).tolist()
                           for key in per_face[0] if key.endswith(("_deletion", "_insertion"))}}
    name = args.name or "-".join(["deletion-curves", *([args.fill] if args.fill else []),
                                  det.name.rsplit("-", 1)[-1], f"{len(faces)}val"])
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps({"model": det.name, "steps": args.steps,
                                                  "fill": args.fill or DEFAULT["fill"], "mean": summary,
                                                  "per_face": per_face}) + "\n")
    plot(summary, OUT / f"{name}.png")
    for cls, s in summary.items():
        print(f"\n{cls} ({s['faces']} faces), removed fraction: " + " ".join(f"{v:.2f}" for v in s["x"]))
        for key in ("gradcam_deletion", "random_deletion", "centre_deletion", "gradcam_insertion", "random_insertion",
                    "centre_insertion"):
            print(f"  {key:18s} " + " ".join(f"{v:.2f}" for v in s[key]) + f"   AUC {auc(s[key], s['x']):.3f}")
        print(f"  deletion random / Grad-CAM {auc(s['random_deletion'], s['x']) / auc(s['gradcam_deletion'], s['x']):.2f}x")


def plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6), sharey=True)
    for ax, (cls, kind) in zip(axes, [(c, k) for c in ("real", "fake") for k in ("deletion", "insertion")]):
        s = summary[cls]
        for m, style in (("gradcam", "-"), ("centre", "--"), ("random", ":")):
            ax.plot(s["x"], s[f"{m}_{kind}"], style, label=m)
        ax.set_title(f"{kind}, {cls} faces ({s['faces']})")
        ax.set_xlabel("fraction of the face removed" if kind == "deletion" else "fraction of the face restored")
    axes[0].set_ylabel("probability of the verdict's class")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)


if __name__ == "__main__":
    main()
