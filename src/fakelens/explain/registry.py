"""`create_explainer(name, model, **options)`, like the model registry."""

from __future__ import annotations

from torch import nn

from fakelens.explain.base import Explainer

_EXPLAINERS: dict[str, type[Explainer]] = {}


def register_explainer(cls: type[Explainer]) -> type[Explainer]:
    _EXPLAINERS[cls.name] = cls
    return cls


def list_explainers() -> list[str]:
    return list(_EXPLAINERS)


def explainer_class(name: str) -> type[Explainer]:
    if name not in _EXPLAINERS:
        raise ValueError(f"unknown explanation method {name!r}; known: {', '.join(_EXPLAINERS)}")
    return _EXPLAINERS[name]


def create_explainer(name: str, model: nn.Module, **options) -> Explainer:
    """An explainer for `model`: image methods take a face classifier, the video methods
    (shap-frames, shap-windows) the video model's SequenceClassifier."""
    return explainer_class(name)(model, **options)
