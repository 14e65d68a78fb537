"""`fakelens audit-explainers`: every method over N faces of a labelled set, scored for
faithfulness (deletion/insertion against a random map, the validated variant of
docs/faithfulness.md), robustness (blur, affine) and the model-randomisation sanity check, with
its time; means with bootstrap 95% intervals over faces, per source and class too, and methods
ranked by their faithfulness gain over the random map. Prints and saves one table."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from fakelens.data.samples import model_split
from fakelens.detector import Detector
from fakelens.explain.base import score_function
from fakelens.explain.registry import create_explainer, list_explainers
from fakelens.faces import crop_landmarks
from fakelens.imageio import load_rgb
from fakelens.metrics.audit_summary import format_groups, format_table, rank_methods, summarize
from fakelens.metrics.faithfulness import (baselines, channels_first, deletion_insertion, region_attack,
                                           target_probability)
from fakelens.metrics.trust import randomised_copies, robustness, sanity_check
from fakelens.records import verdict


# Lighter settings than `explain`'s defaults: each method runs 7 times per face here.
AUDIT_OPTIONS = {"lime": {"samples": 300}, "shap": {"samples": 300}, "rise": {"masks": 1000},
                 "integrated-gradients": {"steps": 16}}


def stratified_order(samples: list, idx: list[int], seed: int = 0) -> list[int]:
    """`idx` shuffled, then interleaved round-robin over (source, label) strata: the first n of it
    hold every source's reals and fakes as evenly as n allows."""
    rng = np.random.default_rng(seed)
    strata: dict[tuple, list[int]] = {}
    for i in rng.permutation(idx):
        strata.setdefault((samples[i].source, samples[i].label), []).append(int(i))
    queues = [strata[k] for k in sorted(strata)]
    return [q[j] for j in range(max(map(len, queues), default=0)) for q in queues if j < len(q)]


def pick_faces(det: Detector, data: list[str], n: int, split: str = "val", seed: int | None = None) -> list[tuple]:
    """n faces from `split` of the data as the model's training run split it (`model_split`: its
    samples, its split seed unless `seed` is given), spread over sources and classes:
    (name, crop, 'real'|'fake', crop landmarks or None, source); the name of a clip's frame is
    "<clip path>#frame=<index>", not the cached crop's path."""
    samples, idx = model_split(data, dict(getattr(det, "meta", None) or {}), split, seed, progress=False)
    chosen = []
    for i in stratified_order(samples, idx, 0 if seed is None else seed):
        if len(chosen) >= n:
            break
        try:
            found = det.face_crops(load_rgb(samples[i].path))
        except Exception:  # noqa: BLE001 - an unreadable sample is skipped, not fatal
            continue
        if found:
            crop = found[0][0]
            chosen.append((samples[i].name, crop.image, "fake" if samples[i].label else "real", crop_landmarks(crop),
                           samples[i].source))
    return chosen


@dataclass
class AuditFace:
    """One face as the audit (and scripts/deletion_curves.py) scores it: the model's input, its score,
    the verdict's class (what the maps explain) and that class's probability as a function of an
    image (what the metrics follow while they perturb it)."""

    path: str
    group: str  # "<source>/<real|fake>", the audit's per-group rows
    truth: str
    x: torch.Tensor  # 1 x 3 x S x S in [0, 1], as the explainers take it
    img: np.ndarray  # S x S x 3 in [0, 1], as the metrics perturb it
    score: float
    target: str
    prob: Callable[[np.ndarray], np.ndarray]


def prepare_faces(det: Detector, faces: list[tuple]) -> list[AuditFace]:
    """`pick_faces`' tuples made ready for explaining and scoring, the same way for every method."""
    # The metrics score the verdict's function: with the model's flip, the mean logit of face and mirror.
    prob_fake = channels_first(score_function(det.model, getattr(det, "flip", False)))
    out = []
    for path, crop, truth, *rest in faces:
        x = torch.from_numpy(crop).permute(2, 0, 1).float().div(255)[None]
        score = float(det.score_crops(crop[None])[0])
        target = verdict(score, det.threshold)
        out.append(AuditFace(path, f"{rest[1] if len(rest) > 1 else 'all'}/{truth}", truth, x,
                             x[0].permute(1, 2, 0).numpy(), score, target, target_probability(prob_fake, target)))
    return out


