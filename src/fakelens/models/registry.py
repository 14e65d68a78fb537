"""A name -> constructor registry, like timm's."""

from __future__ import annotations

from typing import Callable

from torch import nn

from fakelens.errors import ModelError

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Decorator: register a constructor under its function name (underscores become dashes)."""
    _MODELS[fn.__name__.replace("_", "-")] = fn
    return fn


def list_models() -> list[str]:
    return sorted(_MODELS)


def create_model(name: str, pretrained: bool = True, **kwargs) -> nn.Module:
    """Build a registered deepfake classifier.

    `pretrained` loads the backbone's ImageNet weights from an installed package (never
    from the network). The model takes float RGB in [0, 1], NCHW, and returns one logit
    per image: sigmoid(logit) is the probability that the face is fake.
    """
    key = name.replace("_", "-")
    if key not in _MODELS:
        raise ModelError(f"unknown model {name!r}; known: {', '.join(list_models())}")
    model = _MODELS[key](pretrained=pretrained, **kwargs)
    model.arch = key
    return model
