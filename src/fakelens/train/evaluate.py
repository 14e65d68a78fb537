"""Evaluate checkpoints on labelled data: per-source metrics, ROC curves, backbone comparison tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from fakelens.data import read_datasets
from fakelens.data.cache import CropCache, build_cache
from fakelens.data.samples import model_split
from fakelens.metrics import binary_metrics, plot_roc
from fakelens.models import fake_probability, load_checkpoint
from fakelens.runtime import read_meta


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, channels_last: bool = False, flip: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(labels, fake probabilities) over a loader."""
    model.eval()
    ys, ps = [], []
    for x, y, *_ in loader:
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        ps.append(fake_probability(model, x, flip).numpy())
        ys.append(y.numpy())
    return np.concatenate(ys), np.concatenate(ps)


@torch.no_grad()
def score_samples(model: nn.Module, cache: CropCache, idx: list[int], flip: bool = False,
                  batch_size: int = 64) -> np.ndarray:
    """Each sample's score as `fakelens analyze` gives it: the most suspicious of its faces (crops cut
    at the model's input size, test-time flip as the checkpoint says); NaN where no face was found."""
    model.eval()
    faces = [cache.faces_of(i) for i in idx]
    flat = np.concatenate(faces) if faces else np.zeros(0, np.int64)
    probs = np.zeros(len(flat), np.float32)
    for b in range(0, len(flat), batch_size):
        x = torch.from_numpy(np.stack([np.asarray(cache.crops[j]) for j in flat[b:b + batch_size]]))
        probs[b:b + batch_size] = fake_probability(model, x.permute(0, 3, 1, 2).float().div_(255), flip).numpy()
    out, k = np.full(len(idx), np.nan, np.float32), 0
    for n, f in enumerate(faces):
        if len(f):
            out[n] = probs[k:k + len(f)].max()
        k += len(f)
    return out


def evaluate_split(model: nn.Module, cache: CropCache, samples, idx: list[int], threshold: float,
                   out: Path | None = None, flip: bool = False) -> dict:
    """Overall and per-source metrics on samples[idx], scored as `fakelens analyze` scores them
    (`cache` cut at the model's input size). A picture where no face is found is what analyze calls
    `no_face`: never flagged, so it counts as a score of 0 (a missed fake, a correct real), and
    `no_face` says how many there were. Writes test_metrics.json and roc.png to `out`."""
    idx = [i for i in idx if cache.readable[i]]
    y = np.array([samples[i].label for i in idx])
    p = score_samples(model, cache, idx, flip)
    missing = np.isnan(p)
    p = np.where(missing, 0.0, p)
    sources = np.array([samples[i].source for i in idx])
    report = {"all": {**binary_metrics(y, p, threshold), "no_face": int(missing.sum())}}
    curves = {"all": (y, p)}
    for src in sorted(set(sources)):
        m = sources == src
        report[src] = {**binary_metrics(y[m], p[m], threshold), "no_face": int(missing[m].sum())}
        curves[src] = (y[m], p[m])
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "test_metrics.json").write_text(json.dumps(report, indent=2))
        plot_roc(curves, out / "roc.png", title="test split")
    return report


def evaluate(models: list[str | Path], data: list[str], sources: list[str] | None = None, split: str = "test",
             seed: int | None = None, out: str | Path | None = None,
             cache_dir: str | None = None, progress: bool = True, face_detector: str = "blazeface",
             whole_image: bool = False) -> dict[str, dict]:
    """Score each checkpoint on the same samples.

    `split`: 'test' (or 'val', 'train'): that part of the split the first model's training run drew
    (its samples, clip frames included, and its seed unless `seed` is given; `model_split`), then
    `sources` only; 'all': every sample (cross-dataset evaluation); or the path of a run's split.json
    (its test part).
    """
    if split in ("train", "val", "test"):
        samples, idx = model_split(data, read_meta(models[0]), split, seed, progress)
        idx = [i for i in idx if not sources or samples[i].source in sources]
    else:
        samples = read_datasets(data, sources)
        if split == "all":
            idx = list(range(len(samples)))
        else:  # a run's split.json: its test paths
            wanted = set(json.loads(Path(split).read_text())["test"])
            idx = [i for i, s in enumerate(samples) if s.path in wanted]
    results = {}
    caches: dict[tuple, CropCache] = {}
    for path in models:
        model, meta = load_checkpoint(path)
        key = (int(model.input_size), float(meta.get("crop_scale", 1.3)))  # analyze's crops, not training's
        if key not in caches:
            caches[key] = build_cache(samples, *key, Path(cache_dir) if cache_dir else None, progress=progress,
                                      face_detector=face_detector, whole_image=whole_image)
        sub = Path(out) / Path(path).stem if out and len(models) > 1 else (Path(out) if out else None)
        results[str(path)] = evaluate_split(model, caches[key], samples, idx, float(meta.get("threshold", 0.5)), sub,
                                            flip=bool(meta.get("flip", False)))
    return results
