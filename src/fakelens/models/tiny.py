"""A few-thousand-parameter CNN for fast tests of the whole pipeline (no pretrained weights)."""

from __future__ import annotations

from torch import nn

from fakelens.models.head import DeepfakeClassifier
from fakelens.models.registry import register_model


@register_model
def tiny_cnn(pretrained: bool = False, input_size: int | None = None, manipulation: bool = False) -> DeepfakeClassifier:
    backbone = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
    )
    return DeepfakeClassifier(backbone, 32, input_size or 64, mean=0.5, std=0.25, manipulation=manipulation)
