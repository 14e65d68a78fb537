"""LIME (Ribeiro et al., 2016) over quickshift superpixels, with the seeds' settings
(kernel_size 4, max_dist 200, ratio 0.2; 1000 samples; kernel width 0.25; ridge, as `lime`).

Written here rather than calling the `lime` package, which builds every masked image in a
Python loop and scores it in small batches (about 10x slower here, see benchmarks/): the masked
copies are built as one array operation and scored in large batches on ONNX Runtime.
"""

from __future__ import annotations

import numpy as np

from fakelens.explain.base import PerturbationExplainer
from fakelens.explain.registry import register_explainer
from fakelens.explain.superpixels import hidden, masked_batch, segment


@register_explainer
class Lime(PerturbationExplainer):
    name, display = "lime", "LIME"
    signed = True
    defaults = {"samples": 1000, "kernel_size": 4, "max_dist": 200, "ratio": 0.2, "segmentation": "quickshift",
                "fill": "mean", "kernel_width": 0.25, "batch_size": 64, "seed": 0}

    def explain_one(self, x, target, samples, kernel_size, max_dist, ratio, segmentation, fill, kernel_width,
                    batch_size, seed):
        from sklearn.linear_model import Ridge  # 0.3 s to import: only when LIME runs

        seg = segment(x.transpose(1, 2, 0), kernel_size, max_dist, ratio, seed, segmentation)
        n = int(seg.max()) + 1
        keep = np.random.default_rng(seed).integers(0, 2, size=(int(samples), n))
        keep[0] = 1  # the unperturbed image, as lime does
        background = hidden(x, seg, fill)
        y = np.concatenate([self.evaluate(masked_batch(x, background, seg, k), target, int(batch_size))
                            for k in np.array_split(keep, max(1, -(-len(keep) // int(batch_size))))])
        # lime's kernel: cosine distance to the all-on sample, exponential kernel
        d = 1 - keep.sum(1) / (np.sqrt(keep.sum(1).clip(min=1)) * np.sqrt(n))
        w = np.sqrt(np.exp(-(d ** 2) / kernel_width ** 2))
        coef = Ridge(alpha=1.0).fit(keep, y, sample_weight=w).coef_
        return coef[seg], seg
