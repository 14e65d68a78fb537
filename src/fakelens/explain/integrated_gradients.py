"""Integrated Gradients (Sundararajan et al., 2017), via Captum, from a black baseline; summed over
channels (needs torch). With the model's flip, the mean of the IG of x and the mirrored IG of its
mirror is exactly the IG of the flip-averaged logit (IG is linear in the function)."""

from __future__ import annotations

from fakelens.explain.base import GradientExplainer
from fakelens.explain.registry import register_explainer


@register_explainer
class IntegratedGradients(GradientExplainer):
    name, display = "integrated-gradients", "integrated gradients"
    signed = True
    defaults = {"steps": 32, "baseline": 0.0, "internal_batch_size": 16}

    def _maps(self, inputs, target, steps, baseline, internal_batch_size):
        from captum.attr import IntegratedGradients as CaptumIG

        ig = CaptumIG(self.forward_for(target))
        attr = ig.attribute(inputs, baselines=float(baseline), n_steps=int(steps),
                            internal_batch_size=int(internal_batch_size))
        return attr.sum(1).detach().numpy()
