"""Vanilla gradient saliency (Simonyan et al., 2014), via Captum: max |gradient| over colour channels."""

from __future__ import annotations

from captum.attr import Saliency

from fakelens.explain.base import Explainer
from fakelens.explain.registry import register_explainer


@register_explainer
class SaliencyMap(Explainer):
    name = "saliency"
    defaults = {}

    def _attribute(self, inputs, target):
        grads = Saliency(self.forward_for(target)).attribute(inputs.clone().requires_grad_(True), abs=True)
        return grads.max(1).values.detach().numpy()
