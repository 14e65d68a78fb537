"""An explainer audit's numbers from its per-face values: means with bootstrap 95% intervals over
faces, the ranking against a random map, and the printed tables. NumPy only, so a script that
reads an audit's JSON (scripts/audit_table.py) needs no torch; the audit's loop that produces the
per-face values is fakelens.explain.audit."""

from __future__ import annotations

import numpy as np

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
