"""SHAP over time for the video model (seed 000's "feature importance"): how much each frame, or
each sliding window, of a face track moved the verdict. Shapley values of the clip probability the
verdict reads (calibrated) by Kernel SHAP (NumPy, as `shap`); a removed frame or window takes the
model's reference feature (the mean frame of real training clips), so the values sum to
f(track) - f(an all-reference track).

Inputs are a track's pooled backbone features (B x T x C, what `VideoDetector.encode` gives); the
model is the `VideoModel` on ONNX Runtime, whose graph takes the coalitions as masks: no torch.
"""

from __future__ import annotations

import numpy as np

from fakelens.explain.base import Explainer, as_numpy_batch
from fakelens.explain.registry import register_explainer
from fakelens.explain.shap import kernel_shap


class _TemporalShap(Explainer):
    explains = "sequence"
    signed = True
    input_dims = 3
    defaults = {"samples": 1000, "batch_size": 256, "seed": 0}
    over: str

    def prepare(self, inputs) -> np.ndarray:
        return as_numpy_batch(inputs, 3)

    def scores(self, inputs) -> list[float]:
        return [float(self.model.clip_probs(x)[0]) for x in inputs]

    def _attribute(self, inputs, target, samples, batch_size, seed):
        maps = []
        for pooled in inputs:
            t = len(pooled)
            n = len(self.model.window_matrix(t))

            def value(keep: np.ndarray) -> np.ndarray:
                keep = keep.astype(np.float32)
                p = (self.model.clip_probs(pooled, keep=keep) if self.over == "frames"
                     else self.model.clip_probs(pooled, keep_windows=keep))
                return p if target == "fake" else 1 - p

            maps.append(kernel_shap(value, t if self.over == "frames" else n, samples, np.random.default_rng(seed),
                                    int(batch_size)))
        return np.stack(maps)


@register_explainer
class ShapFrames(_TemporalShap):
    name, display = "shap-frames", "SHAP over frames"
    over = "frames"


@register_explainer
class ShapWindows(_TemporalShap):
    name, display = "shap-windows", "SHAP over windows"
    over = "windows"
