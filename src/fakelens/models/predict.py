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


@torch.no_grad()
def fake_and_kind(model: nn.Module, x: torch.Tensor, flip: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(P(fake), P(synthetic | fake)) per image, with the test-time flip averaging logits as above.
    A model without a manipulation head gives NaN for the second."""
    if not getattr(model, "has_manipulation", False):
        return fake_probability(model, x, flip), torch.full((len(x),), float("nan"))
    logits = model.both(x)
    if flip:
        logits = (logits + model.both(torch.flip(x, dims=[3]))) / 2
    p = torch.sigmoid(logits)
    return p[:, 0], p[:, 1]
