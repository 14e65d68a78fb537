"""Grad-CAM++ (Chattopadhyay et al., 2018). Written here: Captum has no Grad-CAM++ (needs torch)."""

from __future__ import annotations

from fakelens.explain.base import GradientExplainer, default_layer, upsample
from fakelens.explain.registry import register_explainer


@register_explainer
class GradCamPlusPlus(GradientExplainer):
    name, display = "gradcam++", "Grad-CAM++"
    defaults = {}

    def _maps(self, inputs, target):
        import torch

        layer = default_layer(self.model)
        store = {}
        hook = layer.register_forward_hook(lambda m, i, o: store.__setitem__("a", o))
        try:
            x = inputs.clone().requires_grad_(True)
            score = self.forward_for(target)(x)
            acts = store["a"]
            grads = torch.autograd.grad(score.sum(), acts)[0]
        finally:
            hook.remove()
        acts, grads = acts.detach(), grads.detach()
        # Closed form for an exponential output (the paper's eq. 19): higher derivatives are powers of the gradient.
        g2, g3 = grads.pow(2), grads.pow(3)
        denom = 2 * g2 + (acts * g3).sum((2, 3), keepdim=True)
        alpha = g2 / torch.where(denom != 0, denom, torch.ones_like(denom))
        weights = (alpha * torch.relu(grads)).sum((2, 3), keepdim=True)
        cam = torch.relu((weights * acts).sum(1))
        return upsample(cam, inputs.shape[-2:]).numpy()
