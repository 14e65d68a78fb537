"""`fakelens audit-explainers`: every method over N faces of a labelled set, scored for
faithfulness (deletion/insertion against a random map, the validated variant of
docs/faithfulness.md), robustness (blur, affine) and the model-randomisation sanity check, with
its time; means with bootstrap 95% intervals over faces, per source and class too, and methods
ranked by their faithfulness gain over the random map. Prints and saves one table."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from fakelens.data.samples import model_split
from fakelens.detector import Detector
from fakelens.explain.base import score_function
from fakelens.explain.registry import create_explainer, list_explainers
from fakelens.faces import crop_landmarks
from fakelens.imageio import load_rgb
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
    (path, crop, 'real'|'fake', crop landmarks or None, source)."""
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
            chosen.append((samples[i].path, crop.image, "fake" if samples[i].label else "real", crop_landmarks(crop),
                           samples[i].source))
    return chosen


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
    # The metrics score the verdict's function too: with the model's flip, the mean logit of face and mirror.
    prob_fake = channels_first(score_function(det.model, getattr(det, "flip", False)))
    refs: dict[int, tuple] = {}  # per face: its score and the random map's AUCs, the same for every method
    rows = {}
    for method in methods:
        name, _, block = method.partition("@")  # "gradcam@10": Grad-CAM on backbone block 10
        opts = {**AUDIT_OPTIONS.get(name, {}), **({"layer": int(block)} if block else {})}
        # The verdict's function (the flip average when the model flips), on the trained and randomised models alike.
        explainers = {id(m): create_explainer(name, m, flip=getattr(det, "flip", False), **opts) for m in [det.model] + [c for _, c in copies]}
        per_face = []
        for k, (path, crop, truth, *rest) in enumerate(faces):
            x = torch.from_numpy(crop).permute(2, 0, 1).float().div(255)[None]
            img = x[0].permute(1, 2, 0).numpy()
            if k not in refs:
                score = float(det.score_crops(crop[None])[0])
                target = verdict(score, det.threshold)
                refs[k] = (score, target, baselines(target_probability(prob_fake, target), img, steps)["random"])
            score, target, rnd = refs[k]

            def explain(inp, model=det.model):
                return explainers[id(model)].attribute(inp, target=target, scores=[score])[0].map

            t0 = time.perf_counter()
            m = explain(x)
            seconds = time.perf_counter() - t0
            prob = target_probability(prob_fake, target)
            faith = deletion_insertion(prob, img, m, steps)
            per_face.append({"path": path, "group": f"{rest[1] if len(rest) > 1 else 'all'}/{truth}",
                             "seconds": seconds, "deletion_auc": faith["deletion_auc"],
                             "insertion_auc": faith["insertion_auc"], "random": rnd,
                             "robustness": robustness(explain, x) if "robustness" in checks else None,
                             "sanity": (sanity_check(lambda mdl, inp: explain(inp, mdl), det.model, x, copies=copies)
                                        if "sanity" in checks else None)})
            if attack > 0:
                per_face[-1]["attack"] = region_attack(prob, img, m, top=attack, seed=k)
        rows[method] = {**summarize(per_face, boot), "per_face": per_face,
                        "groups": {g: summarize([f for f in per_face if f["group"] == g], boot)
                                   for g in sorted({f["group"] for f in per_face})}}
    return rank_methods(rows)


# Per-face values behind each column of the audit (the random map's on the same face and variant).
FIELDS = {
    "deletion_auc": lambda f: f["deletion_auc"],
    "insertion_auc": lambda f: f["insertion_auc"],
    "random_deletion_auc": lambda f: f["random"]["deletion_auc"],
    "random_insertion_auc": lambda f: f["random"]["insertion_auc"],
    # Paired per face, so the face-to-face spread of the model's scores cancels out of the interval.
    "deletion_gain": lambda f: f["random"]["deletion_auc"] - f["deletion_auc"],
    "insertion_gain": lambda f: f["insertion_auc"] - f["random"]["insertion_auc"],
    "gain": lambda f: (f["insertion_auc"] - f["deletion_auc"]) - (f["random"]["insertion_auc"] - f["random"]["deletion_auc"]),
    "blur_spearman": lambda f: f["robustness"]["blur"]["spearman"] if f["robustness"] else None,
    "blur_ssim": lambda f: f["robustness"]["blur"]["ssim"] if f["robustness"] else None,
    "affine_spearman": lambda f: f["robustness"]["affine"]["spearman"] if f["robustness"] else None,
    "affine_ssim": lambda f: f["robustness"]["affine"]["ssim"] if f["robustness"] else None,
    "sanity_similarity_at_half": lambda f: f["sanity"]["similarity"][0.5] if f["sanity"] else None,
    "sanity_pass_rate": lambda f: float(f["sanity"]["passed"]) if f["sanity"] else None,
    "seconds": lambda f: f["seconds"],
    "attack_drop": lambda f: f.get("attack", {}).get("drop"),
    "attack_random_drop": lambda f: f.get("attack", {}).get("random_drop"),
    "attack_gain": lambda f: f.get("attack", {}).get("gain"),
}


