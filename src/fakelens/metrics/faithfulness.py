"""Faithfulness of a saliency map, by metrics that are themselves checked (docs/faithfulness.md).

Deletion and insertion (Petsiuk et al., RISE, BMVC 2018): remove the map's most important units
first and track the explained probability (a faithful map makes it fall fast: low area under the
curve), or restore them first into an emptied face (it rises fast: high area). Here:

- units: single pixels ("pixel"), grid cells ("patch:16", 16 px), or SLIC superpixels ("slic:64");
- orderings: MoRF (most relevant first) and LeRF (least relevant first, Rong et al. 2022);
- fills for a removed unit: a blurred copy ("blur"), the mean colour ("mean"), Gaussian noise
  about the mean colour ("noise"), or ROAD's noisy linear imputation ("road", Rong et al. 2022:
  each removed pixel is the weighted mean of its 8 neighbours, solved as one sparse linear system,
  plus noise), which avoids the out-of-distribution cue of a blurred or flat hole;
- the region attack (Tsigos et al., MAD '24): a black-box sign attack (NES gradient estimate)
  confined to the map's top-k% region, whose score drop is compared with that of random regions
  of the same area.

Everything here is numpy: `prob` maps a float32 batch N x H x W x 3 in [0, 1] to N probabilities
of the explained target, and every perturbed image of one measurement goes through it as one batch.
"""

from __future__ import annotations

import os
from typing import Callable

import cv2
import numpy as np

Prob = Callable[[np.ndarray], np.ndarray]

BLUR_KERNEL, BLUR_SIGMA = 51, 50.0  # seed 004's settings
FILLS = ("blur", "mean", "noise", "road")
ORDERS = ("morf", "lerf")
ROAD_NOISE = 0.01  # the reference implementation's default (absolute, on [0, 1] pixels)
# The variant behind the records' `deletion_auc`, `insertion_auc` and `baselines` (docs/faithfulness.md).
DEFAULT = {"unit": "patch:16", "order": "morf", "fill": "road"}


