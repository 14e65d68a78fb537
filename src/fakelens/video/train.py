"""Train and cross-validate the video sequence models on cached per-frame features.

Per clip, the longest face track's crops go once through the frame encoder (the trained image
model) and their pooled backbone features are cached; self-blended copies of real clips (one
blend per clip, with a few flicker frames) add fakes made from reals. The frame model's head is
then fine-tuned on those video frames (and on the image sources, so it keeps what it learned on
stills), per cross-validation fold. Sequence models then train in seconds on the cache,
with temporal augmentation (random spans, speed, dropped frames, reversal) and classes balanced
by sampling reals more often (seed 002). Leave-one-group-out cross-validation compares seed 000's
models on the same clips: frame-average CNN, plain RNN and LSTM on raw frame features, and the
windowed CNN + LSTM.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from fakelens.data.cache import CACHE_VERSION, build_cache, cache_root
from fakelens.data.datasets import Sample, read_datasets
from fakelens.data.samples import model_split
from fakelens.data.sbi import self_blend
from fakelens.detector import Detector
from fakelens.errors import InputError
from fakelens.faces import FaceDetector, crop_faces, crop_landmarks
from fakelens.metrics.classification import binary_metrics
from fakelens.models.head import ClassifierHead
from fakelens.train.config import VideoTrainConfig
from fakelens.train.dataset import TrainViews, training_items
from fakelens.ops import sigmoid
from fakelens.video.decode import read_video
from fakelens.media import file_sha256
from fakelens.video.model import FrameEncoder, SequenceClassifier, head_outputs, save_sequence_model
from fakelens.video.track import detect_frames, link_tracks

# name -> SequenceClassifier options; None is the untrained frame-average baseline.
MODELS: dict[str, dict | None] = {
    "frame-average CNN": None,
    "RNN on frame features": dict(cell="rnn", window=1, stride=1),
    "LSTM on frame features": dict(cell="lstm", window=1, stride=1),
    "CNN + windowed LSTM (DeepExplain)": dict(cell="lstm", window=4, stride=2),
}
DEFAULT_MODEL_NAME = "CNN + windowed LSTM (DeepExplain)"


@dataclass
class ClipFeatures:
    """Cached frame features of one clip's main face track (or of a self-blended copy of it)."""

    name: str
    label: int
    group: str
    source: str
    times: np.ndarray  # (T,) seconds
    logits: np.ndarray  # (T,) frame-model logits
    feats: np.ndarray  # (T, D)
    synthetic: bool = False
    pooled: np.ndarray | None = None  # (T, C) pooled backbone features: what a frame head reads


def _crop_track(path: str, faces: FaceDetector, size: int, scale: float, num_frames: int):
    frames, _ = read_video(path, num_frames)
    detections = detect_frames(faces, frames)
    tracks = link_tracks([[d.box for d in ds] for ds in detections])
    if not tracks:
        return None
    crops = [crop_faces(frames[t].rgb, [detections[t][j]], size, scale)[0] for t, j in tracks[0].members]
    for c in crops:
        crop_landmarks(c)  # self-blended copies need them
    return np.array([frames[t].time for t, _ in tracks[0].members], np.float32), crops


def _blend_clip(crops, seed: int, flicker: float = 0.1) -> list[np.ndarray]:
    # One set of blend parameters for the whole clip (same rng seed each frame), except a few
    # flicker frames with their own: temporal inconsistency is a real face-swap trace.
    rng = np.random.default_rng((seed, 1))
    out = []
    for t, c in enumerate(crops):
        frame_seed = (seed, 2, t) if rng.random() < flicker else (seed, 3)
        out.append(self_blend(c.image, c.landmarks, np.random.default_rng(frame_seed)))
    return out


