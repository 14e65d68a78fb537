"""Occlusion (Zeiler & Fergus, 2014): how much the explained logit drops when a grey square hides
each region, averaged over the windows covering each pixel (as Captum's Occlusion). Batched: many
occluded copies go through the model per call."""

from __future__ import annotations

import numpy as np

from fakelens.explain.base import PerturbationExplainer
from fakelens.explain.registry import register_explainer


def window_starts(size: int, window: int, stride: int) -> list[int]:
    """Captum's positions: ceil((size - window) / stride) + 1 windows, the last one clipped at the edge."""
    return [i * stride for i in range(int(np.ceil(max(size - window, 0) / stride)) + 1)]


@register_explainer
class Occlusion(PerturbationExplainer):
    name, display = "occlusion", "occlusion"
    signed = True
    defaults = {"window": 0.125, "stride": 0.0625, "fill": 0.5, "batch_size": 64}

    def explain_one(self, x, target, window, stride, fill, batch_size):
        h, w_ = x.shape[1:]
        w = max(2, round(window * h)) if window < 1 else int(window)
        s = max(1, round(stride * h)) if stride < 1 else int(stride)
        boxes = [(y, xx) for y in window_starts(h, w, s) for xx in window_starts(w_, w, s)]
        copies = np.repeat(x[None], len(boxes), axis=0)
        for c, (y, xx) in zip(copies, boxes):
            c[:, y:y + w, xx:xx + w] = float(fill)
        base = self.evaluate(x[None], target, prob=False)[0]
        drop = base - self.evaluate(copies, target, int(batch_size), prob=False)
        total, count = np.zeros((h, w_)), np.zeros((h, w_))
        for d, (y, xx) in zip(drop, boxes):
            total[y:y + w, xx:xx + w] += d
            count[y:y + w, xx:xx + w] += 1
        return total / count.clip(min=1)
