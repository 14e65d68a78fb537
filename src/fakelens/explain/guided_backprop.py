"""Guided Backprop (Springenberg et al., 2015), via Captum, made correct on ReLU6 backbones.

Captum's GuidedBackprop hooks only nn.ReLU modules: on EfficientNet-Lite, whose activations
are nn.ReLU6, it guides none of them (only our head's nn.ReLU). We run it on a copy of the model whose
ReLU6 modules are an nn.ReLU subclass computing ReLU6, so the hooks fire and the gradient is
gated both by the forward pass (0 < x < 6) and by its own sign.
"""

from __future__ import annotations

import copy

from captum.attr import GuidedBackprop as CaptumGuidedBackprop
from torch import nn
from torch.nn import functional as F

from fakelens.explain.base import Explainer
from fakelens.explain.registry import register_explainer


class ReLU6AsReLU(nn.ReLU):
    """Computes ReLU6 but is an nn.ReLU, so Captum's modified-ReLU methods hook it."""

    def forward(self, x):
        return F.relu6(x, inplace=False)


def relu6_as_relu(model: nn.Module) -> nn.Module:
    """A copy of `model` with every nn.ReLU6 replaced (shared modules stay shared)."""
    model = copy.deepcopy(model)
    swapped: dict[int, nn.Module] = {}
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.ReLU6):
                setattr(parent, name, swapped.setdefault(id(child), ReLU6AsReLU()))
    return model


@register_explainer
class GuidedBackprop(Explainer):
    name = "guided-backprop"
    signed = True
    defaults = {}

    def __init__(self, model, **options):
        super().__init__(model, **options)
        self.guided_model = relu6_as_relu(self.model).eval()

    def _attribute(self, inputs, target):
        sign = 1.0 if target == "fake" else -1.0
        gbp = CaptumGuidedBackprop(_Signed(self.guided_model, sign))
        return gbp.attribute(inputs.clone().requires_grad_(True)).sum(1).detach().numpy()


class _Signed(nn.Module):
    """Captum's modified-ReLU methods need an nn.Module to hook, not a lambda."""

    def __init__(self, model: nn.Module, sign: float):
        super().__init__()
        self.model, self.sign = model, sign

    def forward(self, x):
        return self.sign * self.model(x)
