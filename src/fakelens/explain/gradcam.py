"""Grad-CAM (Selvaraju et al., 2017) on the last feature map, via Captum's LayerGradCam."""

from __future__ import annotations

from captum.attr import LayerGradCam

from fakelens.explain.base import Explainer, default_layer, upsample
from fakelens.explain.registry import register_explainer


@register_explainer
class GradCam(Explainer):
    name = "gradcam"
    defaults = {"relu": True}

    def _attribute(self, inputs, target, relu):
        cam = LayerGradCam(self.forward_for(target), default_layer(self.model))
        maps = cam.attribute(inputs, relu_attributions=relu).sum(1)
        return upsample(maps.detach(), inputs.shape[-2:]).numpy()
