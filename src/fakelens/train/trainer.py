"""The training loop (seed 001's head on an EfficientNet-Lite backbone, made practical on a CPU).

1. Crop every face once (the inference detector and crop code) into a cache; clips in the data
   folders add the faces of sampled frames (fakelens.data.frames), grouped as their clip.
2. Warm up the head on frozen, cached backbone features (seconds, not minutes).
3. Fine-tune end to end (optionally freezing the first blocks): sources and classes sampled evenly,
   self-blended fakes (SBI), the same degradations (blur, sharpening, resizing, JPEG) for both
   classes, a second logit for the kind of fake (face swap or synthetic); AdamW with a cosine
   schedule; every epoch's weights kept; resumable from `last.pt`; history saved and plotted.
4. Choose on the validation split only: the epochs to average (a greedy model soup by mean
   per-source AUROC) and the decision threshold (false positives at most `max_fpr` on every real
   source). Then score the test split once, as `fakelens analyze` scores it.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, WeightedRandomSampler
from tqdm import tqdm

from fakelens.data import group_kfold, group_split
from fakelens.data.cache import build_caches
from fakelens.data.datasets import Sample
from fakelens.data.samples import training_samples
from fakelens.data.sbi import SBIConfig
from fakelens.data.split import check_splittable
from fakelens.errors import InputError
from fakelens.metrics import binary_metrics
from fakelens.models import create_model, load_checkpoint, save_checkpoint
from fakelens.train.config import TrainConfig
from fakelens.train.dataset import KIND_TARGET, TrainViews, training_items
from fakelens.train.evaluate import evaluate_split


@dataclass
class TrainResult:
    checkpoint: Path
    history: list[dict]
    test: dict = field(default_factory=dict)
    threshold: float = 0.5


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _freeze(model: nn.Module, n_blocks: int) -> None:
    """Freeze the stem and the first n blocks of an EfficientNet-Lite backbone (no-op for others)."""
    net = getattr(model.backbone, "net", None)
    if net is None or n_blocks <= 0:
        return
    for m in [net._conv_stem, net._bn0, *net._blocks[:n_blocks]]:
        for p in m.parameters():
            p.requires_grad_(False)


def _set_train(model: nn.Module) -> None:
    """Train mode, but BatchNorms whose weights are frozen keep their running statistics."""
    model.train()
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and not any(p.requires_grad for p in m.parameters()):
            m.eval()


def _loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, kind: torch.Tensor, weight: float) -> tuple:
    """BCE on the fake logit, plus (for fakes whose kind is known) BCE on the kind logit."""
    if getattr(model, "has_manipulation", False):
        both = model.both(x)
        logits = both[:, 0]
        loss = nn.functional.binary_cross_entropy_with_logits(logits, y)
        known = kind >= 0
        if known.any():
            loss = loss + weight * nn.functional.binary_cross_entropy_with_logits(both[known, 1], kind[known])
        return loss, logits
    logits = model(x)
    return nn.functional.binary_cross_entropy_with_logits(logits, y), logits


def _warm_up_head(model, cache, labels, kinds, items, cfg: TrainConfig) -> None:
    """Fit the head on pooled features of un-augmented crops from the frozen backbone."""
    if cfg.warmup_epochs <= 0:
        return
    model.eval()

    @torch.no_grad()
    def feats(its):
        ds = TrainViews(cache, labels, its, cfg.input_size, cfg.seed, train=False, kinds=kinds)
        out_x, out_y, out_k = [], [], []
        for x, y, k in DataLoader(ds, batch_size=64, num_workers=cfg.workers):
            out_x.append(model.features(x).mean((2, 3)))
            out_y.append(y)
            out_k.append(k)
        return torch.cat(out_x), torch.cat(out_y), torch.cat(out_k)

    fx, fy, fk = feats(items)
    head = model.head
    opt = torch.optim.Adam(head.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(cfg.seed)
    head.train()

    class _Head(nn.Module):  # the head as a model over pooled features, for the shared loss
        has_manipulation = getattr(model, "has_manipulation", False)

        def forward(self, f):
            return head(f)

        def both(self, f):
            return head.both(f)

    as_model = _Head()
    for _ in range(cfg.warmup_epochs * 4):  # features are cheap: several passes per warm-up epoch
        for b in torch.randperm(len(fx), generator=g).split(cfg.batch_size):
            if len(b) < 2:
                continue
            loss, _ = _loss(as_model, fx[b], fy[b], fk[b], cfg.manipulation_weight)
            opt.zero_grad()
            loss.backward()
            opt.step()


def _plot_history(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.5))
    a1.plot(ep, [h["train_acc"] for h in history], "o-", label="train accuracy")
    a1.plot(ep, [h["val_score"] for h in history], "o-", label="validation: mean per-source AUROC")
    a1.set(title="accuracy / AUROC", xlabel="epoch")
    a2.plot(ep, [h["train_loss"] for h in history], "o-", label="train")
    a2.plot(ep, [h["val_loss"] for h in history], "o-", label="validation")
    a2.set(title="loss", xlabel="epoch")
    for a in (a1, a2):
        a.legend()
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def load_samples(cfg: TrainConfig) -> list[Sample]:
    """The images of the data folders, plus the faces of `video_frames` frames per clip they hold."""
    samples = training_samples(cfg.data, cfg.sources, 0 if cfg.whole_image else cfg.video_frames, cfg.cache_dir,
                               cfg.face_detector, cfg.progress)
    if cfg.max_samples and len(samples) > cfg.max_samples:
        keep = np.random.default_rng(cfg.seed).choice(len(samples), cfg.max_samples, replace=False)
        samples = [samples[i] for i in sorted(keep)]
    # Here, not when the split is drawn: that comes after every face has been cropped.
    check_splittable(samples, cfg.folds if cfg.folds > 1 else sum(cfg.split))
    if len({s.label for s in samples}) < 2:
        raise InputError(f"training needs real and fake samples; {', '.join(sorted({s.source for s in samples}))} "
                         f"has only {'real' if samples[0].label == 0 else 'fake'} ones ({len(samples)})")
    return samples


def train(cfg: TrainConfig) -> TrainResult | list[TrainResult]:
    """Train per `cfg`; with `folds` > 1, one model per fold (returned as a list)."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    samples = load_samples(cfg)
    cache_dir = Path(cfg.cache_dir) if cfg.cache_dir else None
    # Training crops leave room for framing jitter; evaluation crops are analyze's own.
    cache, eval_cache = build_caches(samples, [int(round(cfg.input_size * 1.2)), cfg.input_size], cfg.crop_scale,
                                     cache_dir, progress=cfg.progress, face_detector=cfg.face_detector,
                                     whole_image=cfg.whole_image)
    # The split is drawn over every sample before anything is left out, so a leave-one-generator-out
    # run keeps the same test set as the full run.
    split_seed = cfg.seed if cfg.split_seed is None else cfg.split_seed
    splits = group_kfold(samples, cfg.folds, split_seed) if cfg.folds > 1 else [group_split(samples, cfg.split, split_seed)]
    results = []
    for k, split in enumerate(splits):
        out = Path(cfg.out) / f"fold{k}" if len(splits) > 1 else Path(cfg.out)
        results.append(_train_one(cfg, samples, cache, eval_cache, split, out))
    return results if cfg.folds > 1 else results[0]


