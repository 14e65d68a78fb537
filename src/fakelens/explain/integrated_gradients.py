"""Integrated Gradients (Sundararajan et al., 2017), via Captum, from a black baseline; summed over channels."""

from __future__ import annotations

from captum.attr import IntegratedGradients as CaptumIG

from fakelens.explain.base import Explainer
from fakelens.explain.registry import register_explainer


@register_explainer
class IntegratedGradients(Explainer):
    name = "integrated-gradients"
    signed = True
    defaults = {"steps": 32, "baseline": 0.0, "internal_batch_size": 16}

    def _attribute(self, inputs, target, steps, baseline, internal_batch_size):
        ig = CaptumIG(self.forward_for(target))
        attr = ig.attribute(inputs, baselines=float(baseline), n_steps=int(steps),
                            internal_batch_size=int(internal_batch_size))
        return attr.sum(1).detach().numpy()
