"""Issue 17 item 6: do the validated faithfulness metrics cost at most 2x the explanation they score?

On the shipped model and face crops (the astronaut, plus `--data` faces if given), times Grad-CAM,
LIME and RISE at `explain`'s defaults and each metric variant per map (deletion + insertion) and
per face (the random and centre baselines), and their AUCs against the random map. Writes
benchmarks/results/faithfulness-cost.json. Single-threaded, so the numbers add up per core."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from fakelens.detector import Detector
from fakelens.explain import create_explainer
from fakelens.metrics.faithfulness import baselines, channels_first, deletion_insertion, target_probability
from fakelens.models.onnx import onnx_forward

OUT = Path(__file__).parent / "results" / "faithfulness-cost.json"
VARIANTS = {"pixel-blur (old)": {"unit": "pixel", "fill": "blur"}, "patch16-blur": {"unit": "patch:16", "fill": "blur"},
            "patch16-road": {"unit": "patch:16", "fill": "road"}, "patch8-road": {"unit": "patch:8", "fill": "road"}}


def crops(det: Detector, data: list[str], n: int) -> list[np.ndarray]:
    from skimage import data as skdata

    out = [det.face_crops(skdata.astronaut())[0][0].image]
    if data:
        from fakelens.explain.audit import pick_faces

        out += [c for _, c, *_ in pick_faces(det, data, n, "val")]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", nargs="*", default=[])
    ap.add_argument("--faces", type=int, default=2)
    ap.add_argument("--steps", type=int, nargs="*", default=[16, 32])
    args = ap.parse_args()
    torch.set_num_threads(1)
    det = Detector.load()
    prob = target_probability(channels_first(onnx_forward(det.model)), "fake")
    rows = []
    for crop in crops(det, args.data, args.faces):
        x = torch.from_numpy(crop).permute(2, 0, 1).float().div(255)[None]
        img = x[0].permute(1, 2, 0).numpy()
        maps, cost = {}, {}
        for method, opts in (("gradcam", {}), ("lime", {}), ("rise", {})):
            e = create_explainer(method, det.model, **opts)
            e.attribute(x, target="fake")  # warm-up (ONNX export, caches)
            t = time.perf_counter()
            maps[method] = e.attribute(x, target="fake")[0].map
            cost[method] = time.perf_counter() - t
        for name, v in VARIANTS.items():
            for steps in args.steps:
                t = time.perf_counter()
                ref = baselines(prob, img, steps, **v)["random"]
                per_face = time.perf_counter() - t
                for method, m in maps.items():
                    t = time.perf_counter()
                    r = deletion_insertion(prob, img, m, steps, **v)
                    per_map = time.perf_counter() - t
                    rows.append({"variant": name, "steps": steps, "method": method, "explain_s": round(cost[method], 3),
                                 "metric_per_map_s": round(per_map, 3), "baselines_per_face_s": round(per_face, 3),
                                 "deletion_auc": r["deletion_auc"], "insertion_auc": r["insertion_auc"],
                                 "random_deletion_auc": ref["deletion_auc"], "random_insertion_auc": ref["insertion_auc"]})
                    print(rows[-1], flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"model": det.name, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
