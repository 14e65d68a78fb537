"""`fakelens audit-explainers`: every method over N faces of a labelled set, scored for
faithfulness (deletion/insertion against a random map), robustness (blur, affine) and the
model-randomisation sanity check, with its time. Prints and saves one table."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from fakelens.data.datasets import read_datasets
from fakelens.data.split import group_split
from fakelens.detector import Detector
from fakelens.explain.registry import create_explainer, explainer_class, list_explainers
from fakelens.faces import crop_landmarks
from fakelens.imageio import load_rgb
from fakelens.metrics.faithfulness import baselines, channels_first, deletion_insertion, target_probability
from fakelens.metrics.trust import randomised_copies, robustness, sanity_check
from fakelens.models.onnx import onnx_forward

# Lighter settings than `explain`'s defaults: each method runs 7 times per face here.
AUDIT_OPTIONS = {"lime": {"samples": 300}, "shap": {"samples": 300}, "rise": {"masks": 1000},
                 "integrated-gradients": {"steps": 16}}


def pick_faces(det: Detector, data: list[str], n: int, split: str = "test", seed: int = 0) -> list[tuple]:
    """n faces (half real, half fake where possible) from the group-held-out `split` of the data:
    (path, crop, 'real'|'fake', crop landmarks or None)."""
    samples = read_datasets(data)
    idx = group_split(samples, seed=seed)[split] if split in ("train", "val", "test") else list(range(len(samples)))
    rng = np.random.default_rng(seed)
    chosen = []
    for label in (1, 0):
        pool = [i for i in idx if samples[i].label == label]
        for i in rng.permutation(pool):
            if len([c for c in chosen if c[2] == ("fake" if label else "real")]) >= (n + 1 - label) // 2:
                break
            try:
                found = det.face_crops(load_rgb(samples[i].path))
            except Exception:  # noqa: BLE001 - an unreadable sample is skipped, not fatal
                continue
            if found:
                crop = found[0][0]
                chosen.append((samples[i].path, crop.image, "fake" if label else "real", crop_landmarks(crop)))
    return chosen


def audit(det: Detector, faces: list[tuple], methods: list[str] | None = None,
          steps: int = 16) -> dict:
    """Per method: mean deletion/insertion AUC (and the random map's), robustness, sanity pass rate, seconds."""
    methods = methods or [m for m in list_explainers() if explainer_class(m).input_dims == 4 and m != "activations"]
    copies = randomised_copies(det.model, fractions=(0.25, 0.5, 1.0))
    prob_fake = channels_first(onnx_forward(det.model))
    rows = {}
    for method in methods:
        opts = AUDIT_OPTIONS.get(method, {})
        explainers = {id(m): create_explainer(method, m, **opts) for m in [det.model] + [c for _, c in copies]}
        per_face = []
        for path, crop, *_ in faces:
            x = torch.from_numpy(crop).permute(2, 0, 1).float().div(255)[None]
            score = float(det.score_crops(crop[None])[0])
            target = "fake" if score >= det.threshold else "real"

            def explain(inp, model=det.model):
                return explainers[id(model)].attribute(inp, target=target, scores=[score])[0].map

            t0 = time.perf_counter()
            m = explain(x)
            seconds = time.perf_counter() - t0
            prob = target_probability(prob_fake, target)
            img = x[0].permute(1, 2, 0).numpy()
            faith = deletion_insertion(prob, img, m, steps)
            rnd = baselines(prob, img, steps)["random"]
            per_face.append({"path": path, "seconds": seconds, "deletion_auc": faith["deletion_auc"],
                             "insertion_auc": faith["insertion_auc"], "random": rnd,
                             "robustness": robustness(explain, x),
                             "sanity": sanity_check(lambda mdl, inp: explain(inp, mdl), det.model, x, copies=copies)})
        rows[method] = {
            "faces": len(per_face),
            "deletion_auc": _mean(f["deletion_auc"] for f in per_face),
            "insertion_auc": _mean(f["insertion_auc"] for f in per_face),
            "random_deletion_auc": _mean(f["random"]["deletion_auc"] for f in per_face),
            "random_insertion_auc": _mean(f["random"]["insertion_auc"] for f in per_face),
            "blur_spearman": _mean(f["robustness"]["blur"]["spearman"] for f in per_face),
            "blur_ssim": _mean(f["robustness"]["blur"]["ssim"] for f in per_face),
            "affine_spearman": _mean(f["robustness"]["affine"]["spearman"] for f in per_face),
            "affine_ssim": _mean(f["robustness"]["affine"]["ssim"] for f in per_face),
            "sanity_similarity_at_half": _mean(f["sanity"]["similarity"][0.5] for f in per_face),
            "sanity_pass_rate": _mean(float(f["sanity"]["passed"]) for f in per_face),
            "seconds": _mean(f["seconds"] for f in per_face),
            "per_face": per_face,
        }
    return rows


def _mean(values) -> float:
    v = list(values)
    return round(float(np.mean(v)), 4) if v else float("nan")


def format_table(rows: dict) -> str:
    lines = ["| method | deletion AUC (random) | insertion AUC (random) | blur: Spearman / SSIM | affine: Spearman / SSIM "
             "| sanity: similarity at 50% random, pass rate | seconds |",
             "|---|---|---|---|---|---|---|"]
    for m, r in rows.items():
        lines.append(f"| {m} | {r['deletion_auc']:.3f} ({r['random_deletion_auc']:.3f}) | {r['insertion_auc']:.3f} "
                     f"({r['random_insertion_auc']:.3f}) | {r['blur_spearman']:.2f} / {r['blur_ssim']:.2f} | "
                     f"{r['affine_spearman']:.2f} / {r['affine_ssim']:.2f} | {r['sanity_similarity_at_half']:.2f}, "
                     f"{r['sanity_pass_rate']:.0%} | {r['seconds']:.3f} |")
    return "\n".join(lines)


def write_report(rows: dict, faces, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit.json").write_text(json.dumps({"faces": [f[0] for f in faces], "methods": rows}, indent=1,
                                               default=lambda o: str(o)))
    table = format_table(rows)
    (out / "audit.md").write_text(table + "\n")
    return out / "audit.md"
