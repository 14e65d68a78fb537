"""Binary metrics for 'fake' as the positive class, from scikit-learn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn import metrics as skm


def binary_metrics(labels, scores, threshold: float = 0.5) -> dict:
    """Accuracy, precision, recall, F1 at `threshold`; AUROC (None with one class); confusion [[TN, FP], [FN, TP]]."""
    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    pred = (s >= threshold).astype(int)
    two_classes = len(np.unique(y)) == 2
    return {
        "n": int(len(y)),
        "n_fake": int(y.sum()),
        "accuracy": float(skm.accuracy_score(y, pred)),
        "precision": float(skm.precision_score(y, pred, zero_division=0)),
        "recall": float(skm.recall_score(y, pred, zero_division=0)),
        "f1": float(skm.f1_score(y, pred, zero_division=0)),
        "auroc": float(skm.roc_auc_score(y, s)) if two_classes else None,
        "false_positive_rate": float(((pred == 1) & (y == 0)).sum() / max(1, (y == 0).sum())),
        "confusion": skm.confusion_matrix(y, pred, labels=[0, 1]).tolist(),
        "threshold": float(threshold),
    }


def best_threshold(labels, scores) -> float:
    """The threshold maximising Youden's J (TPR - FPR) on a validation set."""
    fpr, tpr, thr = skm.roc_curve(np.asarray(labels, int), np.asarray(scores, float))
    t = float(thr[np.argmax(tpr - fpr)])
    return float(min(max(t, 1e-6), 1 - 1e-6))


def plot_roc(curves: dict[str, tuple], path: str | Path, title: str = "ROC") -> None:
    """curves: name -> (labels, scores). Sources with a single class are skipped."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    for name, (y, s) in curves.items():
        if len(np.unique(y)) < 2:
            continue
        fpr, tpr, _ = skm.roc_curve(y, s)
        ax.plot(fpr, tpr, label=f"{name} (AUROC {skm.roc_auc_score(y, s):.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def bootstrap_auroc(labels, scores, groups=None, n: int = 1000, seed: int = 0) -> tuple[float, float] | None:
    """95% interval of the AUROC by the bootstrap, resampling whole groups (pictures of one video or
    identity move together) when `groups` is given. None when a class is missing."""
    y, s = np.asarray(labels, int), np.asarray(scores, float)
    if len(np.unique(y)) < 2:
        return None
    g = np.asarray(groups) if groups is not None else np.arange(len(y))
    names, inverse = np.unique(g, return_inverse=True)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n):
        # A group drawn k times weighs k: the same as repeating its pictures, without copying them.
        w = np.bincount(rng.integers(0, len(names), len(names)), minlength=len(names))[inverse]
        if (w[y == 0].sum() > 0) and (w[y == 1].sum() > 0):
            values.append(skm.roc_auc_score(y, s, sample_weight=w))
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)
