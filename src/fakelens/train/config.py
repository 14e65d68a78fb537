"""The settings of a training run, shared by image and video training and by the CLI's defaults
(no torch here: `fakelens --help` reads the defaults from these classes)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RunConfig:
    """What every training run has: its data, where it writes, its seed, its optimiser's basics."""

    data: list[str]
    out: str = "runs/default"
    sources: list[str] | None = None  # only these sources of the data folders
    seed: int = 0
    batch_size: int = 32
    lr: float = 3e-4
    cache_dir: str | None = None  # default: the user cache (FAKELENS_CACHE_DIR)
    progress: bool = True


@dataclass
class TrainConfig(RunConfig):
    """An image model's training run; saved beside the checkpoint."""

    exclude_families: list[str] | None = None  # leave these generators' fakes out of training and validation
    arch: str = "efficientnet-lite0"
    input_size: int = 160
    crop_scale: float = 1.3
    epochs: int = 10
    epoch_size: int | None = None  # training views per epoch (default: the train split plus its self-blends)
    weight_decay: float = 1e-4
    warmup_epochs: int = 5
    freeze_blocks: int = 0
    sbi_ratio: float = 0.5
    sbi: dict = field(default_factory=dict)  # SBIConfig fields, to turn parts of self-blending off
    degrade: float = 0.8  # chance of a degradation chain per training view (both classes alike)
    manipulation: bool = True  # a second logit: face swap or synthetic
    manipulation_weight: float = 0.5
    balance: bool = True  # draw each (source, class) in proportion to the square root of its size
    video_frames: int = 24  # frames per clip when the data folders hold clips (0: images only)
    split: tuple[int, int, int] = (4, 1, 1)
    split_seed: int | None = None  # the split's seed (default: `seed`); another `seed` on one split measures run-to-run noise
    folds: int = 0
    workers: int = 0
    threads: int | None = None
    max_fpr: float = 0.05  # the threshold keeps false positives at most this on every real source (validation)
    soup: bool = True
    evaluate_test: bool = True  # score the test split at the end (off for runs that only choose a recipe)
    max_samples: int | None = None
    face_detector: str = "blazeface"
    whole_image: bool = False  # every picture is already a face crop (as analyze --whole-image)


@dataclass
class VideoTrainConfig(RunConfig):
    """A video model's training run (cached clip features, sequence models, cross-validation)."""

    out: str = "runs/video"
    lr: float = 1e-3
    frame_model: str | None = None
    cache_frames: int = 64
    seq_len: int = 32
    window: int = 4
    stride: int = 2
    hidden: int = 32
    steps: int = 300
    label_smoothing: float = 0.1
    sbi_copies: int = 2
    cross_validate: bool = True
    tune_frames: bool = True
    head_steps: int = 600
    head_lr: float = 1e-3
