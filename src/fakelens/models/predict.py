"""Scoring helpers shared by the Detector and evaluation."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def fake_probability(model: nn.Module, x: torch.Tensor, flip: bool = False) -> torch.Tensor:
    """sigmoid(logit) per image; with `flip`, the mean logit of the image and its mirror (test-time flip)."""
    logits = model(x)
    if flip:
        logits = (logits + model(torch.flip(x, dims=[3]))) / 2
    return torch.sigmoid(logits)
