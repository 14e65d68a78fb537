"""Vanilla gradient saliency (Simonyan et al., 2014), via Captum: max |gradient| over colour channels (needs torch)."""

from __future__ import annotations

from fakelens.explain.base import GradientExplainer
from fakelens.explain.registry import register_explainer


@register_explainer
class SaliencyMap(GradientExplainer):
    name, display = "saliency", "the gradient saliency map"
    defaults = {}

    def _maps(self, inputs, target):
        from captum.attr import Saliency

        grads = Saliency(self.forward_for(target)).attribute(inputs.clone().requires_grad_(True), abs=True)
        return grads.max(1).values.detach().numpy()


@register_explainer
class SmoothGradSaliency(SaliencyMap):
    name, display = "saliency-smoothgrad", "SmoothGrad saliency"
    smooth_samples = 16