def summarize(per_face: list[dict], boot: int = 1000, seed: int = 0) -> dict:
    """Means of the FIELDS over faces, each with its bootstrap 95% interval ('<field>_ci'), and the
    deletion ratio (random AUC / the map's, from the means: issue 17's 1.5x goal)."""
    out: dict = {"faces": len(per_face)}
    for name, get in FIELDS.items():
        v = [get(f) for f in per_face]
        out[name] = _mean(v)
        out[f"{name}_ci"] = bootstrap_mean(v, boot, seed)
    out["deletion_ratio"] = round(out["random_deletion_auc"] / out["deletion_auc"], 3) if out["faces"] and out["deletion_auc"] > 0 else None
    return out


def bootstrap_mean(values, n: int = 1000, seed: int = 0) -> list[float] | None:
    """95% percentile-bootstrap interval of the mean over faces (resampled with replacement); None
    for no value, a zero-width interval for one."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], float)
    if v.size == 0:
        return None
    means = v[np.random.default_rng(seed).integers(0, v.size, (n, v.size))].mean(1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return [round(float(lo), 4), round(float(hi), 4)]


def rank_methods(rows: dict) -> dict:
    """Rows best first by the faithfulness gain over the random map (insertion minus deletion AUC,
    above the random map's); `rank` counts from 1 and `passes` says the gain's whole 95% interval
    is above zero, i.e. the method beats a random map on these faces beyond resampling noise."""
    order = sorted(rows, key=lambda m: -rows[m]["gain"] if np.isfinite(rows[m]["gain"]) else np.inf)
    out = {}
    for k, m in enumerate(order, 1):
        ci = rows[m].get("gain_ci")
        out[m] = {"rank": k, "passes": bool(ci and ci[0] > 0), **rows[m]}
    return out


def _mean(values) -> float:
    v = [x for x in values if x is not None and np.isfinite(x)]
    return round(float(np.mean(v)), 4) if v else float("nan")


def format_ci(r: dict, name: str, fmt: str = ".3f") -> str:
    """A mean with its 95% interval, as the audit's tables print it: '0.159 [0.131, 0.189]'."""
    ci = r.get(f"{name}_ci")
    return f"{r[name]:{fmt}} [{ci[0]:{fmt}}, {ci[1]:{fmt}}]" if ci else f"{r[name]:{fmt}}"


def format_table(rows: dict) -> str:
    """The ranked table, means with [95% intervals]."""
    attacked = any(np.isfinite(r.get("attack_gain", np.nan)) for r in rows.values())
    lines = ["| rank | method | gain over random | beats random | deletion AUC (random) | insertion AUC (random) "
             + ("| region attack: drop (random) " if attacked else "")
             + "| blur: Spearman / SSIM | affine: Spearman / SSIM | sanity: similarity at 50% random, pass rate | seconds |",
             "|---" * (10 + attacked) + "|"]
    for m, r in rows.items():
        more = f"{format_ci(r, 'attack_drop')} ({r['attack_random_drop']:.3f}) | " if attacked else ""
        lines.append(f"| {r.get('rank', '')} | {m} | {format_ci(r, 'gain')} | {'yes' if r.get('passes') else 'no'} | "
                     f"{format_ci(r, 'deletion_auc')} ({r['random_deletion_auc']:.3f}) | "
                     f"{format_ci(r, 'insertion_auc')} ({r['random_insertion_auc']:.3f}) | {more}"
                     f"{r['blur_spearman']:.2f} / {r['blur_ssim']:.2f} | {r['affine_spearman']:.2f} / "
                     f"{r['affine_ssim']:.2f} | {r['sanity_similarity_at_half']:.2f}, {r['sanity_pass_rate']:.0%} | "
                     f"{r['seconds']:.3f} |")
    return "\n".join(lines)


def format_groups(rows: dict) -> str:
    """Per source and class: each method's gain over random and deletion/insertion AUCs, with intervals."""
    lines = ["| source/class | method | faces | gain over random | deletion AUC (random) | insertion AUC (random) |",
             "|---|---|---|---|---|---|"]
    groups = sorted({g for r in rows.values() for g in r.get("groups", {})})
    for g in groups:
        for m, r in rows.items():
            if g in r.get("groups", {}):
                s = r["groups"][g]
                lines.append(f"| {g} | {m} | {s['faces']} | {format_ci(s, 'gain')} | {format_ci(s, 'deletion_auc')} "
                             f"({s['random_deletion_auc']:.3f}) | {format_ci(s, 'insertion_auc')} ({s['random_insertion_auc']:.3f}) |")
    return "\n".join(lines)


def write_report(rows: dict, faces, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit.json").write_text(json.dumps({"faces": [f[0] for f in faces], "methods": rows}, indent=1,
                                               default=lambda o: str(o)))
    table = format_table(rows) + "\n\n" + format_groups(rows)
    (out / "audit.md").write_text(table + "\n")
    return out / "audit.md"
