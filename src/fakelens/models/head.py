"""The classifier head of seed 001 and the input normalisation, shared by all backbones."""

from __future__ import annotations

import copy

import torch
from torch import nn


class ClassifierHead(nn.Module):
    """Global average pooling -> dense 512 -> batch norm -> ReLU -> dropout 0.2 -> 1 logit (seed 001)."""

    def __init__(self, in_features: int, hidden: int = 512, dropout: float = 0.2):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(in_features, hidden)
        self.bn = nn.BatchNorm1d(hidden)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = features if features.dim() == 2 else self.pool(features).flatten(1)
        return self.fc2(self.dropout(self.relu(self.bn(self.fc1(x))))).squeeze(1)


class Normalize(nn.Module):
    """Map [0, 1] RGB to the backbone's input range, so callers and explainers work in pixel space."""

    def __init__(self, mean: float, std: float):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean), persistent=False)
        self.register_buffer("std", torch.tensor(std), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class DeepfakeClassifier(nn.Module):
    """normalize -> backbone feature map -> head. `features(x)` gives the last conv map."""

    def __init__(self, backbone: nn.Module, feature_dim: int, input_size: int, mean: float, std: float):
        super().__init__()
        self.normalize = Normalize(mean, std)
        self.backbone = backbone
        self.head = ClassifierHead(feature_dim)
        self.input_size = input_size
        self.feature_dim = feature_dim

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(self.normalize(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def with_head(self, head: ClassifierHead) -> "DeepfakeClassifier":
        """A classifier that shares this one's normalisation and backbone, with `head` on top."""
        twin = copy.copy(self)
        twin._modules = {**self._modules, "head": head}
        return twin
