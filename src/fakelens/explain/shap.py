"""SHAP: Shapley values of superpixels (quickshift, as LIME), by Captum's KernelShap, batched.
Hidden superpixels take their mean colour; the values sum to f(image) - f(all hidden)."""

from __future__ import annotations

import numpy as np
import torch
from captum.attr import KernelShap

from fakelens.explain.base import Explainer
from fakelens.explain.registry import register_explainer
from fakelens.explain.superpixels import hidden, segment


@register_explainer
class Shap(Explainer):
    name = "shap"
    signed = True
    defaults = {"samples": 1000, "kernel_size": 4, "max_dist": 200, "ratio": 0.2, "segmentation": "quickshift", "fill": "mean", "batch_size": 64, "backend": "onnx", "seed": 0}

    def _attribute(self, inputs, target, samples, kernel_size, max_dist, ratio, segmentation, fill, batch_size, backend, seed):
        sign = 1.0 if target == "fake" else -1.0
        # Shapley values of the probability, as the shap package reports for classifiers.
        forward = self.scorer(backend)
        prob = (lambda x: torch.sigmoid(forward(x))) if sign > 0 else (lambda x: 1 - torch.sigmoid(forward(x)))
        ks = KernelShap(prob)
        maps, segments = [], []
        for x in inputs:
            seg = torch.from_numpy(segment(x.permute(1, 2, 0).numpy(), kernel_size, max_dist, ratio, seed, segmentation))
            torch.manual_seed(seed)
            attr = ks.attribute(x.unsqueeze(0), baselines=hidden(x, seg, fill).unsqueeze(0),
                                feature_mask=seg.view(1, 1, *seg.shape).expand(1, 3, -1, -1),
                                n_samples=int(samples), perturbations_per_eval=int(batch_size))
            maps.append(attr[0, 0].detach().numpy())  # the same value on every channel of a superpixel
            segments.append(seg.numpy())
        return np.stack(maps), segments
