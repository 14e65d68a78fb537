"""Meta-test of the faithfulness metrics: on a model whose right answer is known, does a metric
rank the true map above a random one, and a random one above the inverted true map?

Two planted-patch models, whose true map is the planted 16 x 16 patch:
- "red": fires only on saturated-red pixels (a colour cue no fill can fake);
- "texture": fires only on high-frequency texture, like a forgery trace, on a smooth face. A
  perturbation that adds texture (noise, or scattered or sharp-edged holes) adds the cue itself:
  the out-of-distribution problem of deletion tests on deepfake detectors (issue 17).
A metric variant is validated when, on every planted face of both models, true beats random and
random beats inverted by at least `MARGIN` (in the variant's own direction). Used by
tests/test_faithfulness.py and benchmarks/bench_faithfulness_meta.py (the table in
docs/faithfulness.md).
"""

from __future__ import annotations

import itertools

import numpy as np

from fakelens.metrics.faithfulness import FILLS, ORDERS, curves, higher_is_better, random_map, region_attack

MARGIN = 0.005
ATTACK_MARGIN = 0.001
UNITS = ("pixel", "patch:8", "patch:16", "slic:64")
FACES = ((0, (8, 36)), (1, (40, 4)), (2, (24, 24)))  # (seed, top-left of the patch): off-grid, edge, centre


def planted_face(seed: int = 0, at: tuple[int, int] = (8, 36), size: int = 64, patch: int = 16):
    """A 64 x 64 noise 'face' (channels in [0, 0.5]) with a patch of red 0.85: (image, true mask)."""
    img = np.random.default_rng(seed).random((size, size, 3)).astype(np.float32) * 0.5
    y, x = at
    img[y:y + patch, x:x + patch, 0] = 0.85  # on the steep part of the model's response, so small changes count
    mask = np.zeros((size, size), bool)
    mask[y:y + patch, x:x + patch] = True
    return img, mask


def planted_prob(x: np.ndarray, patch_area: int = 256) -> np.ndarray:
    """The model's fake probability: a soft count of red > 0.75 pixels, in planted-patch units."""
    red = 1 / (1 + np.exp(-20 * (np.asarray(x, np.float64)[..., 0] - 0.75)))
    return 1 / (1 + np.exp(-(8 * red.sum((1, 2)) / patch_area - 4)))


def texture_face(seed: int = 0, at: tuple[int, int] = (8, 36), size: int = 64, patch: int = 16):
    """A smooth 64 x 64 'face' (slow colour gradients) with a patch of Gaussian texture (std 0.12)."""
    y, x = np.mgrid[0:size, 0:size] / size
    img = np.stack([0.4 + 0.2 * np.sin(2 * np.pi * (x + seed / 3)) * np.cos(np.pi * y + c) for c in (0, 1, 2)], -1)
    py, px = at
    img[py:py + patch, px:px + patch] += 0.12 * np.random.default_rng(seed).standard_normal((patch, patch, 3))
    mask = np.zeros((size, size), bool)
    mask[py:py + patch, px:px + patch] = True
    return np.clip(img, 0, 1).astype(np.float32), mask


def texture_prob(x: np.ndarray, patch_area: int = 256) -> np.ndarray:
    """The model's fake probability: a soft count of pixels whose local high-frequency energy
    (squared difference from the 3 x 3 mean, averaged over 3 x 3) exceeds 0.004, in patch units."""
    from scipy.ndimage import uniform_filter

    x = np.asarray(x, np.float64)
    hf = ((x - uniform_filter(x, (1, 3, 3, 1), mode="reflect")) ** 2).mean(-1)
    energy = uniform_filter(hf, (1, 3, 3), mode="reflect")
    s = 1 / (1 + np.exp(-2000 * (energy - 0.004)))
    return 1 / (1 + np.exp(-(8 * s.sum((1, 2)) / patch_area - 4)))


MODELS = {"red": (planted_face, planted_prob), "texture": (texture_face, texture_prob)}


def maps_for(mask: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """The true map, a random map and the inverted true map."""
    true = mask.astype(np.float32)
    return {"true": true, "random": random_map(*mask.shape, seed=100 + seed), "inverted": 1 - true}


def expected_validated(model: str, fill: str | None) -> bool:
    """The known verdicts (benchmarks/results/faithfulness-meta.json): the noise fill adds the
    texture model's cue itself, and the region attack (fill None) under its budget barely moves
    the texture model's saturated score; everything else passes."""
    return not (model == "texture" and (fill == "noise" or fill is None))


def curve_variants():
    """Every deletion/insertion variant: (kind, unit, fill, order)."""
    return list(itertools.product(("deletion", "insertion"), UNITS, FILLS, ORDERS))


def check_curves(unit: str, fill: str, order: str, steps: int = 16, model: str = "red", prob=None,
                 faces=FACES) -> dict:
    """Per kind (deletion, insertion): the three maps' AUCs per face, and whether the variant
    passes, on one planted `model` ('red' or 'texture'; `prob` replaces its scorer)."""
    make, prob = MODELS[model][0], prob or MODELS[model][1]
    out = {k: {"faces": [], "validated": True} for k in ("deletion", "insertion")}
    for seed, at in faces:
        img, mask = make(seed, at)
        r = curves(prob, img, maps_for(mask, seed), steps, unit, order, fill, seed)
        for kind in out:
            a = {name: r[name][f"{kind}_auc"] for name in r}
            out[kind]["faces"].append(a)
            out[kind]["validated"] &= _ordered(a, higher_is_better(kind, order))
    return out


ATTACK = {"eps": 16 / 255, "random_regions": 16}  # 16: fewer than ~10 regions of a coarse grid can all miss the patch


def check_region_attack(unit: str = "pixel", top: float = 0.1, model: str = "red", prob=None, faces=FACES,
                        **kw) -> dict:
    """The region attack of each of the three maps, per face (drop: higher is better). The margin
    between random and inverted is ATTACK_MARGIN: a random 10% region holds only ~10% of the
    patch, and the drop of so few pixels under an L-inf budget is small (docs/faithfulness.md)."""
    kw = {**ATTACK, **kw}
    make, prob = MODELS[model][0], prob or MODELS[model][1]
    res = {"faces": [], "validated": True}
    for seed, at in faces:
        img, mask = make(seed, at)
        maps = maps_for(mask, seed)
        true = region_attack(prob, img, maps["true"], top, unit, seed=seed, **kw)
        # 'random' is the metric's own reference: the mean drop of random regions of the same area.
        a = {"true": true["drop"], "random": true["random_drop"],
             "inverted": region_attack(prob, img, maps["inverted"], top, unit, seed=seed, **kw)["drop"]}
        res["faces"].append(a)
        res["validated"] &= _ordered(a, True, ATTACK_MARGIN)
    return res


def _ordered(a: dict, higher: bool, low_margin: float = MARGIN) -> bool:
    s = 1 if higher else -1
    return bool(s * (a["true"] - a["random"]) > MARGIN and s * (a["random"] - a["inverted"]) > low_margin)
