"""Shortcut checks: how far sharpness and JPEG quality alone separate real from fake, per source.

Sources differ in sharpness and compression in both directions (faces-simswap's and
faces-diffusion's fakes are sharper than their reals, DFDC's softer), so a detector can learn
"sharp means fake" on one and fail on another. `shortcut_baseline` fits a logistic regression on
those two numbers (train split) and reports its AUROC (held-out split): the model must beat it.
`matched_auroc` scores a model on a sharpness-matched subset (both classes drawn in equal numbers
from each sharpness bin), where sharpness carries no label.
"""

from __future__ import annotations

import cv2
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

# The IJG (libjpeg) luminance quantisation table at quality 50, row-major.
_IJG_LUMA = np.array([16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
                      14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
                      92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.float64)


def laplacian_variance(rgb: np.ndarray, size: int = 224) -> float:
    """Variance of the Laplacian of the grey picture resized to size x size (the usual sharpness measure)."""
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    grey = cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA if grey.shape[0] > size else cv2.INTER_LINEAR)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def jpeg_quality(path: str) -> float:
    """The IJG quality (1-100) whose luminance table is nearest the file's; 100 for files that are not JPEG."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            tables = getattr(im, "quantization", None)
    except Exception:  # noqa: BLE001 - unreadable files carry no compression cue
        return 100.0
    if not tables:
        return 100.0
    luma = np.array(tables[min(tables)], np.float64)
    best, best_err = 100.0, np.inf
    for q in range(1, 101):
        s = 5000 / q if q < 50 else 200 - 2 * q
        table = np.clip(np.floor((_IJG_LUMA * s + 50) / 100), 1, 255)
        err = np.abs(np.sort(table) - np.sort(luma)).mean()  # sorted: zigzag or row order alike
        if err < best_err:
            best, best_err = float(q), err
    return best


def shortcut_features(crops: np.ndarray, paths: list[str]) -> np.ndarray:
    """(N, 2): log(1 + Laplacian variance) of each face crop, and the JPEG quality of its file."""
    return np.array([[np.log1p(laplacian_variance(c)), jpeg_quality(p)] for c, p in zip(crops, paths)])


def shortcut_baseline(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> float | None:
    """AUROC on the test part of a logistic regression on the shortcut features, fitted on the train part."""
    if len(np.unique(y_train)) < 2 or len(np.unique(y_test)) < 2:
        return None
    clf = make_pipeline(StandardScaler(), LogisticRegression()).fit(x_train, y_train)
    return float(roc_auc_score(y_test, clf.predict_proba(x_test)[:, 1]))


def matched_subset(sharpness: np.ndarray, y: np.ndarray, bins: int = 8, seed: int = 0) -> np.ndarray:
    """Indices of a subset where both classes have the same sharpness distribution: in each quantile
    bin of sharpness, as many reals as fakes (drawn at random)."""
    rng = np.random.default_rng(seed)
    edges = np.quantile(sharpness, np.linspace(0, 1, bins + 1)[1:-1])
    which = np.digitize(sharpness, edges)
    keep = []
    for b in range(bins):
        real, fake = np.flatnonzero((which == b) & (y == 0)), np.flatnonzero((which == b) & (y == 1))
        n = min(len(real), len(fake))
        keep += list(rng.choice(real, n, replace=False)) + list(rng.choice(fake, n, replace=False))
    return np.sort(np.array(keep, np.int64))


def matched_auroc(scores: np.ndarray, sharpness: np.ndarray, y: np.ndarray, bins: int = 8) -> tuple[float | None, int]:
    """(AUROC of `scores` on the sharpness-matched subset, its size)."""
    idx = matched_subset(sharpness, y, bins)
    if len(idx) < 4 or len(np.unique(y[idx])) < 2:
        return None, int(len(idx))
    return float(roc_auc_score(y[idx], scores[idx])), int(len(idx))
