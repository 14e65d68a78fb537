"""Evaluate checkpoints on labelled data: per-source metrics, ROC curves, backbone comparison tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from fakelens.data import group_split, read_datasets
from fakelens.data.cache import CropCache, build_cache
from fakelens.metrics import binary_metrics, plot_roc
from fakelens.models import fake_probability, load_checkpoint
from fakelens.train.dataset import TrainViews


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, channels_last: bool = False, flip: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(labels, fake probabilities) over a loader."""
    model.eval()
    ys, ps = [], []
    for x, y in loader:
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        ps.append(fake_probability(model, x, flip).numpy())
        ys.append(y.numpy())
    return np.concatenate(ys), np.concatenate(ps)


def evaluate_split(model: nn.Module, cache: CropCache, samples, idx: list[int], threshold: float,
                   out: Path | None = None, flip: bool = False) -> dict:
    """Overall and per-source metrics on cached crops of samples[idx]; writes metrics.json and roc.png to `out`."""
    labels = np.array([s.label for s in samples])
    idx = [i for i in idx if cache.readable[i]]
    views = TrainViews(cache, labels, [(i, False) for i in idx], model.input_size, 0, train=False)
    y, p = predict(model, DataLoader(views, batch_size=64), flip=flip)
    sources = np.array([samples[i].source for i in idx])
    report = {"all": binary_metrics(y, p, threshold)}
    curves = {"all": (y, p)}
    for src in sorted(set(sources)):
        m = sources == src
        report[src] = binary_metrics(y[m], p[m], threshold)
        curves[src] = (y[m], p[m])
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "test_metrics.json").write_text(json.dumps(report, indent=2))
        plot_roc(curves, out / "roc.png", title="test split")
    return report


def evaluate(models: list[str | Path], data: list[str], sources: list[str] | None = None, split: str = "test",
             ratios: tuple[int, int, int] = (4, 1, 1), seed: int = 0, out: str | Path | None = None,
             cache_dir: str | None = None, progress: bool = True) -> dict[str, dict]:
    """Score each checkpoint on the same samples.

    `split`: 'test' (or 'val', 'train'): that part of the group-aware split `fakelens train`
    makes with the same data and seed; 'all': every sample (cross-dataset evaluation);
    or the path of a run's split.json (its test part).
    """
    samples = read_datasets(data, sources)
    if split == "all":
        idx = list(range(len(samples)))
    elif split in ("train", "val", "test"):
        idx = group_split(samples, ratios, seed)[split]
    else:  # a run's split.json: its test paths
        wanted = set(json.loads(Path(split).read_text())["test"])
        idx = [i for i, s in enumerate(samples) if s.path in wanted]
    results = {}
    caches: dict[tuple, CropCache] = {}
    for path in models:
        model, meta = load_checkpoint(path)
        key = (int(round(model.input_size * 1.2)), float(meta.get("crop_scale", 1.3)))
        if key not in caches:
            caches[key] = build_cache(samples, *key, Path(cache_dir) if cache_dir else None, progress=progress)
        sub = Path(out) / Path(path).stem if out and len(models) > 1 else (Path(out) if out else None)
        results[str(path)] = evaluate_split(model, caches[key], samples, idx, float(meta.get("threshold", 0.5)), sub,
                                            flip=bool(meta.get("flip", False)))
    return results
