"""Intermediate activations of a chosen layer (seed 002 shows one): the mean activation over
channels, or one channel, upsampled to the input (needs torch). Not an attribution: it shows what a
layer sees, so it is left out of the summary and the faithfulness ranking."""

from __future__ import annotations

from fakelens.explain.base import GradientExplainer, upsample
from fakelens.explain.registry import register_explainer


def resolve_layer(model, name: str | None):
    """A module by dotted name; default: an early EfficientNet-Lite block (edges and textures)."""
    if name is None:
        net = getattr(getattr(model, "backbone", None), "net", None)
        if net is not None:
            return net._blocks[3]
        return list(model.backbone.children())[0]
    return model.get_submodule(name)


@register_explainer
class Activations(GradientExplainer):
    name, display = "activations", "the activations"
    attribution = False
    defaults = {"layer": None, "channel": None}

    def _maps(self, inputs, target, layer, channel):
        import torch

        store = {}
        hook = resolve_layer(self.model, layer).register_forward_hook(lambda m, i, o: store.__setitem__("a", o))
        try:
            with torch.no_grad():
                self.model(inputs)
        finally:
            hook.remove()
        a = store["a"]
        maps = a[:, int(channel)] if channel is not None else a.abs().mean(1)
        return upsample(maps, inputs.shape[-2:]).numpy()
