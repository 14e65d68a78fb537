"""The classifier head of seed 001 and the input normalisation, shared by all backbones."""

from __future__ import annotations

import copy

import torch
from torch import nn


class ClassifierHead(nn.Module):
    """Global average pooling -> dense 512 -> batch norm -> ReLU -> dropout 0.2 -> 1 logit (seed 001).

    With `manipulation`, a second logit from the same 512 activations says which kind a fake is:
    sigmoid = P(synthetic | fake), the whole face generated; 1 - that = P(face_swap | fake)."""

    def __init__(self, in_features: int, hidden: int = 512, dropout: float = 0.2, manipulation: bool = False):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(in_features, hidden)
        self.bn = nn.BatchNorm1d(hidden)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, 1)
        self.fc_kind = nn.Linear(hidden, 1) if manipulation else None

    def hidden(self, features: torch.Tensor) -> torch.Tensor:
        x = features if features.dim() == 2 else self.pool(features).flatten(1)
        return self.dropout(self.relu(self.bn(self.fc1(x))))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.hidden(features)).squeeze(1)

    def both(self, features: torch.Tensor) -> torch.Tensor:
        """(N, 2): the fake logit and the kind logit (0 where the head has no kind logit)."""
        h = self.hidden(features)
        kind = self.fc_kind(h) if self.fc_kind is not None else torch.zeros_like(h[:, :1])
        return torch.cat([self.fc2(h), kind], dim=1)


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

    def __init__(self, backbone: nn.Module, feature_dim: int, input_size: int, mean: float, std: float,
                 manipulation: bool = False):
        super().__init__()
        self.normalize = Normalize(mean, std)
        self.backbone = backbone
        self.head = ClassifierHead(feature_dim, manipulation=manipulation)
        self.input_size = input_size
        self.feature_dim = feature_dim

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(self.normalize(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def both(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 2): the fake logit and the manipulation-kind logit."""
        return self.head.both(self.features(x))

    @property
    def has_manipulation(self) -> bool:
        return self.head.fc_kind is not None

    def with_head(self, head: ClassifierHead) -> "DeepfakeClassifier":
        """A classifier that shares this one's normalisation and backbone, with `head` on top."""
        twin = copy.copy(self)
        twin._modules = {**self._modules, "head": head}
        return twin