def build_feature_cache(samples: list[Sample], detector: Detector, num_frames: int = 64, sbi_copies: int = 2,
                        cache_dir: Path | None = None, seed: int = 0) -> list[ClipFeatures]:
    """Frame features of every clip (and `sbi_copies` self-blended copies of each real clip), cached on disk."""
    model_key = file_sha256(detector.path)[:12] if detector.path else detector.name
    root = Path(cache_dir or cache_root()) / "video-features" / model_key
    root.mkdir(parents=True, exist_ok=True)
    encoder = FrameEncoder(detector.model)
    faces = FaceDetector.for_video()
    clips: list[ClipFeatures] = []
    for s in tqdm(samples, desc="clip features", leave=False):
        key = hashlib.sha256(f"{CACHE_VERSION}|{Path(s.path).resolve()}|{num_frames}|{sbi_copies}|{seed}|{detector.input_size}|"
                             f"{detector.crop_scale}|pooled".encode()).hexdigest()[:20]
        file = root / f"{key}.npz"
        if not file.exists():
            found = _crop_track(s.path, faces, detector.input_size, detector.crop_scale, num_frames)
            arrays = {}
            if found is not None:
                times, crops = found
                variants = [[c.image for c in crops]]
                if s.label == 0:
                    variants += [_blend_clip(crops, seed * 1000 + k) for k in range(sbi_copies)]
                for v, images in enumerate(variants):
                    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div_(255)
                    with torch.no_grad():
                        pooled = torch.cat([encoder.pooled(x[i:i + 32]) for i in range(0, len(x), 32)])
                        y = head_outputs(encoder.head, pooled).numpy()
                    arrays[f"logits{v}"], arrays[f"feats{v}"] = y[:, 0], y[:, 1:].astype(np.float16)
                    arrays[f"pooled{v}"] = pooled.numpy().astype(np.float16)
                arrays["times"] = times
            np.savez(file, **arrays)
        data = np.load(file)
        if "times" not in data:
            continue  # no face in this clip
        v = 0
        while f"feats{v}" in data:
            clips.append(ClipFeatures(name=s.path if v == 0 else f"{s.path}#sbi{v}", label=1 if v else s.label,
                                      group=s.group, source=s.source, times=data["times"],
                                      logits=data[f"logits{v}"], feats=data[f"feats{v}"].astype(np.float32),
                                      synthetic=v > 0, pooled=data[f"pooled{v}"].astype(np.float32)))
            v += 1
    return clips


def image_head_data(detector: Detector, data: list[str], cache_dir: Path | None = None, seed: int = 0,
                    sbi_ratio: float = 0.5) -> tuple[np.ndarray, np.ndarray] | None:
    """Pooled backbone features and labels of the image model's own training split (`model_split`;
    one augmented view per face, plus self-blended fakes as in `fakelens train`), cached: the image
    half of the data the frame head is tuned on. Clip frames are left out (the clips are the other
    half, held out by their own folds). None when the folders hold no images."""
    try:
        samples, train_idx = model_split(data, detector.meta, "train", progress=False)
    except InputError:
        return None
    train_idx = [i for i in train_idx if not samples[i].source.endswith("-frames")]
    if not train_idx:
        return None
    model_key = file_sha256(detector.path)[:12] if detector.path else detector.name
    data_key = hashlib.sha256(json.dumps([seed, sbi_ratio, [s.path for s in samples]]).encode()).hexdigest()[:16]
    file = Path(cache_dir or cache_root()) / "video-features" / model_key / f"images-{data_key}.npz"
    if not file.exists():
        labels = np.array([s.label for s in samples])
        cache = build_cache(samples, int(round(detector.input_size * 1.2)), detector.crop_scale, progress=False)
        items = training_items(train_idx, labels, cache, sbi_ratio, np.random.default_rng(seed))
        views = DataLoader(TrainViews(cache, labels, items, detector.input_size, seed), batch_size=64)
        encoder, xs, ys = FrameEncoder(detector.model), [], []
        with torch.no_grad():
            for x, y, _ in tqdm(views, desc="image features", leave=False):
                xs.append(encoder.pooled(x).numpy().astype(np.float16))
                ys.append(y.numpy())
        file.parent.mkdir(parents=True, exist_ok=True)
        np.savez(file, x=np.concatenate(xs), y=np.concatenate(ys))
    arrays = np.load(file)
    return arrays["x"].astype(np.float32), arrays["y"].astype(np.float32)


