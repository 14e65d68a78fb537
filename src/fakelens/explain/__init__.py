"""Explanation methods behind one interface: `create_explainer(name, model).attribute(inputs, target)`.

Importing this package imports no torch: the gradient methods import it when one is created.
"""

from fakelens.explain.base import Explainer, Explanation, GradientExplainer, PerturbationExplainer
from fakelens.explain.registry import create_explainer, list_explainers, register_explainer

# Importing the method modules registers them (one file per method).
from fakelens.explain import (  # noqa: E402,F401
    activations, drise, gradcam, gradcam_pp, guided_backprop, integrated_gradients, lime, lrp, occlusion, rise, saliency,
    shap, temporal_shap,
)

__all__ = ["Explainer", "Explanation", "GradientExplainer", "PerturbationExplainer", "create_explainer",
           "list_explainers", "register_explainer"]
