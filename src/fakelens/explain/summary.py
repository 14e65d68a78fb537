"""A plain-language summary of a verdict and its evidence, built from measured numbers only
(seed 000's "decision explanation"; no language model). Every sentence names the figure it rests on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import spearmanr

from fakelens.explain.regions import region_shares
from fakelens.explain.registry import display_name



@dataclass
class MethodEvidence:
    """One explanation of one face, with what was measured about it."""

    method: str
    map: np.ndarray
    deletion_auc: float | None = None
    insertion_auc: float | None = None
    baselines: dict = field(default_factory=dict)

    @property
    def faithfulness_gain(self) -> float | None:
        """Insertion minus deletion AUC, above the random map's: > 0 means better than chance."""
        rnd = self.baselines.get("random")
        if self.deletion_auc is None or not rnd:
            return None
        return (self.insertion_auc - self.deletion_auc) - (rnd["insertion_auc"] - rnd["deletion_auc"])


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]  # str.capitalize would turn "Grad-CAM" into "Grad-cam"


def confidence(score: float, threshold: float) -> str:
    margin = abs(score - threshold)
    return "strong" if margin >= 0.3 else "moderate" if margin >= 0.15 else "weak (close to the threshold)"


def agreement(maps: list[np.ndarray], size: int = 32) -> float | None:
    """Mean pairwise Spearman rank correlation of the maps (resampled to size x size)."""
    import cv2

    if len(maps) < 2:
        return None
    small = [cv2.resize(np.asarray(m, np.float32), (size, size), interpolation=cv2.INTER_AREA).ravel() for m in maps]
    # A constant map (a dead ReLU'd CAM) has no ranking: it is left out rather than counted as agreement.
    small = [m for m in small if np.ptp(m) > 0]
    rhos = [spearmanr(a, b).statistic for i, a in enumerate(small) for b in small[i + 1:]]
    rhos = [r for r in rhos if np.isfinite(r)]
    return round(float(np.mean(rhos)), 3) if rhos else None


def summarize_face(label: str, score: float, threshold: float, evidence: list[MethodEvidence],
                   landmarks: np.ndarray | None) -> tuple[str, dict]:
    """Sentences about one face and the facts behind them."""
    facts: dict = {"label": label, "score": round(score, 4), "threshold": round(threshold, 4),
                   "confidence": confidence(score, threshold)}
    text = [f"The face is classified {label} with a fake probability of {score:.2f} against a threshold of "
            f"{threshold:.2f}: {facts['confidence']} evidence."]
    if not evidence:
        return " ".join(text), facts
    ranked = sorted(evidence, key=lambda e: -(e.faithfulness_gain if e.faithfulness_gain is not None else -9))
    top = ranked[0]
    facts["top_method"] = top.method
    if landmarks is not None:
        per_method = {e.method: region_shares(e.map, landmarks) for e in evidence}
        facts["regions"] = per_method
        r = per_method[top.method]
        first, second = r[0], r[1]
        text.append(f"{_upper_first(display_name(top.method))} puts {first['mass']:.0%} of its positive "
                    f"evidence on the {first['region']} ({first['area']:.0%} of the crop, {first['lift']:.1f}x its "
                    f"share of area), then {second['mass']:.0%} on the {second['region']}.")
        leaders = [rs[0]["region"] for rs in per_method.values()]
        common = max(set(leaders), key=leaders.count)
        if len(evidence) > 1:
            text.append(f"{leaders.count(common)} of {len(evidence)} methods put the most evidence on the {common}.")
    rho = agreement([e.map for e in evidence])
    if rho is not None:
        facts["agreement_spearman"] = rho
        word = "agree" if rho >= 0.4 else "partly agree" if rho >= 0.15 else "disagree"
        text.append(f"The methods {word} on where the evidence is (mean rank correlation {rho:.2f}).")
    if top.faithfulness_gain is not None:
        rnd = top.baselines["random"]
        facts["faithfulness"] = {e.method: {"deletion_auc": e.deletion_auc, "insertion_auc": e.insertion_auc,
                                            "random": e.baselines.get("random")} for e in evidence}
        name = display_name(top.method)
        deletion = (f"deletion AUC {top.deletion_auc:.2f} vs {rnd['deletion_auc']:.2f} for a random map, "
                    f"lower is better")
        insertion = f"insertion AUC {top.insertion_auc:.2f} vs {rnd['insertion_auc']:.2f}, higher is better"
        del_ok, ins_ok = top.deletion_auc < rnd["deletion_auc"], top.insertion_auc > rnd["insertion_auc"]
        if del_ok and ins_ok:
            # Ratios of the areas: how many times better than chance, in words a reader can weigh.
            d_ratio = rnd["deletion_auc"] / max(top.deletion_auc, 1e-6)
            i_ratio = top.insertion_auc / max(rnd["insertion_auc"], 1e-6)
            facts["faithfulness_ratios"] = {"deletion": round(d_ratio, 2), "insertion": round(i_ratio, 2)}
            text.append(f"{_upper_first(name)} passes both faithfulness tests: hiding the face patches it marks first "
                        f"lowers the verdict's probability {d_ratio:.1f} times better than hiding random patches "
                        f"({deletion}), and showing them first restores it {i_ratio:.1f} times better ({insertion}).")
        elif del_ok or ins_ok:
            good, bad = (deletion, insertion) if del_ok else (insertion, deletion)
            text.append(f"The most faithful map, {name}, beats a random map on one test ({good}) but not on the "
                        f"other ({bad}): treat its map as partial evidence.")
        else:
            text.append(f"No map beat a random one on the faithfulness tests (best: {name}; {deletion}; {insertion}): "
                        f"read the maps with caution.")
    return " ".join(text), facts


def summarize_windows(windows: list[dict], threshold: float, shap: list[tuple[list[float], float]] | None = None,
                      target: str = "fake") -> tuple[str, dict]:
    """Sentences about which time windows of a video drove its verdict (window scores, and SHAP if given)."""
    if not windows:
        return "", {}
    above = [w for w in windows if w["score"] >= threshold]
    peak = max(windows, key=lambda w: w["score"])
    text = [f"The frame model scores {len(above)} of {len(windows)} windows at or above the threshold; the most "
            f"suspicious is {peak['start']:.1f}-{peak['end']:.1f} s ({peak['score']:.2f})."]
    facts = {"windows_above": len(above), "windows": len(windows), "peak_window": peak}
    if shap:
        best = sorted(shap, key=lambda s: -s[1])[:2]
        facts["shap_top_windows"] = [{"start": span[0], "end": span[1], "shap": round(v, 4)} for span, v in best]
        spans = " and ".join(f"{s[0]:.1f}-{s[1]:.1f} s ({v:+.2f})" for s, v in best)
        text.append(f"SHAP over windows: {spans} moved the verdict most towards {target}.")
    return " ".join(text), facts