def tune_frame_head(base: ClassifierHead, clips: list[ClipFeatures], images: tuple[np.ndarray, np.ndarray] | None,
                    cfg: VideoTrainConfig) -> ClassifierHead:
    """The image head fine-tuned on pooled features of the clips' face crops (each frame labelled as
    its clip; self-blended copies fake), classes balanced, half of each batch from the image
    training split so the head keeps what it learned on images. The backbone stays frozen:
    partial fine-tuning on cached features, minutes on a CPU instead of hours."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    head = copy.deepcopy(base).train()
    fx = np.concatenate([c.pooled for c in clips])
    fy = np.concatenate([np.full(len(c.pooled), c.label, np.float32) for c in clips])
    weights = np.where(fy == 1, 0.5 / max(1, fy.sum()), 0.5 / max(1, (fy == 0).sum()))
    weights /= weights.sum()
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.head_lr, weight_decay=1e-2)
    loss_fn = nn.BCEWithLogitsLoss()
    half = 64
    for _ in range(cfg.head_steps):
        pick = rng.choice(len(fx), size=half, p=weights)
        x, y = [fx[pick]], [fy[pick]]
        if images is not None:
            j = rng.integers(0, len(images[0]), half)
            x.append(images[0][j])
            y.append(images[1][j])
        loss = loss_fn(head(torch.from_numpy(np.concatenate(x))), torch.from_numpy(np.concatenate(y)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return head.eval()


@torch.no_grad()
def with_head(head: ClassifierHead, clips: list[ClipFeatures]) -> list[ClipFeatures]:
    """The clips' frame logits and features recomputed through `head`."""
    out = []
    for c in clips:
        y = head_outputs(head.eval(), torch.from_numpy(c.pooled)).numpy()
        out.append(replace(c, logits=y[:, 0], feats=y[:, 1:]))
    return out


