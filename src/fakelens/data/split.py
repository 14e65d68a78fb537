"""Stratified, group-aware splits: no group ever straddles train, validation and test."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from fakelens.data.datasets import Sample
from fakelens.errors import InputError


def _strata(samples: list[Sample]) -> np.ndarray:
    # Stratify on source and label together, so every source keeps its class balance in every split.
    return np.array([f"{s.source}:{s.label}" for s in samples])


def check_splittable(samples: list[Sample], parts: int) -> None:
    """InputError (one line, with the numbers) where the data cannot be cut into `parts` group-disjoint
    parts: sklearn's conditions, checked before any work and named in the data's terms."""
    groups = len({s.group for s in samples})
    largest = max(np.unique(_strata(samples), return_counts=True)[1], default=0)
    if min(len(samples), groups, largest) < parts:
        sources = ", ".join(sorted({s.source for s in samples})) or "the data"
        raise InputError(f"too few samples in {sources} for a split into {parts} parts: {len(samples)} samples, "
                         f"{groups} groups, at most {largest} of one source and class (each needs at least {parts})")


def group_split(samples: list[Sample], ratios: tuple[int, int, int] = (4, 1, 1), seed: int = 0) -> dict[str, list[int]]:
    """Indices for train/val/test in proportion `ratios` (integers, like 4:1:1)."""
    n_folds = sum(ratios)
    check_splittable(samples, n_folds)
    groups = np.array([s.group for s in samples])
    folds = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    fold_of = np.empty(len(samples), dtype=int)
    for k, (_, idx) in enumerate(folds.split(np.zeros(len(samples)), _strata(samples), groups)):
        fold_of[idx] = k
    train_n, val_n, _ = ratios
    names = np.where(fold_of < train_n, "train", np.where(fold_of < train_n + val_n, "val", "test"))
    return {name: np.flatnonzero(names == name).tolist() for name in ("train", "val", "test")}


def group_kfold(samples: list[Sample], k: int, seed: int = 0) -> list[dict[str, list[int]]]:
    """k folds: each fold's test part is one group-disjoint k-th; a further k-th of the rest is validation."""
    check_splittable(samples, k)
    groups = np.array([s.group for s in samples])
    strata = _strata(samples)
    outer = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    out = []
    for rest, test in outer.split(np.zeros(len(samples)), strata, groups):
        inner = StratifiedGroupKFold(n_splits=k - 1 if k > 2 else 2, shuffle=True, random_state=seed)
        tr, va = next(inner.split(np.zeros(len(rest)), strata[rest], groups[rest]))
        out.append({"train": rest[tr].tolist(), "val": rest[va].tolist(), "test": test.tolist()})
    return out
