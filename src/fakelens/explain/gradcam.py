"""Grad-CAM (Selvaraju et al., 2017), via Captum's LayerGradCam (needs torch): on the last feature map,
or with `layer` on the output of that backbone block (`fakelens audit-explainers --gradcam-layers`
measures which is most faithful)."""

from __future__ import annotations

from fakelens.explain.base import GradientExplainer, default_layer, upsample
from fakelens.explain.registry import register_explainer


@register_explainer
class GradCam(GradientExplainer):
    name, display = "gradcam", "Grad-CAM"
    defaults = {"relu": True, "layer": None}

    def _maps(self, inputs, target, relu, layer):
        from captum.attr import LayerGradCam

        cam = LayerGradCam(self.forward_for(target), default_layer(self.model, layer))
        maps = cam.attribute(inputs, relu_attributions=relu).sum(1)
        return upsample(maps.detach(), inputs.shape[-2:]).numpy()