def blurred(image: np.ndarray, kernel: int = BLUR_KERNEL, sigma: float = BLUR_SIGMA) -> np.ndarray:
    """Gaussian-blurred copy of an H x W x 3 float32 image."""
    k = min(kernel, (min(image.shape[:2]) // 2) * 2 + 1)  # a kernel wider than a small crop only smears more edge
    return cv2.GaussianBlur(np.ascontiguousarray(image, np.float32), (k, k), sigma, borderType=cv2.BORDER_REFLECT)


def centre_prior(h: int, w: int) -> np.ndarray:
    """A Gaussian bump on the crop's centre: the 'it looks at the middle of the face' baseline."""
    y, x = np.mgrid[0:h, 0:w]
    return np.exp(-(((y - (h - 1) / 2) / (h / 4)) ** 2 + ((x - (w - 1) / 2) / (w / 4)) ** 2) / 2).astype(np.float32)


def random_map(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Uniform noise: the map that knows nothing."""
    return np.random.default_rng(seed).random((h, w)).astype(np.float32)


def auc(curve, x=None) -> float:
    """Area under a curve; x defaults to evenly spaced fractions in [0, 1]."""
    curve = np.asarray(curve, float)
    if x is None:
        return float(np.trapezoid(curve, dx=1.0 / (len(curve) - 1)))
    return float(np.trapezoid(curve, np.asarray(x, float)))


def higher_is_better(kind: str, order: str = "morf") -> bool:
    """Which way a faithful map moves an AUC: deletion-MoRF and insertion-LeRF want it low, the
    other two high (a faithful LeRF order removes, or restores, the evidence last)."""
    return (kind == "insertion") == (order == "morf")


def units(image: np.ndarray, unit: str = "pixel") -> np.ndarray:
    """H x W int labels 0..n-1 of the units that are removed together: 'pixel', 'patch:N' (N x N px
    grid cells) or 'slic:N' (about N SLIC superpixels of the image)."""
    h, w = image.shape[:2]
    name, _, arg = unit.partition(":")
    if name == "pixel":
        return np.arange(h * w).reshape(h, w)
    if name == "patch":
        s = int(arg or 16)
        cols = -(-w // s)
        return (np.arange(h)[:, None] // s) * cols + np.arange(w)[None, :] // s
    if name == "slic":
        from skimage.segmentation import slic

        # RGB distances, not Lab: in Lab a noisy synthetic face collapses to one segment; on a real
        # face both give similar counts (50 and 64 of 64 asked on a 160 px crop of skimage's astronaut).
        lab = slic(image.astype(np.float64), n_segments=int(arg or 64), compactness=1, start_label=0,
                   convert2lab=False)
        return np.unique(lab, return_inverse=True)[1].reshape(h, w)  # consecutive labels
    raise ValueError(f"unknown unit {unit!r}: pixel, patch:N or slic:N")


def _unit_rank(saliency: np.ndarray, labels: np.ndarray, order: str) -> np.ndarray:
    """Per pixel, the rank of its unit in removal order (0: removed first)."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}: {', '.join(ORDERS)}")
    n = int(labels.max()) + 1
    score = np.bincount(labels.ravel(), saliency.ravel().astype(np.float64), n) / np.maximum(
        np.bincount(labels.ravel(), minlength=n), 1)
    ranked = np.argsort(-score if order == "morf" else score, kind="stable")
    rank = np.empty(n, np.int64)
    rank[ranked] = np.arange(n)
    return rank[labels]


_NEIGHBOURS = (((1, 1), 1 / 12), ((0, 1), 1 / 6), ((-1, 1), 1 / 12), ((1, -1), 1 / 12), ((0, -1), 1 / 6),
               ((-1, -1), 1 / 12), ((1, 0), 1 / 6), ((-1, 0), 1 / 6))  # ROAD's weights


def road_impute(image: np.ndarray, removed: np.ndarray, noise: float = ROAD_NOISE,
                rng: np.random.Generator | None = None) -> np.ndarray:
    """ROAD's noisy linear imputation (Rong et al. 2022): every removed pixel becomes the weighted
    mean of its 8 neighbours (removed or not), one sparse linear system for all, plus Gaussian noise.

    Written by hand after github:tleemann/road_evaluation (road/imputations.py), same weights and
    equations: that package needs torch and pulls in its GAIN imputer, and this module must stay numpy."""
    rng = rng or np.random.default_rng(0)
    return _add_noise(_road_solve(image, removed), noise, rng)


def _add_noise(solved: tuple, noise: float, rng: np.random.Generator) -> np.ndarray:
    out, idx, sol, shape = solved
    if idx.size:  # (no draw when nothing is removed: the draws of a sequence of masks stay in step)
        out[idx] = sol + noise * rng.standard_normal((idx.size, shape[2]))
    return np.clip(out, 0, 1).reshape(shape)


def _road_solve(image: np.ndarray, removed: np.ndarray) -> tuple:
    """The noise-free imputation: (pixels N x C, flat indices of the removed ones, their solved
    values, image shape)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import splu

    h, w, c = image.shape
    flat_removed = removed.ravel()
    idx = np.flatnonzero(flat_removed)
    out = image.reshape(-1, c).astype(np.float32).copy()
    if idx.size == 0:
        return out, idx, None, (h, w, c)
    if idx.size == h * w:  # nothing to interpolate from: the mean colour
        sol = np.broadcast_to(image.reshape(-1, c).mean(0), (idx.size, c))
    else:
        var = np.full(h * w, -1, np.int64)
        var[idx] = np.arange(idx.size)
        y, x = np.divmod(idx, w)
        diag = np.zeros(idx.size)
        b = np.zeros((idx.size, c))
        rows, cols, vals = [], [], []
        for (dy, dx), wt in _NEIGHBOURS:
            ny, nx = y + dy, x + dx
            ok = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
            i, j = np.flatnonzero(ok), ny[ok] * w + nx[ok]
            diag[i] += wt  # weights of the neighbours inside the image only, as the reference
            unknown = flat_removed[j]
            rows.append(i[unknown])
            cols.append(var[j[unknown]])
            vals.append(np.full(int(unknown.sum()), -wt))
            b[i[~unknown]] += wt * out[j[~unknown]]  # i is unique per offset: no repeated index
        rows.append(np.arange(idx.size))
        cols.append(np.arange(idx.size))
        vals.append(diag)
        a = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                       shape=(idx.size, idx.size)).tocsc()
        # The system is symmetric and diagonally dominant: no pivoting needed, a symmetric ordering.
        sol = splu(a, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                   options={"SymmetricMode": True}).solve(b).reshape(idx.size, c)
    return out, idx, sol, (h, w, c)


def _filled_all(image: np.ndarray, masks: list[np.ndarray], fill: str, base: np.ndarray | None,
                rng: np.random.Generator) -> list[np.ndarray]:
    """The image with each mask's (H x W bool) pixels replaced by `fill`. ROAD's solves run on every
    core (SuperLU releases the GIL); its noise is drawn afterwards in mask order, so the result is
    the same as one mask after another."""
    if fill != "road":
        return [np.where(m[..., None], base, image) for m in masks]
    cores = min(4, os.cpu_count() or 1)
    if len(masks) > 1 and cores > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(cores) as pool:
            solved = list(pool.map(lambda m: _road_solve(image, m), masks))
    else:
        solved = [_road_solve(image, m) for m in masks]
    return [_add_noise(sv, ROAD_NOISE, rng) for sv in solved]


def _fill_base(image: np.ndarray, fill: str, seed: int) -> np.ndarray | None:
    """The 'removed' state of every pixel for the mask-independent fills."""
    if fill not in FILLS:
        raise ValueError(f"unknown fill {fill!r}: {', '.join(FILLS)}")
    if fill == "blur":
        return blurred(image)
    mean = image.reshape(-1, 3).mean(0)
    if fill == "mean":
        return np.broadcast_to(mean, image.shape).astype(np.float32)
    if fill == "noise":  # the face's own colour statistics, so the noise is not a colour cue by itself
        std = image.reshape(-1, 3).std(0)
        noise = np.random.default_rng(seed).standard_normal(image.shape)
        return np.clip(mean + std * noise, 0, 1).astype(np.float32)
    return None


def curves(prob: Prob, image: np.ndarray, maps: dict[str, np.ndarray], steps: int = 32, unit: str = DEFAULT["unit"],
           order: str = DEFAULT["order"], fill: str = DEFAULT["fill"], seed: int = 0,
           kinds=("deletion", "insertion")) -> dict:
    """Deletion and insertion curves of several maps of one H x W x 3 image in [0, 1], all scored in
    one `prob` call. Per map name: '<kind>_auc', '<kind>_curve' and 'x' (the removed area fraction
    at each step; steps are capped at the number of units)."""
    image = np.asarray(image, np.float32)
    labels = units(image, unit)
    n = int(labels.max()) + 1
    counts = np.round(np.linspace(0, n, min(steps, n) + 1)).astype(np.int64)
    base = _fill_base(image, fill, seed)
    rng = np.random.default_rng(seed)
    batch, xs = [], {}
    for name, m in maps.items():
        if m.shape != image.shape[:2]:
            raise ValueError(f"map {m.shape} does not match image {image.shape[:2]}")
        rank = _unit_rank(m, labels, order)
        top = rank[None] < counts[:, None, None]  # (steps+1) x H x W: the first k units in order
        xs[name] = top.mean((1, 2))
        for kind in kinds:  # deletion removes the first k units; insertion keeps only them
            batch += _filled_all(image, [t if kind == "deletion" else ~t for t in top], fill, base, rng)
    p = np.asarray(prob(np.stack(batch)), np.float64).reshape(-1)
    out, k = {}, len(counts)
    for a, name in enumerate(maps):
        r = {"x": xs[name].round(4).tolist()}
        for b, kind in enumerate(kinds):
            c = p[(a * len(kinds) + b) * k:(a * len(kinds) + b + 1) * k]
            r[f"{kind}_auc"] = round(auc(c, xs[name]), 4)
            r[f"{kind}_curve"] = c.round(4).tolist()
        out[name] = r
    return out


def deletion_insertion(prob: Prob, image: np.ndarray, saliency: np.ndarray, steps: int = 32,
                       unit: str = DEFAULT["unit"], order: str = DEFAULT["order"], fill: str = DEFAULT["fill"],
                       seed: int = 0) -> dict:
    """Deletion and insertion curves and AUCs of one map for one H x W x 3 image in [0, 1].

    `prob` maps a batch N x H x W x 3 to the explained probability. A signed map is ranked by its
    positive evidence first. The default variant is the validated one of docs/faithfulness.md."""
    return curves(prob, image, {"map": saliency}, steps, unit, order, fill, seed)["map"]


def baselines(prob: Prob, image: np.ndarray, steps: int = 32, seed: int = 0, unit: str = DEFAULT["unit"],
              order: str = DEFAULT["order"], fill: str = DEFAULT["fill"]) -> dict:
    """Deletion and insertion AUCs of a random map and of a centre prior on the same image (one batch)."""
    h, w = np.shape(image)[:2]
    r = curves(prob, image, {"random": random_map(h, w, seed), "centre": centre_prior(h, w)}, steps, unit, order,
               fill, seed)
    return {name: {"deletion_auc": v["deletion_auc"], "insertion_auc": v["insertion_auc"]} for name, v in r.items()}


def _region(saliency: np.ndarray, labels: np.ndarray, top: float) -> np.ndarray:
    """H x W bool: the map's top units covering `top` of the units."""
    n = int(labels.max()) + 1
    return _unit_rank(saliency, labels, "morf") < max(1, int(round(top * n)))


def region_attack(prob: Prob, image: np.ndarray, saliency: np.ndarray, top: float = 0.1, unit: str = "pixel",
                  eps: float = 8 / 255, iters: int = 10, samples: int = 8, sigma: float = 0.01,
                  random_regions: int = 4, tile: int = 4, seed: int = 0) -> dict:
    """The region attack of Tsigos et al. (MAD '24): perturb only the map's top-`top` region
    adversarially, black-box, and compare the score drop with that of random regions of equal area.

    Each iteration estimates the gradient by NES (Ilyas et al. 2018: `samples` antithetic Gaussian
    probes of scale `sigma`, constant on `tile` x `tile` px squares, inside the region) and takes a
    signed step lowering `prob`, within an
    L-inf ball of radius `eps`. The map's region and the random ones are attacked side by side, one
    `prob` call per iteration. Returns the drops (probability before minus after; higher: the map
    found more influential pixels), their mean over random regions and `gain` = drop - random_drop."""
    image = np.asarray(image, np.float32)
    h, w = image.shape[:2]
    labels = units(image, unit)
    regions = np.stack([_region(saliency, labels, top)] +
                       [_region(random_map(h, w, seed + 1 + r), labels, top) for r in range(random_regions)])
    rng = np.random.default_rng(seed)
    mask = regions[:, None, :, :, None].astype(np.float32)  # R x 1 x H x W x 1
    x = np.broadcast_to(image, (len(regions), h, w, 3)).copy()
    alpha = 2.5 * eps / iters  # Madry et al.'s step: the ball's edge is reachable with steps to spare
    p0 = None
    for _ in range(iters):
        # Tiled probes (Ilyas et al. 2019): 16x fewer dimensions for 4 px tiles, so 8 probes give a
        # gradient sign that is mostly right instead of a coin toss per pixel.
        u = rng.standard_normal((len(regions), samples, -(-h // tile), -(-w // tile), 3)).astype(np.float32)
        u = u.repeat(tile, 2).repeat(tile, 3)[:, :, :h, :w] * mask
        probes = np.concatenate([x[:, None] + sigma * u, x[:, None] - sigma * u], 1)  # R x 2S x H x W x 3
        p = np.asarray(prob(np.concatenate([image[None], np.clip(probes, 0, 1).reshape(-1, h, w, 3)]).astype(np.float32)),
                       np.float64).reshape(-1)
        p0 = p[0] if p0 is None else p0
        p = p[1:].reshape(len(regions), 2, samples)
        grad = ((p[:, 0] - p[:, 1])[:, :, None, None, None] * u).sum(1)  # R x H x W x 3, up to a positive factor
        x = np.clip(x - alpha * np.sign(grad) * mask[:, 0], image - eps, image + eps).clip(0, 1).astype(np.float32)
    after = np.asarray(prob(x.astype(np.float32)), np.float64).reshape(-1)
    drops = p0 - after
    return {"top": top, "drop": round(float(drops[0]), 4), "random_drop": round(float(drops[1:].mean()), 4),
            "random_drops": drops[1:].round(4).tolist(), "gain": round(float(drops[0] - drops[1:].mean()), 4),
            "before": round(float(p0), 4)}


def target_probability(forward: Callable[[np.ndarray], np.ndarray], target: str) -> Prob:
    """Probability of `target` ('fake' or 'real') from a forward giving N logits for an
    N x H x W x 3 batch (see `channels_first` for a model that takes N x 3 x H x W)."""
    def fake(x):
        return 1 / (1 + np.exp(-np.asarray(forward(x), np.float64).reshape(-1)))

    return fake if target == "fake" else (lambda x: 1 - fake(x))


def channels_first(forward: Callable) -> Callable[[np.ndarray], np.ndarray]:
    """Adapt a forward on N x 3 x H x W float32 arrays (e.g. fakelens.models.onnx.OnnxForward) to
    the N x H x W x 3 batches of this module."""
    return lambda x: np.asarray(forward(np.ascontiguousarray(np.asarray(x, np.float32).transpose(0, 3, 1, 2))))
