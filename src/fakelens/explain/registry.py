"""`create_explainer(name, model, **options)`, like the model registry. A new method is one file
whose class is decorated with `register_explainer` and imported in `fakelens/explain/__init__.py`."""

from __future__ import annotations

from typing import Any

from fakelens.explain.base import Explainer

_EXPLAINERS: dict[str, type[Explainer]] = {}


def register_explainer(cls: type[Explainer]) -> type[Explainer]:
    _EXPLAINERS[cls.name] = cls
    return cls


def list_explainers(explains: str | None = None, attribution: bool | None = None) -> list[str]:
    """Registered names, optionally only those that explain `explains` or (not) attribute."""
    return [n for n, c in _EXPLAINERS.items()
            if (explains is None or c.explains == explains) and (attribution is None or c.attribution == attribution)]


def explainer_class(name: str) -> type[Explainer]:
    if name not in _EXPLAINERS:
        raise ValueError(f"unknown explanation method {name!r}; known: {', '.join(_EXPLAINERS)}")
    return _EXPLAINERS[name]


def display_name(name: str) -> str:
    """How the plain-language summary names a method (its class's `display`)."""
    cls = _EXPLAINERS.get(name)
    return getattr(cls, "display", name) if cls else name


def create_explainer(name: str, model: Any, **options) -> Explainer:
    """An explainer for `model`: the perturbation methods take an ONNX Runtime `ImageModel` (or a
    score function, or a torch module), the gradient methods a torch classifier, the video methods
    (shap-frames, shap-windows) the video model's SequenceClassifier, D-RISE a face detector.
    Raises a one-line FakelensError when the method needs torch and it is not installed."""
    return explainer_class(name)(model, **options)
