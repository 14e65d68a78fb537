"""The explainer interface: one `attribute(inputs, target, **options)` entry point, like Captum's.

Every image method takes a batch of prepared face crops (N x 3 x H x W float32 in [0, 1], what
`fakelens.runtime.ImageModel` takes; a torch tensor is accepted too) and returns one `Explanation`
per image: an H x W map (signed where the method is signed), the method and its parameters, the
target, and the seconds it took.

What a method can do is declared on its class, never in name lists elsewhere: what it explains
(`explains`), whether its map is an attribution (`attribution`), whether it needs torch
(`needs_torch`) and how the summary names it (`display`). Two bases hold the loops, as in
pytorch-grad-cam: `PerturbationExplainer` (no torch: a score function from ONNX Runtime) and
`GradientExplainer` (torch, imported only when one is created). Both explain the function that
gives the verdict: the fake logit averaged over the face and its mirror when the model flips.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Literal

import numpy as np

from fakelens.errors import FakelensError
from fakelens.ops import sigmoid

Target = Literal["fake", "real"]
Explains = Literal["classifier", "sequence", "detector"]
ScoreFn = Callable[[np.ndarray], np.ndarray]  # N x 3 x H x W float32 in [0, 1] -> N fake logits


@dataclass
class Explanation:
    """One saliency map for one image. Positive values push towards `target`."""

    map: np.ndarray  # H x W float32 (for the video methods: one value per frame or window)
    method: str
    target: str  # "fake" or "real"; D-RISE: "face detection"
    params: dict = field(default_factory=dict)
    seconds: float = 0.0
    signed: bool = False
    score: float | None = None  # the model's probability of fake for this input
    segments: np.ndarray | None = None  # superpixel labels, for LIME and SHAP

    def to_dict(self) -> dict:
        return {"method": self.method, "target": self.target, "params": self.params, "seconds": self.seconds,
                "signed": self.signed, "score": self.score, "shape": list(self.map.shape)}


def torch_available() -> bool:
    """Whether torch can be imported (without importing it: that alone takes seconds)."""
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # an import hook that blocks torch, or a broken install
        return False


class Explainer:
    """Base class: subclasses set `name`, `display`, the capabilities below and `defaults`, and
    implement `_attribute` (most do so through PerturbationExplainer or GradientExplainer)."""

    name: ClassVar[str]
    display: ClassVar[str]  # how the plain-language summary names the method, e.g. "Grad-CAM"
    explains: ClassVar[Explains] = "classifier"  # the face classifier, the video sequence model, or the face detector
    attribution: ClassVar[bool] = True  # False: the map shows what the model sees, not evidence for the verdict
    needs_torch: ClassVar[bool] = False
    signed: ClassVar[bool] = False
    defaults: ClassVar[dict] = {}
    input_dims: ClassVar[int] = 4  # a batch of images; 3 for a batch of frame-feature sequences (videos)

    @classmethod
    def require(cls) -> None:
        """Raise a one-line FakelensError naming the extra when the method needs torch and it is absent."""
        if cls.needs_torch and not torch_available():
            raise FakelensError(f"{cls.name} needs torch: pip install 'fakelens[torch]'")

    def __init__(self, model: Any, flip: bool | None = None, **options):
        """`model`: what the method explains (see `explains`). `flip`: explain the mean of the face's and
        its mirror's logit (default: the model's own `flip`, as `ImageModel` carries it)."""
        self.require()
        unknown = set(options) - set(self.defaults)
        if unknown:
            raise TypeError(f"{self.name}: unknown option(s) {sorted(unknown)}; known: {sorted(self.defaults)}")
        self.model = model
        self.flip = bool(getattr(model, "flip", False) if flip is None else flip)
        self.options = {**self.defaults, **options}

    def prepare(self, inputs):
        """The inputs as the method computes on them (a batch)."""
        return inputs

    def scores(self, inputs) -> list[float]:
        """P(fake) of each input, for the records (one more forward pass)."""
        raise NotImplementedError

    def attribute(self, inputs, target: Target = "fake", scores=None, **options) -> list[Explanation]:
        """Explain a batch; `options` override the explainer's for this call.

        `scores`: the probabilities of fake the caller already has (e.g. the analysis's, with its
        test-time flip); without them one more forward pass computes them.
        """
        if target not in ("fake", "real"):
            raise ValueError(f"target must be 'fake' or 'real', not {target!r}")
        opts = {**self.options, **options}
        x = self.prepare(inputs)
        t0 = time.perf_counter()
        maps = self._attribute(x, target, **opts)
        maps, segments = maps if isinstance(maps, tuple) else (maps, [None] * len(x))
        seconds = (time.perf_counter() - t0) / len(x)
        if scores is None:
            scores = self.scores(x)
        elif len(scores) != len(x):
            raise ValueError(f"{len(scores)} scores for {len(x)} inputs")
        params = _jsonable(opts)
        if self.explains == "classifier":
            params["flip"] = self.flip  # the explained logit is the mean over the face and its mirror
        return [Explanation(np.asarray(m, np.float32), self.name, target, params, round(seconds, 5),
                            self.signed, float(s), seg) for m, s, seg in zip(np.asarray(maps), scores, segments)]

    def _attribute(self, inputs, target: Target, **options) -> np.ndarray:
        """N x H x W maps for the batch, or (maps, per-image superpixel labels)."""
        raise NotImplementedError


def _jsonable(opts: dict) -> dict:
    return {k: v if isinstance(v, (int, float, str, bool, type(None), list, tuple)) else str(v) for k, v in opts.items()}


def as_numpy_batch(inputs, dims: int = 4) -> np.ndarray:
    """A numpy float32 batch from numpy or a torch tensor (read without importing torch)."""
    if hasattr(inputs, "detach"):  # a torch tensor
        inputs = inputs.detach().cpu().numpy()
    x = np.asarray(inputs, dtype=np.float32)
    return x[None] if x.ndim == dims - 1 else x


def score_function(model: Any, flip: bool = False) -> ScoreFn:
    """The fake logit of a batch, numpy in and out: `model.fake_logit` for an ONNX Runtime
    `ImageModel` (its flip average included), a plain callable as it is, or a torch module through
    its ONNX Runtime twin (the audit's randomised copies); with `flip` for the latter two, the mean
    over the batch and its mirror."""
    if hasattr(model, "fake_logit"):
        return model.fake_logit
    if hasattr(model, "parameters"):  # a torch module: torch is installed, since we hold one
        from fakelens.models.onnx import onnx_forward

        twin = onnx_forward(model)
        fn = lambda x: twin(_torch_from(x)).numpy().reshape(len(x))  # noqa: E731
    elif callable(model):
        fn = model
    else:
        raise TypeError(f"cannot score with a {type(model).__name__}: pass an ImageModel, a function or a torch module")
    if not flip:
        return lambda x: np.asarray(fn(x), np.float32).reshape(len(x))
    return lambda x: (np.asarray(fn(x), np.float32).reshape(len(x))
                      + np.asarray(fn(np.ascontiguousarray(x[..., ::-1])), np.float32).reshape(len(x))) / 2


def _torch_from(x: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


class PerturbationExplainer(Explainer):
    """Methods that only need the model's output on perturbed copies: no torch, no gradients.

    The model is turned into one score function (`score_function`): for an `ImageModel`, the fake
    logit the verdict thresholds, averaged over the face and its mirror. Subclasses implement
    `explain_one(x, target, **options)` for one 3 x H x W image and call `self.evaluate(batch, target)`,
    which scores perturbed copies in chunks of `batch_size`.
    """

    def __init__(self, model: Any, flip: bool | None = None, **options):
        super().__init__(model, flip, **options)
        # An ImageModel averages over the mirror itself; a bare function or torch module is flipped here.
        self.logit = score_function(model, False if hasattr(model, "fake_logit") else self.flip)

    def prepare(self, inputs) -> np.ndarray:
        return as_numpy_batch(inputs)

    def scores(self, inputs: np.ndarray) -> list[float]:
        return sigmoid(self.logit(inputs)).tolist()

    def evaluate(self, batch: np.ndarray, target: Target, batch_size: int = 64, prob: bool = True) -> np.ndarray:
        """The explained value of each copy: P(target) (prob) or the signed logit towards `target`."""
        sign = 1.0 if target == "fake" else -1.0
        out = np.concatenate([self.logit(np.ascontiguousarray(batch[i:i + batch_size], np.float32))
                              for i in range(0, len(batch), max(1, int(batch_size)))])
        return sigmoid(sign * out) if prob else sign * out

    def _attribute(self, inputs: np.ndarray, target: Target, **options):
        outs = [self.explain_one(x, target, **options) for x in inputs]
        if outs and isinstance(outs[0], tuple):
            return np.stack([m for m, _ in outs]), [s for _, s in outs]
        return np.stack(outs)

    def explain_one(self, x: np.ndarray, target: Target, **options):
        """H x W map of one image, or (map, superpixel labels)."""
        raise NotImplementedError


class TorchExplainer(Explainer):
    """Methods computed in torch (imported here, when one is created): the model is a torch module."""

    needs_torch = True

    def prepare(self, inputs):
        import torch

        x = inputs if isinstance(inputs, torch.Tensor) else torch.from_numpy(np.asarray(inputs, np.float32))
        x = x.detach().float()
        return x.unsqueeze(0) if x.dim() == self.input_dims - 1 else x

    def verdict_logit(self, x):
        """The logit the verdict thresholds: with flip, the mean over x and its mirror (differentiable)."""
        import torch

        y = self.model(x)
        return (y + self.model(torch.flip(x, dims=[-1]))) / 2 if self.flip else y

    def scores(self, inputs) -> list[float]:
        import torch

        self.model.eval()
        with torch.no_grad():
            return torch.sigmoid(self.verdict_logit(inputs)).reshape(-1).tolist()


class GradientExplainer(TorchExplainer):
    """Gradient methods. With flip, the map of the verdict's function is the mean of the map of x and
    the mirrored map of mirror(x) (for gradient, IG and LRP this is exactly the map of the averaged
    logit). Subclasses implement `_maps(x, target, **options)` for the plain logit.

    A subclass with `smooth_samples` > 0 is the method's SmoothGrad (Smilkov et al., 2017): the mean
    map over that many copies of the input with Gaussian noise of `smooth_noise` x its value range.
    """

    smooth_samples: ClassVar[int] = 0
    smooth_noise: ClassVar[float] = 0.15

    def forward_for(self, target: Target) -> Callable:
        """The scalar explained per image: the fake logit, or its negation for 'real'."""
        sign = 1.0 if target == "fake" else -1.0
        return lambda x: sign * self.model(x)

    def _attribute(self, inputs, target: Target, **options) -> np.ndarray:
        import torch

        self.model.eval()
        maps = self._smoothed(inputs, target, **options)
        if self.flip and self.attribution:
            mirrored = self._smoothed(torch.flip(inputs, dims=[-1]).contiguous(), target, **options)
            maps = (maps + mirrored[..., ::-1]) / 2
        return maps

    def _smoothed(self, inputs, target: Target, **options) -> np.ndarray:
        # In the base loop (as pytorch-grad-cam's aug_smooth), so every gradient method has a SmoothGrad
        # twin without wrapping each method's Captum object in a NoiseTunnel of its own.
        if not self.smooth_samples:
            return np.asarray(self._maps(inputs, target, **options))
        import torch

        gen = torch.Generator().manual_seed(0)
        span = (inputs.amax(dim=(1, 2, 3), keepdim=True) - inputs.amin(dim=(1, 2, 3), keepdim=True)).clamp_min(1e-6)
        total = 0.0
        for _ in range(self.smooth_samples):
            # One noise draw for the whole batch, so that a face gets the same map alone or in a batch.
            noisy = inputs + self.smooth_noise * span * torch.randn((1, *inputs.shape[1:]), generator=gen)
            total = total + np.asarray(self._maps(noisy, target, **options))
        return total / self.smooth_samples

    def _maps(self, inputs, target: Target, **options) -> np.ndarray:
        raise NotImplementedError


def default_layer(model, block: int | None = None):
    """The last convolutional feature map (the classifier's backbone output), or with `block` the
    output of that backbone block (EfficientNet: 0-15; negative counts from the end)."""
    if not hasattr(model, "backbone"):
        raise ValueError("model has no .backbone to take the feature map from")
    if block is None:
        return model.backbone
    from torch import nn

    blocks = getattr(model.backbone, "blocks", None)
    if blocks is None and isinstance(model.backbone, nn.Sequential):  # small test models: their layers
        blocks = model.backbone
    if blocks is None:
        raise ValueError(f"{type(model.backbone).__name__} has no blocks to choose from")
    return blocks[int(block)]


def upsample(maps, size: tuple[int, int]):
    """N x h x w -> N x H x W, bilinear (torch tensors)."""
    from torch import nn

    return nn.functional.interpolate(maps.unsqueeze(1), size=size, mode="bilinear", align_corners=False).squeeze(1)