def audit(det: Detector, faces: list[tuple], methods: list[str] | None = None,
          steps: int = 16, boot: int = 1000, attack: float = 0.0,
          checks: tuple[str, ...] = ("robustness", "sanity")) -> dict:
    """Per method (best first, by `rank_methods`): mean deletion/insertion AUC and the random
    map's, the faithfulness gain over random, robustness, sanity pass rate and seconds, each with
    a bootstrap 95% interval over faces (`boot` resamples); `groups`: the same per source/class.
    With `attack` > 0, also the region attack (Tsigos et al.) on the map's top `attack` fraction:
    its probability drop against random regions of the same area. `checks` beside faithfulness:
    robustness and the sanity check run each method 6 more times per face (leave them out for a
    faithfulness audit of many faces). A method `gradcam@N` is Grad-CAM on backbone block N."""
    methods = methods or list_explainers(explains="classifier", attribution=True)
    copies = randomised_copies(det.model, fractions=(0.25, 0.5, 1.0)) if "sanity" in checks else []
    prepared = prepare_faces(det, faces)
    randoms: dict[int, dict] = {}  # per face: the random map's AUCs, the same for every method
    rows = {}
    for method in methods:
        name, _, block = method.partition("@")  # "gradcam@10": Grad-CAM on backbone block 10
        opts = {**AUDIT_OPTIONS.get(name, {}), **({"layer": int(block)} if block else {})}
        # The verdict's function (the flip average when the model flips), on the trained and randomised models alike.
        explainers = {id(m): create_explainer(name, m, flip=getattr(det, "flip", False), **opts) for m in [det.model] + [c for _, c in copies]}
        per_face = []
        for k, f in enumerate(prepared):
            if k not in randoms:
                randoms[k] = baselines(f.prob, f.img, steps)["random"]

            def explain(inp, model=det.model, f=f):
                return explainers[id(model)].attribute(inp, target=f.target, scores=[f.score])[0].map

            t0 = time.perf_counter()
            m = explain(f.x)
            seconds = time.perf_counter() - t0
            faith = deletion_insertion(f.prob, f.img, m, steps)
            per_face.append({"path": f.path, "group": f.group, "seconds": seconds,
                             "deletion_auc": faith["deletion_auc"], "insertion_auc": faith["insertion_auc"],
                             "random": randoms[k],
                             "robustness": robustness(explain, f.x) if "robustness" in checks else None,
                             "sanity": (sanity_check(lambda mdl, inp: explain(inp, mdl), det.model, f.x, copies=copies)
                                        if "sanity" in checks else None)})
            if attack > 0:
                per_face[-1]["attack"] = region_attack(f.prob, f.img, m, top=attack, seed=k)
        rows[method] = {**summarize(per_face, boot), "per_face": per_face,
                        "groups": {g: summarize([f for f in per_face if f["group"] == g], boot)
                                   for g in sorted({f["group"] for f in per_face})}}
    return rank_methods(rows)


def with_earlier_rows(rows: dict, faces: list[tuple], out: Path, weights: str | None) -> dict:
    """This audit's rows beside those of an earlier audit in `out` of the same weights on the same
    faces (a method in both: this run's), ranked together, so a long audit can run a few methods at a
    time. Anything else in `out` is replaced, not merged."""
    path = out / "audit.json"
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError):
        return rows
    if weights is None or earlier.get("weights") != weights or earlier.get("faces") != [f[0] for f in faces]:
        return rows
    unranked = {m: {k: v for k, v in r.items() if k not in ("rank", "passes")}
                for m, r in {**earlier.get("methods", {}), **rows}.items()}
    return rank_methods(unranked)


def write_report(rows: dict, faces, out: Path, weights: str | None = None) -> Path:
    """audit.json (the faces, the weights' digest, every method's rows) and audit.md (the tables)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit.json").write_text(json.dumps({"faces": [f[0] for f in faces], "weights": weights, "methods": rows},
                                               indent=1, default=lambda o: str(o)))
    table = format_table(rows) + "\n\n" + format_groups(rows)
    (out / "audit.md").write_text(table + "\n")
    return out / "audit.md"
