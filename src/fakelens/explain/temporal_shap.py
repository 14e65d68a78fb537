"""SHAP over time for the video model (seed 000's "feature importance"): how much each frame, or
each sliding window, of a face track moved the verdict. Shapley values of the probability of
fake by Captum's KernelShap; a removed frame or window takes the model's reference feature (the
mean frame of real training clips), so the values sum to f(track) - f(an all-reference track).

Inputs are frame-feature sequences (B x T x D, from `FrameEncoder`); the model is the
`SequenceClassifier`.
"""

from __future__ import annotations

import numpy as np

from fakelens.explain.base import TorchExplainer
from fakelens.explain.registry import register_explainer


class _TemporalShap(TorchExplainer):
    explains = "sequence"
    signed = True
    input_dims = 3
    defaults = {"samples": 1000, "batch_size": 256, "seed": 0}
    over: str

    def _attribute(self, inputs, target, samples, batch_size, seed):
        import torch
        from captum.attr import KernelShap

        model = self.model
        sign = 1.0 if target == "fake" else -1.0
        players = model.windows(inputs) if self.over == "windows" else inputs
        forward = model.forward_windows if self.over == "windows" else model.forward

        def prob(x):
            p = torch.sigmoid(forward(x))
            return p if sign > 0 else 1 - p

        ks = KernelShap(prob)
        maps = []
        with torch.no_grad():
            for x in players:
                n, d = x.shape
                mask = torch.arange(n).view(1, n, 1).expand(1, n, d)
                torch.manual_seed(seed)
                attr = ks.attribute(x.unsqueeze(0), baselines=model.reference.view(1, 1, d).expand(1, n, d),
                                    feature_mask=mask, n_samples=int(samples), perturbations_per_eval=int(batch_size))
                maps.append(attr[0, :, 0].numpy())
        return np.stack(maps)


@register_explainer
class ShapFrames(_TemporalShap):
    name, display = "shap-frames", "SHAP over frames"
    over = "frames"


@register_explainer
class ShapWindows(_TemporalShap):
    name, display = "shap-windows", "SHAP over windows"
    over = "windows"
