"""The training loop (seed 001's recipe on an EfficientNet-Lite backbone, made practical on a CPU).

1. Crop every face once (dlib, the inference crop code) into a cache.
2. Warm up the head on frozen, cached backbone features (seconds, not minutes).
3. Fine-tune end to end (optionally freezing the first blocks) with augmentation and
   self-blended fakes; Adam; ReduceLROnPlateau on validation loss (factor 0.2,
   patience 3, min_delta 1e-3); keep the checkpoint with the best validation loss;
   resumable from `last.pt`; history saved as JSON and plotted.
4. Score the test split per source with the best checkpoint.
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
from torch.utils.data import DataLoader
from tqdm import tqdm

from fakelens.data import group_kfold, group_split, read_datasets
from fakelens.data.cache import build_cache
from fakelens.metrics import best_threshold, binary_metrics
from fakelens.models import create_model, load_checkpoint, save_checkpoint
from fakelens.train.dataset import TrainViews, training_items
from fakelens.train.evaluate import evaluate_split, predict


@dataclass
class TrainConfig:
    """Everything that defines a training run; saved beside the checkpoint."""

    data: list[str]
    out: str = "runs/default"
    sources: list[str] | None = None
    arch: str = "efficientnet-lite0"
    input_size: int = 160
    crop_scale: float = 1.3
    epochs: int = 10
    batch_size: int = 32
    lr: float = 3e-4
    weight_decay: float = 0.0
    warmup_epochs: int = 5
    freeze_blocks: int = 0
    sbi_ratio: float = 0.5
    split: tuple[int, int, int] = (4, 1, 1)
    folds: int = 0
    seed: int = 0
    workers: int = 0
    threads: int | None = None
    early_stop: int = 6
    max_samples: int | None = None
    cache_dir: str | None = None
    progress: bool = True
    face_detector: str = "blazeface"
    whole_image: bool = False  # every picture is already a face crop (as analyze --whole-image)


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


def _warm_up_head(model, cache, labels, items, cfg: TrainConfig) -> None:
    """Fit the head on pooled features of un-augmented crops from the frozen backbone."""
    if cfg.warmup_epochs <= 0:
        return
    model.eval()

    @torch.no_grad()
    def feats(its):
        ds = TrainViews(cache, labels, its, cfg.input_size, cfg.seed, train=False)
        out_x, out_y = [], []
        for x, y in DataLoader(ds, batch_size=64, num_workers=cfg.workers):
            out_x.append(model.features(x).mean((2, 3)))
            out_y.append(y)
        return torch.cat(out_x), torch.cat(out_y)

    fx, fy = feats(items)
    head = model.head
    opt = torch.optim.Adam(head.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(cfg.seed)
    head.train()
    for _ in range(cfg.warmup_epochs * 4):  # features are cheap: several passes per warm-up epoch
        for b in torch.randperm(len(fx), generator=g).split(cfg.batch_size):
            if len(b) < 2:
                continue
            loss = nn.functional.binary_cross_entropy_with_logits(head(fx[b]), fy[b])
            opt.zero_grad()
            loss.backward()
            opt.step()


def _per_source_auroc(y: np.ndarray, p: np.ndarray, sources: list[str]) -> dict:
    src = np.array(sources)
    out = {}
    for name in sorted(set(sources)):
        m = src == name
        if len(np.unique(y[m])) == 2:
            out[f"val_auroc:{name}"] = binary_metrics(y[m], p[m])["auroc"]
    return out


def _plot_history(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.5))
    a1.plot(ep, [h["train_acc"] for h in history], "o-", label="train")
    a1.plot(ep, [h["val_acc"] for h in history], "o-", label="validation")
    a1.set(title="accuracy", xlabel="epoch")
    a2.plot(ep, [h["train_loss"] for h in history], "o-", label="train")
    a2.plot(ep, [h["val_loss"] for h in history], "o-", label="validation")
    a2.set(title="loss", xlabel="epoch")
    for a in (a1, a2):
        a.legend()
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def train(cfg: TrainConfig) -> TrainResult | list[TrainResult]:
    """Train per `cfg`; with `folds` > 1, one model per fold (returned as a list)."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    samples = read_datasets(cfg.data, cfg.sources)
    if cfg.max_samples and len(samples) > cfg.max_samples:
        keep = np.random.default_rng(cfg.seed).choice(len(samples), cfg.max_samples, replace=False)
        samples = [samples[i] for i in sorted(keep)]
    cache_size = int(round(cfg.input_size * 1.2))
    cache = build_cache(samples, cache_size, cfg.crop_scale, Path(cfg.cache_dir) if cfg.cache_dir else None,
                        progress=cfg.progress, face_detector=cfg.face_detector, whole_image=cfg.whole_image)
    splits = group_kfold(samples, cfg.folds, cfg.seed) if cfg.folds > 1 else [group_split(samples, cfg.split, cfg.seed)]
    results = []
    for k, split in enumerate(splits):
        out = Path(cfg.out) / f"fold{k}" if len(splits) > 1 else Path(cfg.out)
        results.append(_train_one(cfg, samples, cache, split, out))
    return results if cfg.folds > 1 else results[0]