def _sampling_weights(samples: list[Sample], items: list[tuple[int, bool]]) -> np.ndarray:
    """Sources and classes evened out, tempered: a (source, class) stratum of n views is drawn in
    proportion to sqrt(n), so small strata come up more often than their size says without a few
    dozen pictures (one data set's handful of clips) being repeated hundreds of times. Self-blended
    fakes are a stratum of their own."""
    keys = [(samples[i].source, "sbi" if blend else samples[i].label) for i, blend in items]
    counts: dict = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    return np.array([1.0 / np.sqrt(counts[k]) for k in keys])


def _validate(model, eval_cache, samples, idx: list[int]) -> tuple[dict, np.ndarray, np.ndarray]:
    """Per-source AUROC on validation (scored as analyze scores, with the flip), and the loss."""
    from fakelens.train.evaluate import score_samples

    idx = [i for i in idx if eval_cache.face_found[i]]
    y = np.array([samples[i].label for i in idx])
    p = score_samples(model, eval_cache, idx, flip=True)
    sources = np.array([samples[i].source for i in idx])
    per = {}
    for src in sorted(set(sources)):
        m = sources == src
        if len(np.unique(y[m])) == 2:
            per[src] = binary_metrics(y[m], p[m])["auroc"]
    loss = float(nn.functional.binary_cross_entropy(torch.tensor(p).clamp(1e-6, 1 - 1e-6), torch.tensor(y).float()))
    return {"val_loss": loss, "val_score": float(np.mean(list(per.values()))) if per else 0.0,
            **{f"val_auroc:{k}": v for k, v in per.items()}}, y, p


