"""Layer-wise Relevance Propagation (needs torch): the registered method; the rules and the walk
through EfficientNet-Lite (and why they are written here) are in lrp_rules.py."""

from __future__ import annotations

from fakelens.explain.base import GradientExplainer
from fakelens.explain.registry import register_explainer


@register_explainer
class Lrp(GradientExplainer):
    name, display = "lrp", "LRP"
    signed = True
    defaults = {"rule": "gamma", "gamma": 0.25, "epsilon": 1e-6, "alpha": 1.0, "beta": 0.0, "first": "box"}

    def __init__(self, model, flip=None, **options):
        super().__init__(model, flip, **options)
        from fakelens.explain.lrp_rules import LRP

        o = self.options
        if o["rule"] not in ("epsilon", "gamma", "alphabeta") or o["first"] not in ("box", "flat", "same"):
            raise ValueError("lrp: rule must be epsilon, gamma or alphabeta; first must be box, flat or same")
        if o["rule"] == "alphabeta" and abs(o["alpha"] - o["beta"] - 1) > 1e-9:
            raise ValueError("lrp: alpha - beta must be 1")
        self.engine = LRP(model)

    def _maps(self, inputs, target, **options):
        return self.engine.relevance(inputs, target, **options)
