"""The explainer interface: one `attribute(inputs, target, **options)` entry point, like Captum's.

Every method takes a batch of face crops (N x 3 x H x W, floats in [0, 1]) and returns one
`Explanation` per image: an H x W map (signed where the method is signed), the method and
its parameters, the target, and the seconds it took.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Literal

import numpy as np
import torch
from torch import nn

Target = Literal["fake", "real"]


@dataclass
class Explanation:
    """One saliency map for one image. Positive values push towards `target`."""

    map: np.ndarray  # H x W float32 (for the video methods: one value per frame or window)
    method: str
    target: Target
    params: dict = field(default_factory=dict)
    seconds: float = 0.0
    signed: bool = False
    score: float | None = None  # the model's probability of fake for this input
    segments: np.ndarray | None = None  # superpixel labels, for LIME and SHAP

    def to_dict(self) -> dict:
        return {"method": self.method, "target": self.target, "params": self.params, "seconds": self.seconds,
                "signed": self.signed, "score": self.score, "shape": list(self.map.shape)}


class Explainer:
    """Base class: subclasses set `name`, `signed`, `defaults` and implement `_attribute`."""

    name: ClassVar[str]
    signed: ClassVar[bool] = False
    defaults: ClassVar[dict] = {}
    input_dims: ClassVar[int] = 4  # a batch of images; 3 for a batch of frame-feature sequences (videos)

    def __init__(self, model: nn.Module, **options):
        unknown = set(options) - set(self.defaults)
        if unknown:
            raise TypeError(f"{self.name}: unknown option(s) {sorted(unknown)}; known: {sorted(self.defaults)}")
        self.model = model.eval()
        self.options = {**self.defaults, **options}

    def scorer(self, backend: str) -> Callable[[torch.Tensor], torch.Tensor]:
        """The no-gradient forward for perturbation methods: ONNX Runtime (backend='onnx') or torch."""
        if backend not in ("onnx", "torch"):
            raise ValueError(f"backend must be onnx or torch, not {backend!r}")
        if backend == "onnx":
            from fakelens.models.onnx import onnx_forward

            return onnx_forward(self.model)
        return self.model

    def forward_for(self, target: Target) -> Callable[[torch.Tensor], torch.Tensor]:
        """The scalar explained per image: the fake logit, or its negation for 'real'."""
        sign = 1.0 if target == "fake" else -1.0
        return lambda x: sign * self.model(x)

    def attribute(self, inputs: torch.Tensor, target: Target = "fake", scores=None, **options) -> list[Explanation]:
        """Explain a batch; `options` override the explainer's for this call.

        `scores`: the probabilities of fake the caller already has (e.g. the Detector's, with its
        test-time flip); without them one more forward pass computes them.
        """
        if target not in ("fake", "real"):
            raise ValueError(f"target must be 'fake' or 'real', not {target!r}")
        opts = {**self.options, **options}
        if inputs.dim() == self.input_dims - 1:
            inputs = inputs.unsqueeze(0)
        t0 = time.perf_counter()
        maps = self._attribute(inputs.detach().float(), target, **opts)
        maps, segments = maps if isinstance(maps, tuple) else (maps, [None] * len(inputs))
        seconds = (time.perf_counter() - t0) / len(inputs)
        if scores is None:
            with torch.no_grad():
                scores = torch.sigmoid(self.model(inputs)).tolist()
        elif len(scores) != len(inputs):
            raise ValueError(f"{len(scores)} scores for {len(inputs)} inputs")
        return [Explanation(m.astype(np.float32), self.name, target, _jsonable(opts), round(seconds, 5), self.signed,
                            float(s), seg) for m, s, seg in zip(np.asarray(maps), scores, segments)]

    def _attribute(self, inputs: torch.Tensor, target: Target, **options) -> np.ndarray:
        """N x H x W maps for the batch, or (maps, per-image superpixel labels)."""
        raise NotImplementedError


def _jsonable(opts: dict) -> dict:
    return {k: v if isinstance(v, (int, float, str, bool, type(None), list, tuple)) else str(v) for k, v in opts.items()}


def default_layer(model: nn.Module) -> nn.Module:
    """The last convolutional feature map: the classifier's backbone output."""
    if hasattr(model, "backbone"):
        return model.backbone
    raise ValueError("model has no .backbone to take the feature map from")


def upsample(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """N x h x w -> N x H x W, bilinear."""
    return nn.functional.interpolate(maps.unsqueeze(1), size=size, mode="bilinear", align_corners=False).squeeze(1)