def calibrate_threshold(y: np.ndarray, p: np.ndarray, sources: np.ndarray, max_fpr: float) -> float:
    """The lowest threshold at which every real source keeps its false positive rate at or below `max_fpr`."""
    real = y == 0
    return float(max(np.quantile(p[real & (sources == s)], 1 - max_fpr, method="higher")
                     for s in sorted(set(sources[real]))))


def _average(paths: list[Path]) -> dict:
    states = [load_checkpoint(p)[0].state_dict() for p in paths]
    return {k: (sum(s[k] for s in states) / len(states)) if v.is_floating_point() else v
            for k, v in states[0].items()}


def greedy_soup(model: nn.Module, epochs: list[tuple[float, Path]], score) -> tuple[list[Path], float]:
    """Wortsman et al.'s greedy soup: epochs in order of validation score, each kept only when the
    average with it scores higher on validation. Leaves `model` holding the soup's weights."""
    ranked = sorted(epochs, key=lambda e: -e[0])
    chosen, best = [ranked[0][1]], ranked[0][0]
    for _, path in ranked[1:]:
        model.load_state_dict(_average(chosen + [path]))
        s = score(model)
        if s > best:
            chosen, best = chosen + [path], s
    model.load_state_dict(_average(chosen))
    return chosen, best


