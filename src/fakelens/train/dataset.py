"""Torch datasets over a CropCache: augmented training views (with self-blended fakes) and plain eval views.

Each item gives the picture, its fake label and its manipulation target: 1 synthetic (the whole face
generated), 0 face swap (self-blended fakes included), -1 unknown or real (not used by that loss)."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from fakelens.data.augment import augment, center_resize
from fakelens.data.cache import CropCache
from fakelens.data.sbi import SBIConfig, self_blend

KIND_TARGET = {"synthetic": 1.0, "face_swap": 0.0, None: -1.0}


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 -> 3xHxW float in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float().div_(255)


class TrainViews(Dataset):
    """Items are (sample index, self-blend?): the sample's largest face, or a self-blended fake made from it."""

    def __init__(self, cache: CropCache, labels: np.ndarray, items: list[tuple[int, bool]], size: int,
                 seed: int, epoch: int = 0, train: bool = True, kinds: np.ndarray | None = None,
                 sbi: SBIConfig = SBIConfig(), degrade_p: float = 0.8):
        self.cache, self.labels, self.items, self.size = cache, labels, items, size
        self.seed, self.epoch, self.train = seed, epoch, train
        self.kinds = kinds if kinds is not None else np.full(len(labels), -1.0, np.float32)
        self.sbi, self.degrade_p = sbi, degrade_p

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        idx, blend = self.items[i]
        rng = np.random.default_rng((self.seed, self.epoch, i, idx))
        face = int(self.cache.first[idx])
        img = np.asarray(self.cache.crops[face])
        if blend:
            img = self_blend(img, self.cache.landmarks[face], rng, self.sbi)
        img = augment(img, self.size, rng, self.degrade_p) if self.train else center_resize(img, self.size)
        kind = KIND_TARGET["face_swap"] if blend else float(self.kinds[idx])
        return to_tensor(img), torch.tensor(1.0 if blend else float(self.labels[idx])), torch.tensor(kind)


def training_items(train_idx: list[int], labels: np.ndarray, cache: CropCache, sbi_ratio: float,
                   rng: np.random.Generator) -> list[tuple[int, bool]]:
    """The train split's samples with a face, plus self-blended fakes from a `sbi_ratio` share of its real faces."""
    items = [(i, False) for i in train_idx if cache.face_found[i]]
    reals = [i for i in train_idx if labels[i] == 0 and cache.face_found[i]
             and not np.isnan(cache.landmarks[cache.first[i]]).any()]  # self-blending needs landmarks
    n = int(round(sbi_ratio * len(reals)))
    items += [(int(i), True) for i in rng.choice(reals, size=min(n, len(reals)), replace=False)] if n else []
    return items