def _train_one(cfg: TrainConfig, samples, cache, split: dict, out: Path) -> TrainResult:
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    labels = np.array([s.label for s in samples])
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    (out / "split.json").write_text(json.dumps({k: [samples[i].path for i in v] for k, v in split.items()}))

    model = create_model(cfg.arch, pretrained=True, input_size=cfg.input_size)
    _freeze(model, cfg.freeze_blocks)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.2, patience=3,
                                                       threshold=1e-3, threshold_mode="abs")
    val_items = [(i, False) for i in split["val"] if cache.face_found[i]]
    val_loader = DataLoader(TrainViews(cache, labels, val_items, cfg.input_size, cfg.seed, train=False),
                            batch_size=64, num_workers=cfg.workers)
    history: list[dict] = []
    best_loss, start_epoch = float("inf"), 0
    last = out / "last.pt"
    if last.exists():  # resume
        state = torch.load(last, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        history, best_loss, start_epoch = state["history"], state["best_loss"], state["epoch"] + 1
    else:
        warm_items = training_items(split["train"], labels, cache, cfg.sbi_ratio, np.random.default_rng(cfg.seed))
        _warm_up_head(model, cache, labels, warm_items, cfg)

    model = model.to(memory_format=torch.channels_last)  # 1.3-1.8x faster steps on this CPU (bench_train.py)
    best_path = out / "best.safetensors"
    meta = {"crop_scale": cfg.crop_scale, "sources": sorted({s.source for s in samples}), "seed": cfg.seed,
            "face_detector": "whole image" if cfg.whole_image else cfg.face_detector}
    stale = 0
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.time()
        items = training_items(split["train"], labels, cache, cfg.sbi_ratio, np.random.default_rng((cfg.seed, epoch)))
        g = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
        loader = DataLoader(TrainViews(cache, labels, items, cfg.input_size, cfg.seed, epoch), batch_size=cfg.batch_size,
                            shuffle=True, generator=g, num_workers=cfg.workers, drop_last=True)
        _set_train(model)
        total, correct, loss_sum = 0, 0, 0.0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not cfg.progress, leave=False)
        for x, y in bar:
            x = x.contiguous(memory_format=torch.channels_last)
            logits = model(x)
            loss = nn.functional.binary_cross_entropy_with_logits(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(y)
            correct += ((logits > 0).float() == y).sum().item()
            total += len(y)
            bar.set_postfix(loss=f"{loss_sum / total:.3f}", acc=f"{correct / total:.3f}")
        vy, vp = predict(model, val_loader, channels_last=True)
        val_loss = float(nn.functional.binary_cross_entropy(torch.tensor(vp).clamp(1e-7, 1 - 1e-7), torch.tensor(vy)))
        vm = binary_metrics(vy, vp)
        sched.step(val_loss)
        row = {"epoch": epoch + 1, "train_loss": loss_sum / max(total, 1), "train_acc": correct / max(total, 1),
               "val_loss": val_loss, "val_acc": vm["accuracy"], "val_auroc": vm["auroc"],
               **_per_source_auroc(vy, vp, [samples[i].source for i, _ in val_items]),
               "lr": opt.param_groups[0]["lr"], "seconds": time.time() - t0, "train_images": total}
        history.append(row)
        tqdm.write(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        if val_loss < best_loss:
            best_loss, stale = val_loss, 0
            save_checkpoint(model, best_path, {**meta, "threshold": best_threshold(vy, vp) if vm["auroc"] else 0.5,
                                               "epoch": epoch + 1, "val_loss": val_loss})
        else:
            stale += 1
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                    "history": history, "best_loss": best_loss, "epoch": epoch}, last)
        (out / "history.json").write_text(json.dumps(history, indent=2))
        _plot_history(history, out / "history.png")
        if stale >= cfg.early_stop:
            break

    best, best_meta = load_checkpoint(best_path)
    eval_cache = build_cache(samples, cfg.input_size, cfg.crop_scale, Path(cfg.cache_dir) if cfg.cache_dir else None,
                             progress=cfg.progress, face_detector=cfg.face_detector, whole_image=cfg.whole_image)
    test = evaluate_split(best, eval_cache, samples, split["test"], best_meta.get("threshold", 0.5), out)
    return TrainResult(best_path, history, test, best_meta.get("threshold", 0.5))