def _train_one(cfg: TrainConfig, samples, cache, eval_cache, split: dict, out: Path) -> TrainResult:
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    labels = np.array([s.label for s in samples])
    kinds = np.array([KIND_TARGET[s.manipulation] for s in samples], np.float32)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    (out / "split.json").write_text(json.dumps({k: [samples[i].path for i in v] for k, v in split.items()}))
    excluded = set(cfg.exclude_families or [])  # their fakes leave; the reals stay
    kept = lambda i: not (samples[i].label == 1 and samples[i].family in excluded)  # noqa: E731
    train_idx = [i for i in split["train"] if kept(i)]
    val_idx = [i for i in split["val"] if kept(i)]
    sbi = SBIConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg.sbi.items()})

    model = create_model(cfg.arch, pretrained=True, input_size=cfg.input_size, manipulation=cfg.manipulation)
    _freeze(model, cfg.freeze_blocks)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, cfg.epochs), eta_min=cfg.lr * 0.02)
    history: list[dict] = []
    start_epoch = 0
    last = out / "last.pt"
    if last.exists():  # resume
        state = torch.load(last, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        history, start_epoch = state["history"], state["epoch"] + 1
    else:
        warm_items = training_items(train_idx, labels, cache, cfg.sbi_ratio, np.random.default_rng(cfg.seed))
        _warm_up_head(model, cache, labels, kinds, warm_items, cfg)

    model = model.to(memory_format=torch.channels_last)  # 1.3-1.8x faster steps on this CPU (bench_train.py)
    # Enough to draw the same split again (fakelens.data.samples.model_split): data sources, clip frames, seed.
    meta = {"crop_scale": cfg.crop_scale, "sources": sorted({samples[i].source for i in train_idx}),
            "seed": cfg.seed if cfg.split_seed is None else cfg.split_seed, "train_seed": cfg.seed,
            "data_sources": cfg.sources, "video_frames": 0 if cfg.whole_image else cfg.video_frames,
            "split": list(cfg.split),
            "face_detector": "whole image" if cfg.whole_image else cfg.face_detector, "flip": True}
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.time()
        items = training_items(train_idx, labels, cache, cfg.sbi_ratio, np.random.default_rng((cfg.seed, epoch)))
        g = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
        size = cfg.epoch_size or len(items)
        sampler = (WeightedRandomSampler(_sampling_weights(samples, items), size, generator=g) if cfg.balance
                   else torch.utils.data.RandomSampler(items, num_samples=size, generator=g))
        loader = DataLoader(TrainViews(cache, labels, items, cfg.input_size, cfg.seed, epoch, kinds=kinds, sbi=sbi,
                                       degrade_p=cfg.degrade),
                            batch_size=cfg.batch_size, sampler=sampler, num_workers=cfg.workers, drop_last=True)
        _set_train(model)
        total, correct, loss_sum = 0, 0, 0.0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not cfg.progress, leave=False)
        for x, y, kind in bar:
            x = x.contiguous(memory_format=torch.channels_last)
            loss, logits = _loss(model, x, y, kind, cfg.manipulation_weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(y)
            correct += ((logits > 0).float() == y).sum().item()
            total += len(y)
            bar.set_postfix(loss=f"{loss_sum / total:.3f}", acc=f"{correct / total:.3f}")
        sched.step()
        val, _, _ = _validate(model, eval_cache, samples, val_idx)
        row = {"epoch": epoch + 1, "train_loss": loss_sum / max(total, 1), "train_acc": correct / max(total, 1),
               **val, "lr": opt.param_groups[0]["lr"], "seconds": time.time() - t0, "train_images": total}
        history.append(row)
        tqdm.write(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        save_checkpoint(model, out / f"epoch{epoch + 1:02d}.safetensors", {**meta, "epoch": epoch + 1})
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                    "history": history, "epoch": epoch}, last)
        (out / "history.json").write_text(json.dumps(history, indent=2))
        _plot_history(history, out / "history.png")

    # Choices, on validation only: the soup of epochs, then the threshold.
    epochs = [(h["val_score"], out / f"epoch{h['epoch']:02d}.safetensors") for h in history]
    best_model = create_model(cfg.arch, pretrained=False, input_size=cfg.input_size, manipulation=cfg.manipulation)
    if cfg.soup and len(epochs) > 1:
        score = lambda m: _validate(m, eval_cache, samples, val_idx)[0]["val_score"]  # noqa: E731
        chosen, val_score = greedy_soup(best_model, epochs, score)
    else:
        chosen = [max(epochs, key=lambda e: e[0])[1]]
        best_model.load_state_dict(_average(chosen))
    best_model.eval()
    val, vy, vp = _validate(best_model, eval_cache, samples, val_idx)
    val_sources = np.array([samples[i].source for i in val_idx if eval_cache.face_found[i]])
    threshold = calibrate_threshold(vy, vp, val_sources, cfg.max_fpr) if (vy == 0).any() else 0.5
    best_path = out / "best.safetensors"
    save_checkpoint(best_model, best_path, {**meta, "threshold": round(threshold, 4),
                                            "soup": [p.name for p in chosen], "val_score": round(val["val_score"], 4)})
    from fakelens.models.export import export_image_model

    export_image_model(best_path)  # the graph `fakelens analyze` runs
    (out / "choices.json").write_text(json.dumps({
        "soup": [p.name for p in chosen], "validation": val, "threshold": threshold,
        "threshold_rule": f"false positives <= {cfg.max_fpr:g} on every real source of the validation split"},
        indent=2))
    test = (evaluate_split(best_model, eval_cache, samples, split["test"], threshold, out, flip=True)
            if cfg.evaluate_test else {})
    return TrainResult(best_path, history, test, threshold)


__all__ = ["TrainConfig", "TrainResult", "calibrate_threshold", "greedy_soup", "load_samples", "train"]