def draw_sequence(clip: ClipFeatures, length: int, rng: np.random.Generator, augment: bool = True) -> np.ndarray:
    """`length` frame rows of a clip in time order: uniform over the clip, or with augmentation a random
    span at a random speed, some frames dropped, sometimes reversed."""
    n = len(clip.feats)
    if not augment:
        return np.round(np.linspace(0, n - 1, length)).astype(np.int64)
    span = int(rng.integers(max(2, n // 3), n + 1))
    start = int(rng.integers(0, n - span + 1))
    keep = np.sort(rng.choice(np.arange(start, start + span), size=max(2, int(span * rng.uniform(0.8, 1.0))),
                              replace=False))
    idx = keep[np.round(np.linspace(0, len(keep) - 1, length)).astype(np.int64)]
    return idx[::-1].copy() if rng.random() < 0.5 else idx


def fit_sequence_model(clips: list[ClipFeatures], options: dict, cfg: VideoTrainConfig) -> SequenceClassifier:
    """Train one sequence model on balanced, augmented sequences from `clips`."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    dim = clips[0].feats.shape[1]
    model = SequenceClassifier(feature_dim=dim, hidden=cfg.hidden, **options)
    reals = [c.feats for c in clips if c.label == 0 and not c.synthetic]
    if reals:
        model.reference.copy_(torch.from_numpy(np.concatenate(reals).mean(0)))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=5e-2)
    labels = np.array([c.label for c in clips])
    # Sample each class at the same rate (seed 002 samples real and fake videos at different rates).
    weights = np.where(labels == 1, 0.5 / max(1, labels.sum()), 0.5 / max(1, (labels == 0).sum()))
    weights /= weights.sum()
    loss_fn = nn.BCEWithLogitsLoss()
    model.train()
    for _ in range(cfg.steps):
        pick = rng.choice(len(clips), size=cfg.batch_size, p=weights)
        x = np.stack([clips[i].feats[draw_sequence(clips[i], cfg.seq_len, rng)] for i in pick])
        x += rng.normal(0, 0.05, x.shape).astype(np.float32) * x.std()
        # Smoothed targets keep the scores off 0 and 1: a few dozen clips cannot justify certainty.
        y = torch.from_numpy(labels[pick]).float() * (1 - cfg.label_smoothing) + cfg.label_smoothing / 2
        loss = loss_fn(model(torch.from_numpy(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@torch.no_grad()
def score_clip(model: SequenceClassifier | None, clip: ClipFeatures, length: int) -> float:
    """Probability of fake for one clip from `length` uniformly spread frames (as `fakelens analyze` samples)."""
    idx = draw_sequence(clip, length, np.random.default_rng(0), augment=False)
    if model is None:
        return float(sigmoid(clip.logits[idx]).mean())
    return float(torch.sigmoid(model(torch.from_numpy(clip.feats[idx])[None]))[0])


def cross_validate(clips: list[ClipFeatures], cfg: VideoTrainConfig, frame_threshold: float,
                   tune: Callable[[list[ClipFeatures]], ClassifierHead] | None = None) -> dict:
    """Leave-one-group-out scores of every model in MODELS on the real clips (synthetic copies only train).

    With `tune`, each fold first tunes a frame head on its training clips only (the held-out group's
    frames never reach the frame model either) and every model reads that head's features."""
    groups = sorted({c.group for c in clips})
    real_clips = [c for c in clips if not c.synthetic]
    scores = {name: {} for name in MODELS}
    for g in tqdm(groups, desc="cross-validation", leave=False):
        train = [c for c in clips if c.group != g]
        test = [c for c in real_clips if c.group == g]
        if not test:
            continue
        if tune is not None:
            head = tune(train)
            train, test = with_head(head, train), with_head(head, test)
        for name, options in MODELS.items():
            model = None if options is None else fit_sequence_model(train, {**options, **(
                {"window": cfg.window, "stride": cfg.stride} if options.get("window", 1) > 1 else {})}, cfg)
            for c in test:
                scores[name][c.name] = score_clip(model, c, cfg.seq_len)
    table = {}
    for name, per_clip in scores.items():
        thr = frame_threshold if MODELS[name] is None else 0.5
        rows = {}
        for source in sorted({c.source for c in real_clips}) + ["all"]:
            chosen = [c for c in real_clips if source in ("all", c.source) and c.name in per_clip]
            if chosen:
                rows[source] = binary_metrics([c.label for c in chosen], [per_clip[c.name] for c in chosen], thr)
        table[name] = rows
    return {"groups": len(groups), "models": table, "scores": scores}


def format_table(cv: dict) -> str:
    """Markdown table: model x source, accuracy, precision, recall, F1, AUROC, clips (real/fake)."""
    lines = ["| model | data | clips (real/fake) | accuracy | precision | recall | F1 | AUROC |",
             "|---|---|---|---|---|---|---|---|"]
    for name, rows in cv["models"].items():
        for source, m in rows.items():
            auroc = "-" if m["auroc"] is None else f"{m['auroc']:.3f}"
            lines.append(f"| {name} | {source} | {m['n']} ({m['n'] - m['n_fake']}/{m['n_fake']}) | {m['accuracy']:.3f} "
                         f"| {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {auroc} |")
    return "\n".join(lines)


def fit_calibration(cv: dict, clips: list[ClipFeatures], name: str = DEFAULT_MODEL_NAME) -> dict:
    """Platt scaling of the clip probability, fitted on the out-of-fold scores of `name`: label smoothing
    keeps the raw scores near 0.05 and 0.95 whatever the evidence; sigmoid(a * logit + b) is the
    probability the held-out clips support. Returns a, b and the Brier scores before and after."""
    from sklearn.linear_model import LogisticRegression

    labels = {c.name: c.label for c in clips if not c.synthetic}
    names = [n for n in cv["scores"][name] if n in labels]
    p = np.clip(np.array([cv["scores"][name][n] for n in names]), 1e-6, 1 - 1e-6)
    y = np.array([labels[n] for n in names])
    if len(np.unique(y)) < 2:
        return {}
    z = np.log(p / (1 - p))[:, None]
    fit = LogisticRegression(C=1.0).fit(z, y)
    a, b = float(fit.coef_[0, 0]), float(fit.intercept_[0])
    q = 1 / (1 + np.exp(-(a * z[:, 0] + b)))
    return {"a": round(a, 4), "b": round(b, 4), "clips": len(y), "brier_before": round(float(np.mean((p - y) ** 2)), 4),
            "brier_after": round(float(np.mean((q - y) ** 2)), 4),
            "note": "fitted on the same out-of-fold scores it is measured on: an optimistic estimate"}


def train_video(cfg: VideoTrainConfig) -> dict:
    """Cache clip features, cross-validate the four models, train the DeepExplain model on all clips and save it."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    samples = read_datasets(cfg.data, cfg.sources, kind="video")
    if not samples:
        raise InputError("no video clips found in the given data folders")
    detector = Detector.load(cfg.frame_model)
    t0 = time.time()
    clips = build_feature_cache(samples, detector, cfg.cache_frames, cfg.sbi_copies,
                                Path(cfg.cache_dir) if cfg.cache_dir else None, cfg.seed)
    report = {"config": asdict(cfg), "clips": len(samples), "clips_with_faces": sum(not c.synthetic for c in clips),
              "synthetic_fakes": sum(c.synthetic for c in clips), "feature_seconds": round(time.time() - t0, 1)}
    tune, frame_threshold = None, detector.threshold
    if cfg.tune_frames:
        images = image_head_data(detector, cfg.data, Path(cfg.cache_dir) if cfg.cache_dir else None, cfg.seed)
        report["image_faces_for_frame_head"] = 0 if images is None else len(images[0])
        tune = lambda train: tune_frame_head(detector.model.head, train, images, cfg)  # noqa: E731
        frame_threshold = 0.5  # the tuned head sees both classes equally often
    if cfg.cross_validate:
        t1 = time.time()
        cv = cross_validate(clips, cfg, frame_threshold, tune)
        report["cross_validation"] = {k: v for k, v in cv.items() if k != "scores"}
        report["cv_seconds"] = round(time.time() - t1, 1)
        (out / "cv_scores.json").write_text(json.dumps(cv["scores"], indent=1))
        (out / "cv_table.md").write_text(format_table(cv) + "\n")
        report["calibration"] = fit_calibration(cv, clips)
    t2 = time.time()
    head = tune(clips) if tune is not None else None
    model = fit_sequence_model(clips if head is None else with_head(head, clips),
                               {"cell": "lstm", "window": cfg.window, "stride": cfg.stride}, cfg)
    if head is not None:  # saved with the sequence model, in place of the image head when encoding frames
        model.frame_head = head
        model.config["frame_head"] = head.fc1.in_features
        model.config["frame_kind"] = head.fc_kind is not None
    report["train_seconds"] = round(time.time() - t2, 1)
    frame_path = Path(detector.path)
    meta = {"frame_model": frame_path.name, "frame_model_sha256": file_sha256(frame_path), "threshold": 0.5,
            "frame_threshold": frame_threshold, "num_frames": cfg.seq_len,
            "sources": sorted({s.source for s in samples}), "clips": len(samples)}
    if report.get("calibration"):  # the runtime maps the clip logit through it (fakelens.runtime.VideoModel)
        meta["calibration"] = [report["calibration"]["a"], report["calibration"]["b"]]
    save_sequence_model(model, out / "video.safetensors", meta)
    from fakelens.models.export import export_video_model

    export_video_model(out / "video.safetensors", frame_model=frame_path)  # the graph analysis runs
    (out / "report.json").write_text(json.dumps(report, indent=1))
    return report
