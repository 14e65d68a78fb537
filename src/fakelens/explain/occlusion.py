"""Occlusion (Zeiler & Fergus, 2014), via Captum: how much the explained logit drops when a
grey square hides each region. Batched: many occluded copies go through the model per call."""

from __future__ import annotations

from captum.attr import Occlusion as CaptumOcclusion

from fakelens.explain.base import Explainer
from fakelens.explain.registry import register_explainer


@register_explainer
class Occlusion(Explainer):
    name = "occlusion"
    signed = True
    defaults = {"window": 0.125, "stride": 0.0625, "fill": 0.5, "batch_size": 64, "backend": "onnx"}

    def _attribute(self, inputs, target, window, stride, fill, batch_size, backend):
        h = inputs.shape[-1]
        w = max(2, round(window * h)) if window < 1 else int(window)
        s = max(1, round(stride * h)) if stride < 1 else int(stride)
        sign = 1.0 if target == "fake" else -1.0
        forward = self.scorer(backend)
        attr = CaptumOcclusion(lambda x: sign * forward(x)).attribute(
            inputs, sliding_window_shapes=(3, w, w), strides=(3, s, s), baselines=float(fill),
            perturbations_per_eval=int(batch_size))
        return attr.mean(1).detach().numpy()
