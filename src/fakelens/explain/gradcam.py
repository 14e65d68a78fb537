"""Grad-CAM (Selvaraju et al., 2017) on the last feature map, via Captum's LayerGradCam (needs torch)."""

from __future__ import annotations

from fakelens.explain.base import GradientExplainer, default_layer, upsample
from fakelens.explain.registry import register_explainer


@register_explainer
class GradCam(GradientExplainer):
    name, display = "gradcam", "Grad-CAM"
    defaults = {"relu": True}

    def _maps(self, inputs, target, relu):
        from captum.attr import LayerGradCam

        cam = LayerGradCam(self.forward_for(target), default_layer(self.model))
        maps = cam.attribute(inputs, relu_attributions=relu).sum(1)
        return upsample(maps.detach(), inputs.shape[-2:]).numpy()
