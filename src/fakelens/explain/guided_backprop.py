"""Guided Backprop (Springenberg et al., 2015), via Captum, made correct on ReLU6 backbones (needs torch).

Captum's GuidedBackprop hooks only nn.ReLU modules: on EfficientNet-Lite, whose activations
are nn.ReLU6, it guides none of them (only our head's nn.ReLU). We run it on a copy of the model whose
ReLU6 modules are an nn.ReLU subclass computing ReLU6, so the hooks fire and the gradient is
gated both by the forward pass (0 < x < 6) and by its own sign.
"""

from __future__ import annotations

import copy
from functools import cache

from fakelens.explain.base import GradientExplainer
from fakelens.explain.registry import register_explainer


@cache
def _modules():
    """(ReLU6AsReLU, Signed), made on first use: torch is imported only when the method runs."""
    from torch import nn
    from torch.nn import functional as F

    class ReLU6AsReLU(nn.ReLU):
        """Computes ReLU6 but is an nn.ReLU, so Captum's modified-ReLU methods hook it."""

        def forward(self, x):
            return F.relu6(x, inplace=False)

    class Signed(nn.Module):
        """Captum's modified-ReLU methods need an nn.Module to hook, not a lambda."""

        def __init__(self, model: nn.Module, sign: float):
            super().__init__()
            self.model, self.sign = model, sign

        def forward(self, x):
            return self.sign * self.model(x)

    return ReLU6AsReLU, Signed


def relu6_as_relu(model):
    """A copy of `model` with every nn.ReLU6 replaced (shared modules stay shared)."""
    from torch import nn

    relu6_as_relu_cls = _modules()[0]
    model = copy.deepcopy(model)
    swapped: dict = {}
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.ReLU6):
                setattr(parent, name, swapped.setdefault(id(child), relu6_as_relu_cls()))
    return model


@register_explainer
class GuidedBackprop(GradientExplainer):
    name, display = "guided-backprop", "guided backprop"
    signed = True
    defaults = {}

    def __init__(self, model, flip=None, **options):
        super().__init__(model, flip, **options)
        self.guided_model = relu6_as_relu(self.model).eval()

    def _maps(self, inputs, target):
        from captum.attr import GuidedBackprop as CaptumGuidedBackprop

        gbp = CaptumGuidedBackprop(_modules()[1](self.guided_model, 1.0 if target == "fake" else -1.0))
        return gbp.attribute(inputs.clone().requires_grad_(True)).sum(1).detach().numpy()


@register_explainer
class SmoothGradGuidedBackprop(GuidedBackprop):
    name, display = "guided-backprop-smoothgrad", "SmoothGrad guided backprop"
    smooth_samples = 16
