"""Intermediate activations of a chosen layer (seed 002 shows one): the mean activation over
channels, or one channel, upsampled to the input. Not an attribution: it shows what a layer sees."""

from __future__ import annotations

import torch

from fakelens.explain.base import Explainer, upsample
from fakelens.explain.registry import register_explainer


def resolve_layer(model: torch.nn.Module, name: str | None) -> torch.nn.Module:
    """A module by dotted name; default: an early EfficientNet-Lite block (edges and textures)."""
    if name is None:
        net = getattr(getattr(model, "backbone", None), "net", None)
        if net is not None:
            return net._blocks[3]
        return list(model.backbone.children())[0]
    return model.get_submodule(name)


@register_explainer
class Activations(Explainer):
    name = "activations"
    defaults = {"layer": None, "channel": None}

    @torch.no_grad()
    def _attribute(self, inputs, target, layer, channel):
        store = {}
        hook = resolve_layer(self.model, layer).register_forward_hook(lambda m, i, o: store.__setitem__("a", o))
        try:
            self.model(inputs)
        finally:
            hook.remove()
        a = store["a"]
        maps = a[:, int(channel)] if channel is not None else a.abs().mean(1)
        return upsample(maps, inputs.shape[-2:]).numpy()
