"""Integrated Gradients (Sundararajan et al., 2017), via Captum; summed over channels (needs torch).
With the model's flip, the mean of the IG of x and the mirrored IG of its mirror is exactly the IG
of the flip-averaged logit (IG is linear in the function).

The baseline is black (`baseline` a number: that grey level) or, with `baseline="blur"`, the face
blurred (Gaussian, `blur_sigma` px): a black face is far from any picture the detector saw, while a
blurred one keeps the face and removes the fine traces forgery detectors read (Sturmfels et al., 2020).
"""

from __future__ import annotations

import numpy as np

from fakelens.explain.base import GradientExplainer
from fakelens.explain.registry import register_explainer


def blurred(inputs, sigma: float):
    """A Gaussian-blurred copy of an N x 3 x H x W batch (torch in, torch out)."""
    import cv2
    import torch

    x = inputs.detach().permute(0, 2, 3, 1).numpy()
    out = np.stack([cv2.GaussianBlur(np.ascontiguousarray(img), (0, 0), float(sigma)) for img in x])
    return torch.from_numpy(out.reshape(x.shape)).permute(0, 3, 1, 2).contiguous()


@register_explainer
class IntegratedGradients(GradientExplainer):
    name, display = "integrated-gradients", "integrated gradients"
    signed = True
    defaults = {"steps": 32, "baseline": 0.0, "blur_sigma": 8.0, "internal_batch_size": 16}

    def _maps(self, inputs, target, steps, baseline, blur_sigma, internal_batch_size):
        from captum.attr import IntegratedGradients as CaptumIG

        ig = CaptumIG(self.forward_for(target))
        base = blurred(inputs, blur_sigma) if baseline == "blur" else float(baseline)
        attr = ig.attribute(inputs, baselines=base, n_steps=int(steps), internal_batch_size=int(internal_batch_size))
        return attr.sum(1).detach().numpy()


@register_explainer
class BlurIntegratedGradients(IntegratedGradients):
    name, display = "integrated-gradients-blur", "integrated gradients from a blurred face"
    defaults = {**IntegratedGradients.defaults, "baseline": "blur"}


@register_explainer
class SmoothGradIntegratedGradients(IntegratedGradients):
    name, display = "integrated-gradients-smoothgrad", "SmoothGrad integrated gradients"
    defaults = {**IntegratedGradients.defaults, "steps": 16}
    smooth_samples = 8
